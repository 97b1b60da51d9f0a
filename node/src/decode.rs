//! Decoding what a payer is handed, BOLT11 invoices and BOLT12 offers, into what they say,
//! and the node's message signatures (LND and Core Lightning's `signmessage`: zbase32 of a
//! recoverable signature over `"Lightning Signed Message:" || message`).
//!
//! Invariants: decoding reads the text only (no network, any chain: the answer says which);
//! text that is neither is an `InvalidInvoice` error saying what was tried, never a panic;
//! a signature that does not decode is an `InvalidRequest`, one that decodes recovers a key,
//! which is reported whether or not the caller knows that node.

use std::str::FromStr;

use bitcoin::secp256k1::PublicKey;
use bitcoin::Network;
use lightning::offers::offer::{Amount, Offer};
use lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescriptionRef};
use serde::{Deserialize, Serialize};

use crate::parse::format_scid;
use crate::NodeError;

/// One hop of a BOLT11 route hint.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RouteHintHop {
	/// The node at the start of the channel.
	pub node_id: String,
	/// Short channel id `block x tx x output`.
	pub short_channel_id: String,
	/// Base fee.
	pub fee_base_msat: u32,
	/// Proportional fee, in millionths.
	pub fee_ppm: u32,
	/// CLTV delta.
	pub cltv_expiry_delta: u16,
}

/// What an invoice or offer says.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DecodedInvoice {
	/// `bolt11` or `bolt12_offer`.
	pub kind: String,
	/// The chain it is for.
	pub network: String,
	/// Who is paid.
	pub payee: Option<String>,
	/// Amount asked, in msat.
	pub amount_msat: Option<u64>,
	/// An offer's currency, when not bitcoin.
	pub currency: Option<String>,
	/// The description in clear.
	pub description: Option<String>,
	/// The description's hash (hex).
	pub description_hash: Option<String>,
	/// Creation time (UNIX seconds), BOLT11.
	pub created_at: Option<u64>,
	/// Seconds after creation it may be paid.
	pub expiry_secs: Option<u64>,
	/// Expiry (UNIX seconds).
	pub expires_at: Option<u64>,
	/// Payment hash (hex), BOLT11.
	pub payment_hash: Option<String>,
	/// Final CLTV delta, BOLT11.
	pub min_final_cltv_expiry_delta: Option<u64>,
	/// BOLT11 route hints.
	pub route_hints: Vec<Vec<RouteHintHop>>,
	/// An offer's blinded paths.
	pub blinded_paths: usize,
	/// An offer's issuer.
	pub issuer: Option<String>,
	/// Feature bits set, ascending.
	pub features: Vec<u32>,
	/// Whether it has expired.
	pub expired: bool,
}

/// The bits set in little-endian feature flags.
fn feature_bits(le_flags: &[u8]) -> Vec<u32> {
	let mut bits = Vec::new();
	for (byte_index, byte) in le_flags.iter().enumerate() {
		for bit in 0..8u32 {
			if byte & (1 << bit) != 0 {
				bits.push(byte_index as u32 * 8 + bit);
			}
		}
	}
	bits
}

/// Decodes a BOLT11 invoice or a BOLT12 offer (`lightning:` prefix or not, any case).
pub fn decode(text: &str) -> Result<DecodedInvoice, NodeError> {
	let text = text.trim();
	let text = match text.get(..10) {
		Some(prefix) if prefix.eq_ignore_ascii_case("lightning:") => &text[10..],
		_ => text,
	};
	let lower = text.to_ascii_lowercase();
	if lower.starts_with("lno1") {
		let offer = Offer::from_str(text)
			.map_err(|e| NodeError::InvalidInvoice(format!("not a BOLT12 offer: {e:?}")))?;
		return Ok(decode_offer(&offer));
	}
	match Bolt11Invoice::from_str(&lower) {
		Ok(invoice) => Ok(decode_bolt11(&invoice)),
		Err(e) => Err(NodeError::InvalidInvoice(format!(
			"neither a BOLT11 invoice ({e}) nor a BOLT12 offer (those start with lno1)"
		))),
	}
}

