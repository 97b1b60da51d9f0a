//! The text forms the node itself still reads and writes: BOLT11 invoices (checked against
//! the node's network), Lightning amounts, and the short channel id notation. Pure functions
//! over their input (and the network): they touch no node state, so every layer may use them.
//!
//! Ids (node ids, channel ids, payment hashes, preimages, payment ids) reach the node typed;
//! their hex is parsed once, by the API (`fulgur-web`'s `convert::parse`).

use std::str::FromStr;

use bitcoin::Network;
use lightning_invoice::Bolt11Invoice;

use crate::NodeError;

/// `block x tx x output`, the usual short channel id notation.
pub fn format_scid(scid: u64) -> String {
	format!("{}x{}x{}", scid >> 40, (scid >> 16) & 0xff_ffff, scid & 0xffff)
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
	fn short_channel_ids_are_written_block_tx_output() {
		assert_eq!(format_scid(103u64 << 40 | 1 << 16), "103x1x0");
		assert_eq!(
			format_scid(0xff_ffff << 40 | 0xff_ffff << 16 | 0xffff),
			"16777215x16777215x65535"
		);
	}
}
