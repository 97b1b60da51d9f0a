//! LND's `Payment` message from the node's payment record, and `GET /v1/payments`. Here LND
//! writes `payment_hash` and `payment_preimage` as hex strings (not base64), and a preimage
//! not known yet as 64 zeros. `payment_index` is a payment's place among our outgoing payments
//! by start time (fulgur keeps no counter; it only grows as payments are made).

use fulgur_node::{Node, PaymentDirection, PaymentRecord, PaymentStatus};
use serde_json::{json, Value};

use super::encoding::{LndError, I64, U64};
use super::invoices::query_flag;
use super::routes::Call;

/// Most payments one `GET /v1/payments` returns.
const MAX_PAYMENTS_PER_PAGE: u64 = 1000;

/// LND's payment status.
pub fn status(status: PaymentStatus) -> &'static str {
	match status {
		PaymentStatus::Pending => "IN_FLIGHT",
		PaymentStatus::Succeeded => "SUCCEEDED",
		PaymentStatus::Failed => "FAILED",
	}
}

/// LND's failure reason for the node's words (`FAILURE_REASON_NONE` unless failed).
pub fn failure_reason(record: &PaymentRecord) -> &'static str {
	if record.status != PaymentStatus::Failed {
		return "FAILURE_REASON_NONE";
	}
	let reason = record.failure_reason.as_deref().unwrap_or_default().to_ascii_lowercase();
	if reason.contains("expired") || reason.contains("timed out") || reason.contains("timeout") {
		"FAILURE_REASON_TIMEOUT"
	} else if reason.contains("rejected") || reason.contains("incorrect") {
		"FAILURE_REASON_INCORRECT_PAYMENT_DETAILS"
	} else if reason.contains("insufficient") || reason.contains("balance") {
		"FAILURE_REASON_INSUFFICIENT_BALANCE"
	} else if reason.contains("abandoned") || reason.contains("canceled") {
		"FAILURE_REASON_CANCELED"
	} else if reason.contains("route") || reason.contains("retries") {
		"FAILURE_REASON_NO_ROUTE"
	} else {
		"FAILURE_REASON_ERROR"
	}
}

/// Our outgoing payments, oldest first, with their `payment_index`.
pub fn outgoing(node: &Node) -> Vec<(u64, PaymentRecord)> {
	let mut ours: Vec<PaymentRecord> = node
		.list_payments()
		.into_iter()
		.filter(|p| p.direction == PaymentDirection::Outbound)
		.collect();
	ours.sort_by(|a, b| (a.created_at, &a.payment_id).cmp(&(b.created_at, &b.payment_id)));
	ours.into_iter().enumerate().map(|(i, p)| (i as u64 + 1, p)).collect()
}

/// LND's `Payment`, every field present.
pub fn payment(record: &PaymentRecord, index: u64) -> Value {
	let value_msat = record.amount_msat.unwrap_or(0);
	let fee_msat = record.fee_msat.unwrap_or(0);
	json!({
		"payment_hash": record.payment_hash.clone().unwrap_or_default(),
		"value": I64::from(value_msat / 1000),
		"creation_date": I64::from(record.created_at),
		"fee": I64::from(fee_msat / 1000),
		"payment_preimage": record.preimage.clone().unwrap_or_else(|| "0".repeat(64)),
		"value_sat": I64::from(value_msat / 1000),
		"value_msat": I64::from(value_msat),
		"payment_request": record.invoice.clone().unwrap_or_default(),
		"status": status(record.status),
		"fee_sat": I64::from(fee_msat / 1000),
		"fee_msat": I64::from(fee_msat),
		"creation_time_ns": I64::from(record.created_at.saturating_mul(1_000_000_000)),
		"htlcs": [],
		"payment_index": U64(index),
		"failure_reason": failure_reason(record),
		"first_hop_custom_records": {},
	})
}

fn query_u64(call: &Call, name: &str) -> Result<u64, LndError> {
	match call.get(name).filter(|v| !v.is_empty()) {
		None => Ok(0),
		Some(v) => {
			v.parse().map_err(|_| LndError::invalid(format!("{name}: {v:?} is not a uint64")))
		}
	}
}

/// `GET /v1/payments` with `include_incomplete` (default false: succeeded ones only),
/// `index_offset`, `max_payments`, `reversed`, `count_total_payments`, `creation_date_start`,
/// `creation_date_end`.
pub fn list_payments(node: &Node, call: &Call) -> Result<Value, LndError> {
	let include_incomplete = query_flag(call, "include_incomplete")?;
	let reversed = query_flag(call, "reversed")?;
	let count_total = query_flag(call, "count_total_payments")?;
	let offset = query_u64(call, "index_offset")?;
	let max = match query_u64(call, "max_payments")? {
		0 => 100,
		n => n.min(MAX_PAYMENTS_PER_PAGE),
	};
	let (start, end) =
		(query_u64(call, "creation_date_start")?, query_u64(call, "creation_date_end")?);
	let all = outgoing(node);
	let total = all.len() as u64;
	let listed: Vec<_> = all
		.into_iter()
		.filter(|(_, p)| include_incomplete || p.status == PaymentStatus::Succeeded)
		.filter(|(_, p)| p.created_at >= start && (end == 0 || p.created_at <= end))
		.collect();
	let page: Vec<_> = if reversed {
		let before: Vec<_> =
			listed.into_iter().filter(|(i, _)| offset == 0 || *i < offset).collect();
		let skip = before.len().saturating_sub(max as usize);
		before.into_iter().skip(skip).collect()
	} else {
		listed.into_iter().filter(|(i, _)| *i > offset).take(max as usize).collect()
	};
	let payments: Vec<Value> = page.iter().map(|(i, p)| payment(p, *i)).collect();
	Ok(json!({
		"payments": payments,
		"first_index_offset": U64(page.first().map_or(0, |(i, _)| *i)),
		"last_index_offset": U64(page.last().map_or(0, |(i, _)| *i)),
		"total_num_payments": U64(if count_total { total } else { 0 }),
	}))
}

#[cfg(test)]
mod tests {
	use super::*;
	use fulgur_node::PaymentKind;

	#[test]
	fn payments_write_hashes_in_hex_and_every_field() {
		let record = PaymentRecord {
			payment_id: "ab".repeat(32),
			payment_hash: Some("ab".repeat(32)),
			kind: PaymentKind::Bolt11,
			direction: PaymentDirection::Outbound,
			destination: None,
			invoice: Some("lnbcrt1".into()),
			description: None,
			amount_msat: Some(5_000_500),
			fee_msat: Some(1_001),
			max_fee_msat: None,
			preimage: None,
			status: PaymentStatus::Pending,
			failure_reason: None,
			created_at: 7,
			completed_at: None,
		};
		let json = payment(&record, 3);
		assert_eq!(json.as_object().unwrap().len(), 16, "every field of LND's Payment");
		assert_eq!(json["payment_hash"], "ab".repeat(32), "hex, not base64");
		assert_eq!(json["payment_preimage"], "0".repeat(64));
		assert_eq!(json["value_msat"], "5000500");
		assert_eq!(json["value_sat"], "5000");
		assert_eq!(json["fee_msat"], "1001");
		assert_eq!(json["payment_index"], "3");
		assert_eq!(json["status"], "IN_FLIGHT");
		assert_eq!(json["failure_reason"], "FAILURE_REASON_NONE");
		let failed = PaymentRecord {
			status: PaymentStatus::Failed,
			failure_reason: Some("no route to the recipient".into()),
			..record
		};
		assert_eq!(payment(&failed, 3)["failure_reason"], "FAILURE_REASON_NO_ROUTE");
	}
}