fn decode_bolt11(invoice: &Bolt11Invoice) -> DecodedInvoice {
	let (description, description_hash) = match invoice.description() {
		Bolt11InvoiceDescriptionRef::Direct(d) => (Some(d.to_string()), None),
		Bolt11InvoiceDescriptionRef::Hash(h) => (None, Some(h.0.to_string())),
	};
	let created_at = invoice.duration_since_epoch().as_secs();
	let expiry_secs = invoice.expiry_time().as_secs();
	let route_hints = invoice
		.route_hints()
		.iter()
		.map(|hint| {
			hint.0
				.iter()
				.map(|hop| RouteHintHop {
					node_id: hop.src_node_id.to_string(),
					short_channel_id: format_scid(hop.short_channel_id),
					fee_base_msat: hop.fees.base_msat,
					fee_ppm: hop.fees.proportional_millionths,
					cltv_expiry_delta: hop.cltv_expiry_delta,
				})
				.collect()
		})
		.collect();
	DecodedInvoice {
		kind: "bolt11".into(),
		network: invoice.network().to_string(),
		payee: Some(invoice.get_payee_pub_key().to_string()),
		amount_msat: invoice.amount_milli_satoshis(),
		currency: None,
		description,
		description_hash,
		created_at: Some(created_at),
		expiry_secs: Some(expiry_secs),
		expires_at: Some(created_at.saturating_add(expiry_secs)),
		payment_hash: Some(invoice.payment_hash().to_string()),
		min_final_cltv_expiry_delta: Some(invoice.min_final_cltv_expiry_delta()),
		route_hints,
		blinded_paths: 0,
		issuer: None,
		features: invoice.features().map(|f| feature_bits(f.le_flags())).unwrap_or_default(),
		expired: invoice.is_expired(),
	}
}

fn decode_offer(offer: &Offer) -> DecodedInvoice {
	// An offer for no chain in particular is for bitcoin.
	let network = offer
		.chains()
		.first()
		.and_then(|chain| Network::from_chain_hash(*chain))
		.map_or_else(|| "unknown".to_string(), |n| n.to_string());
	let (amount_msat, currency) = match offer.amount() {
		None => (None, None),
		Some(Amount::Bitcoin { amount_msats }) => (Some(amount_msats), None),
		Some(Amount::Currency { iso4217_code, .. }) => {
			(None, Some(iso4217_code.as_str().to_string()))
		}
	};
	DecodedInvoice {
		kind: "bolt12_offer".into(),
		network,
		payee: offer.issuer_signing_pubkey().map(|k| k.to_string()),
		amount_msat,
		currency,
		description: offer.description().map(|d| d.to_string()),
		description_hash: None,
		created_at: None,
		expiry_secs: None,
		expires_at: offer.absolute_expiry().map(|d| d.as_secs()),
		payment_hash: None,
		min_final_cltv_expiry_delta: None,
		route_hints: Vec::new(),
		blinded_paths: offer.paths().len(),
		issuer: offer.issuer().map(|i| i.to_string()),
		features: feature_bits(offer.offer_features().le_flags()),
		expired: offer.is_expired(),
	}
}

/// The key a zbase32 message signature recovers to; `InvalidRequest` when it is not one.
pub fn recover_signer(message: &[u8], signature: &str) -> Result<PublicKey, NodeError> {
	lightning::util::message_signing::recover_pk(message, signature).map_err(|e| {
		NodeError::InvalidRequest(format!("signature is not a zbase32 message signature: {e}"))
	})
}

#[cfg(test)]
mod tests {
	use super::*;
	use bitcoin::secp256k1::{Secp256k1, SecretKey};

	#[test]
	fn garbage_is_a_clear_error_not_a_panic() {
		for text in ["", "hello", "lnbc1", "lno1", "lightning:", "lnbcrt1\u{e9}", "lno1qqqq"] {
			match decode(text) {
				Err(NodeError::InvalidInvoice(why)) => assert!(!why.is_empty()),
				other => panic!("{text:?}: {other:?}"),
			}
		}
	}

	#[test]
	fn a_signature_recovers_its_signer_and_a_changed_message_another_key() {
		let secret = SecretKey::from_slice(&[7; 32]).expect("key");
		let signer = PublicKey::from_secret_key(&Secp256k1::new(), &secret);
		let signature = lightning::util::message_signing::sign(b"hello", &secret);
		assert_eq!(recover_signer(b"hello", &signature).expect("recovers"), signer);
		let other = recover_signer(b"hellp", &signature).expect("recovers some key");
		assert_ne!(other, signer);
		assert!(matches!(recover_signer(b"hello", "not!zbase"), Err(NodeError::InvalidRequest(_))));
	}

	#[test]
	fn feature_bits_are_listed_ascending() {
		assert_eq!(feature_bits(&[0b0000_0101, 0, 0b1000_0000]), vec![0, 2, 23]);
	}
}
