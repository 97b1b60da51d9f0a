//! A payment, as stored in `fulgur_payments` (ours, by payment id) and
//! `fulgur_payments_inbound` (received, by payment hash), and inside the journal's payment
//! events.
//!
//! Invariant: field for field what fulgur before record versions wrote for a
//! `model::PaymentRecord` (version 1), so both versions read with this struct.

use serde::{Deserialize, Serialize};

use crate::model::{PaymentDirection, PaymentKind, PaymentRecord, PaymentStatus};
use crate::records::version::StoredRecord;
use crate::records::Record;

/// The stored payment, version 3: version 2's fields, and a kind that may be `rebalance`
/// (a fulgur reading up to version 2 refuses such a record as newer instead of misreading
/// it). Versions 1 and 2 read with this struct: their kinds are a subset.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredPayment {
	pub(crate) payment_id: String,
	pub(crate) payment_hash: Option<String>,
	pub(crate) kind: StoredPaymentKind,
	pub(crate) direction: StoredPaymentDirection,
	pub(crate) destination: Option<String>,
	pub(crate) invoice: Option<String>,
	pub(crate) description: Option<String>,
	pub(crate) amount_msat: Option<u64>,
	pub(crate) fee_msat: Option<u64>,
	pub(crate) max_fee_msat: Option<u64>,
	pub(crate) preimage: Option<String>,
	pub(crate) status: StoredPaymentStatus,
	pub(crate) failure_reason: Option<String>,
	pub(crate) created_at: u64,
	pub(crate) completed_at: Option<u64>,
}

/// How a stored payment was requested.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StoredPaymentKind {
	Bolt11,
	Bolt12,
	Keysend,
	/// Since version 3.
	Rebalance,
}

/// The stored payment's direction.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StoredPaymentDirection {
	Outbound,
	Inbound,
}

/// The stored payment status.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StoredPaymentStatus {
	Pending,
	Succeeded,
	Failed,
}

impl StoredRecord for StoredPayment {
	const VERSION: u32 = 3;
}

impl From<&PaymentRecord> for StoredPayment {
	fn from(payment: &PaymentRecord) -> StoredPayment {
		let PaymentRecord {
			payment_id,
			payment_hash,
			kind,
			direction,
			destination,
			invoice,
			description,
			amount_msat,
			fee_msat,
			max_fee_msat,
			preimage,
			status,
			failure_reason,
			created_at,
			completed_at,
		} = payment.clone();
		StoredPayment {
			payment_id,
			payment_hash,
			kind: match kind {
				PaymentKind::Bolt11 => StoredPaymentKind::Bolt11,
				PaymentKind::Bolt12 => StoredPaymentKind::Bolt12,
				PaymentKind::Keysend => StoredPaymentKind::Keysend,
				PaymentKind::Rebalance => StoredPaymentKind::Rebalance,
			},
			direction: match direction {
				PaymentDirection::Outbound => StoredPaymentDirection::Outbound,
				PaymentDirection::Inbound => StoredPaymentDirection::Inbound,
			},
			destination,
			invoice,
			description,
			amount_msat,
			fee_msat,
			max_fee_msat,
			preimage,
			status: match status {
				PaymentStatus::Pending => StoredPaymentStatus::Pending,
				PaymentStatus::Succeeded => StoredPaymentStatus::Succeeded,
				PaymentStatus::Failed => StoredPaymentStatus::Failed,
			},
			failure_reason,
			created_at,
			completed_at,
		}
	}
}

impl From<StoredPayment> for PaymentRecord {
	fn from(stored: StoredPayment) -> PaymentRecord {
		let StoredPayment {
			payment_id,
			payment_hash,
			kind,
			direction,
			destination,
			invoice,
			description,
			amount_msat,
			fee_msat,
			max_fee_msat,
			preimage,
			status,
			failure_reason,
			created_at,
			completed_at,
		} = stored;
		PaymentRecord {
			payment_id,
			payment_hash,
			kind: match kind {
				StoredPaymentKind::Bolt11 => PaymentKind::Bolt11,
				StoredPaymentKind::Bolt12 => PaymentKind::Bolt12,
				StoredPaymentKind::Keysend => PaymentKind::Keysend,
				StoredPaymentKind::Rebalance => PaymentKind::Rebalance,
			},
			direction: match direction {
				StoredPaymentDirection::Outbound => PaymentDirection::Outbound,
				StoredPaymentDirection::Inbound => PaymentDirection::Inbound,
			},
			destination,
			invoice,
			description,
			amount_msat,
			fee_msat,
			max_fee_msat,
			preimage,
			status: match status {
				StoredPaymentStatus::Pending => PaymentStatus::Pending,
				StoredPaymentStatus::Succeeded => PaymentStatus::Succeeded,
				StoredPaymentStatus::Failed => PaymentStatus::Failed,
			},
			failure_reason,
			created_at,
			completed_at,
		}
	}
}

impl Record for PaymentRecord {
	type Stored = StoredPayment;

	fn to_stored(&self) -> StoredPayment {
		self.into()
	}

	fn from_stored(stored: StoredPayment) -> PaymentRecord {
		stored.into()
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::records::version::{decode, encode, RecordError};

	fn rebalance() -> PaymentRecord {
		crate::payment::new_record(
			&"ab".repeat(32),
			PaymentKind::Rebalance,
			PaymentDirection::Outbound,
			PaymentStatus::Pending,
		)
	}

	#[test]
	fn a_rebalance_is_written_at_version_3_and_reads_back() {
		let bytes = encode(&StoredPayment::from(&rebalance())).expect("encode");
		let text = String::from_utf8(bytes.clone()).expect("utf8");
		assert!(text.starts_with("{\"v\":3,") && text.contains("\"kind\":\"rebalance\""), "{text}");
		let read = decode::<StoredPayment>(&bytes).expect("decode");
		assert_eq!((PaymentRecord::from(read.record), read.version), (rebalance(), 3));
	}

	#[test]
	fn version_2_still_reads_and_a_fulgur_reading_up_to_2_refuses_version_3() {
		let v3 = String::from_utf8(encode(&StoredPayment::from(&rebalance())).expect("encode"))
			.expect("utf8");
		let v2 = v3.replacen("\"v\":3", "\"v\":2", 1).replace("\"rebalance\"", "\"keysend\"");
		let read = decode::<StoredPayment>(v2.as_bytes()).expect("version 2");
		assert_eq!((read.record.kind, read.version), (StoredPaymentKind::Keysend, 2));
		// What the version check says to a reader that knows up to version 2.
		#[derive(Serialize, Deserialize)]
		struct UpTo2(serde_json::Value);
		impl StoredRecord for UpTo2 {
			const VERSION: u32 = 2;
		}
		let refused = decode::<UpTo2>(v3.as_bytes()).map(|_| ());
		assert_eq!(refused, Err(RecordError::Newer { version: 3, known: 2 }));
	}
}
