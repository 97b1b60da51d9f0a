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

/// The stored payment, version 2.
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
	const VERSION: u32 = 2;
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
