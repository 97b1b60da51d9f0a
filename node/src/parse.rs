//! The text forms of what the API hands in: node ids, channel ids, 32-byte hex values,
//! BOLT11 invoices, Lightning amounts, and the short channel id notation. Pure functions over
//! their input (and the network): they touch no node state, so every layer may use them.

use std::str::FromStr;

use bitcoin::hex::FromHex;
use bitcoin::secp256k1::PublicKey;
use bitcoin::Network;
use lightning::ln::types::ChannelId;
use lightning_invoice::Bolt11Invoice;

use crate::NodeError;

/// Parses a hex node id.
pub fn parse_node_id(node_id: &str) -> Result<PublicKey, NodeError> {
	PublicKey::from_str(node_id.trim())
		.map_err(|_| NodeError::InvalidNodeId(format!("{node_id:?} is not a node id")))
}

/// Parses a hex channel id.
pub fn parse_channel_id(channel_id: &str) -> Result<ChannelId, NodeError> {
	<[u8; 32]>::from_hex(channel_id.trim())
		.map(ChannelId)
		.map_err(|_| NodeError::InvalidRequest(format!("{channel_id:?} is not a channel id")))
}

/// `block x tx x output`, the usual short channel id notation.
pub fn format_scid(scid: u64) -> String {
	format!("{}x{}x{}", scid >> 40, (scid >> 16) & 0xff_ffff, scid & 0xffff)
}

/// Parses a 32-byte hex value (payment hash or preimage).
pub fn parse_32(text: &str, what: &str) -> Result<[u8; 32], NodeError> {
	<[u8; 32]>::from_hex(text.trim())
		.map_err(|_| NodeError::InvalidRequest(format!("{what} must be 64 hex characters")))
}

/// Parses and checks an invoice for our network.
pub fn parse_invoice(network: Network, text: &str) -> Result<Bolt11Invoice, NodeError> {
	let invoice = Bolt11Invoice::from_str(text)
		.map_err(|e| NodeError::InvalidInvoice(format!("not a BOLT11 invoice: {e}")))?;
	if invoice.network() != network {
		return Err(NodeError::InvalidInvoice(format!(
			"invoice is for {}, this node runs on {}",
			invoice.network(),
			network
		)));
	}
	Ok(invoice)
}

/// Rejects zero and absurd Lightning amounts.
pub fn check_amount_msat(amount_msat: u64) -> Result<(), NodeError> {
	if amount_msat == 0 {
		return Err(NodeError::InvalidAmount("amount_msat must be positive".into()));
	}
	if amount_msat > crate::config::MAX_MSAT {
		return Err(NodeError::InvalidAmount("amount_msat exceeds 21 million BTC".into()));
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn parses_32_byte_hex_only() {
		assert_eq!(parse_32(&"ab".repeat(32), "x").expect("hex"), [0xab; 32]);
		assert_eq!(parse_32(&format!(" {} ", "AB".repeat(32)), "x").expect("hex"), [0xab; 32]);
		for bad in ["", "ab", "zz".repeat(32).as_str(), "ab".repeat(33).as_str()] {
			let err = parse_32(bad, "preimage").expect_err(bad);
			assert_eq!(err.code(), "invalid_request");
			assert!(err.message().contains("preimage"), "{err}");
		}
	}
}
