//! LND's `Invoice` message from the node's invoice record. LND numbers invoices as they are
//! added (`add_index`) and as they settle (`settle_index`); so does the node: both are
//! counters stored with the invoice record, assigned once and never changed, which is what
//! clients resuming a subscription from them need.

use std::str::FromStr;

use bitcoin::hashes::Hash;
use bitcoin::hex::FromHex;
use fulgur_node::{InvoiceRecord, InvoiceStatus};
use lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescriptionRef};
use serde_json::{json, Value};

use super::encoding::{Bytes, I64, U64};

/// LND's invoice state; an expired invoice reads `CANCELED`, as LND cancels expired invoices.
pub fn state(status: InvoiceStatus) -> &'static str {
	match status {
		InvoiceStatus::Open => "OPEN",
		InvoiceStatus::Accepted => "ACCEPTED",
		InvoiceStatus::Paid => "SETTLED",
		InvoiceStatus::Expired | InvoiceStatus::Canceled => "CANCELED",
	}
}

fn hex_bytes(hex: Option<&str>) -> Bytes {
	Bytes(hex.and_then(|h| Vec::<u8>::from_hex(h).ok()).unwrap_or_default())
}

/// The invoice's `payment_addr` (its payment secret), `cltv_expiry` and `description_hash`,
/// read from its BOLT11 string.
pub fn bolt11_details(bolt11: &str) -> (Bytes, u64, Bytes, bool) {
	let Ok(invoice) = Bolt11Invoice::from_str(bolt11) else {
		return (Bytes::default(), 0, Bytes::default(), false);
	};
	let description_hash = match invoice.description() {
		Bolt11InvoiceDescriptionRef::Hash(h) => Bytes(h.0.to_byte_array().to_vec()),
		Bolt11InvoiceDescriptionRef::Direct(_) => Bytes::default(),
	};
	(
		Bytes(invoice.payment_secret().0.to_vec()),
		invoice.min_final_cltv_expiry_delta(),
		description_hash,
		!invoice.private_routes().is_empty(),
	)
}

/// LND's `Invoice`, every field present (`record` as the node reads it now: an expired invoice
/// reads expired).
pub fn invoice(record: &InvoiceRecord) -> Value {
	let (payment_addr, cltv_expiry, description_hash, private) = bolt11_details(&record.bolt11);
	let value_msat = record.amount_msat.unwrap_or(0);
	let paid_msat = if record.status == InvoiceStatus::Paid {
		record.amount_received_msat.unwrap_or(0)
	} else {
		0
	};
	let settled = record.status == InvoiceStatus::Paid;
	json!({
		"memo": record.description,
		"r_preimage": hex_bytes(record.preimage.as_deref()),
		"r_hash": hex_bytes(Some(&record.payment_hash)),
		"value": I64::from(value_msat / 1000),
		"value_msat": I64::from(value_msat),
		"settled": settled,
		"creation_date": I64::from(record.created_at),
		"settle_date": I64::from(record.paid_at.unwrap_or(0)),
		"payment_request": record.bolt11,
		"description_hash": description_hash,
		"expiry": I64::from(record.expires_at.saturating_sub(record.created_at)),
		"fallback_addr": "",
		"cltv_expiry": U64(cltv_expiry),
		"route_hints": [],
		"private": private,
		"add_index": U64(record.add_index),
		"settle_index": U64(record.settle_index.unwrap_or(0)),
		"amt_paid": I64::from(paid_msat / 1000),
		"amt_paid_sat": I64::from(paid_msat / 1000),
		"amt_paid_msat": I64::from(paid_msat),
		"state": state(record.status),
		"htlcs": [],
		"features": {},
		"is_keysend": false,
		"payment_addr": payment_addr,
		"is_amp": false,
		"amp_invoice_state": {},
		"is_blinded": false,
		"blinded_path_config": null,
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	fn record(hash: &str, created_at: u64, paid_at: Option<u64>, add_index: u64) -> InvoiceRecord {
		InvoiceRecord {
			payment_hash: hash.to_string(),
			bolt11: "not an invoice".into(),
			description: "coffee".into(),
			amount_msat: Some(21_000),
			amount_received_msat: paid_at.map(|_| 21_000),
			created_at,
			expires_at: u64::MAX / 2,
			paid_at,
			preimage: paid_at.map(|_| "cc".repeat(32)),
			status: if paid_at.is_some() { InvoiceStatus::Paid } else { InvoiceStatus::Open },
			hold: false,
			claim_deadline: None,
			add_index,
			settle_index: paid_at.map(|_| 1),
		}
	}

	#[test]
	fn every_field_is_present_with_lnds_encodings() {
		let paid = record(&"ab".repeat(32), 10, Some(20), 2);
		let open = record(&"aa".repeat(32), 10, None, 3);
		let json = invoice(&paid);
		let fields = json.as_object().unwrap();
		assert_eq!(fields.len(), 29, "every field of LND's Invoice");
		assert_eq!(json["value"], "21");
		assert_eq!(json["value_msat"], "21000");
		assert_eq!(json["amt_paid_msat"], "21000");
		assert_eq!(json["settle_date"], "20");
		assert_eq!(json["state"], "SETTLED");
		assert_eq!(json["settled"], true);
		// Bytes in bodies: standard base64 (0xab repeated is "q6ur...").
		assert!(json["r_hash"].as_str().unwrap().starts_with("q6ur"));
		assert_eq!(json["add_index"], "2", "the record's counter");
		assert_eq!(json["settle_index"], "1");
		let json = invoice(&open);
		assert_eq!(
			(json["state"].as_str(), json["settle_index"].as_str()),
			(Some("OPEN"), Some("0"))
		);
		assert_eq!(json["r_preimage"], "", "bytes default to empty");
		assert_eq!(json["description_hash"], "");
		assert!(json["blinded_path_config"].is_null());
	}
}
