//! An invoice we issued, as stored in `fulgur_invoices` (keyed by payment hash) and inside
//! the journal's invoice events.
//!
//! Invariant: field for field what fulgur before record versions wrote for a
//! `model::InvoiceRecord` (version 1), so both versions read with this struct; `hold` and
//! `claim_deadline` are absent from records older than hold invoices and default.

use serde::{Deserialize, Serialize};

use crate::model::{InvoiceRecord, InvoiceStatus};
use crate::records::version::StoredRecord;
use crate::records::Record;

/// The stored invoice, version 2.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredInvoice {
	pub(crate) payment_hash: String,
	pub(crate) bolt11: String,
	pub(crate) description: String,
	pub(crate) amount_msat: Option<u64>,
	pub(crate) amount_received_msat: Option<u64>,
	pub(crate) created_at: u64,
	pub(crate) expires_at: u64,
	pub(crate) paid_at: Option<u64>,
	pub(crate) preimage: Option<String>,
	pub(crate) status: StoredInvoiceStatus,
	#[serde(default)]
	pub(crate) hold: bool,
	#[serde(default)]
	pub(crate) claim_deadline: Option<u32>,
}

/// The stored invoice status.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StoredInvoiceStatus {
	Open,
	Accepted,
	Paid,
	Expired,
	Canceled,
}

impl StoredRecord for StoredInvoice {
	const VERSION: u32 = 2;
}

impl From<&InvoiceRecord> for StoredInvoice {
	fn from(invoice: &InvoiceRecord) -> StoredInvoice {
		let status = match invoice.status {
			InvoiceStatus::Open => StoredInvoiceStatus::Open,
			InvoiceStatus::Accepted => StoredInvoiceStatus::Accepted,
			InvoiceStatus::Paid => StoredInvoiceStatus::Paid,
			InvoiceStatus::Expired => StoredInvoiceStatus::Expired,
			InvoiceStatus::Canceled => StoredInvoiceStatus::Canceled,
		};
		let InvoiceRecord {
			payment_hash,
			bolt11,
			description,
			amount_msat,
			amount_received_msat,
			created_at,
			expires_at,
			paid_at,
			preimage,
			status: _,
			hold,
			claim_deadline,
		} = invoice.clone();
		StoredInvoice {
			payment_hash,
			bolt11,
			description,
			amount_msat,
			amount_received_msat,
			created_at,
			expires_at,
			paid_at,
			preimage,
			status,
			hold,
			claim_deadline,
		}
	}
}

impl From<StoredInvoice> for InvoiceRecord {
	fn from(stored: StoredInvoice) -> InvoiceRecord {
		let status = match stored.status {
			StoredInvoiceStatus::Open => InvoiceStatus::Open,
			StoredInvoiceStatus::Accepted => InvoiceStatus::Accepted,
			StoredInvoiceStatus::Paid => InvoiceStatus::Paid,
			StoredInvoiceStatus::Expired => InvoiceStatus::Expired,
			StoredInvoiceStatus::Canceled => InvoiceStatus::Canceled,
		};
		let StoredInvoice {
			payment_hash,
			bolt11,
			description,
			amount_msat,
			amount_received_msat,
			created_at,
			expires_at,
			paid_at,
			preimage,
			status: _,
			hold,
			claim_deadline,
		} = stored;
		InvoiceRecord {
			payment_hash,
			bolt11,
			description,
			amount_msat,
			amount_received_msat,
			created_at,
			expires_at,
			paid_at,
			preimage,
			status,
			hold,
			claim_deadline,
		}
	}
}

impl Record for InvoiceRecord {
	type Stored = StoredInvoice;

	fn to_stored(&self) -> StoredInvoice {
		self.into()
	}

	fn from_stored(stored: StoredInvoice) -> InvoiceRecord {
		stored.into()
	}
}
