//! An invoice we issued, as stored in `fulgur_invoices` (keyed by payment hash) and inside
//! the journal's invoice events.
//!
//! Invariant: [`StoredInvoiceV2`] is field for field what fulgur before record versions wrote
//! for a `model::InvoiceRecord` (version 1), so both versions read with it; `hold` and
//! `claim_deadline` are absent from records older than hold invoices and default. It is
//! frozen: the journal's invoice events keep it (an event is the invoice as it was, not its
//! place in the invoice order). Version 3, the record, is version 2's fields followed by the
//! invoice's stored counters `add_index` and `settle_index`; read from an older version they
//! are 0 and `None`, which the load then assigns (`payment::indexes`).

use serde::{Deserialize, Serialize};

use crate::model::{InvoiceRecord, InvoiceStatus};
use crate::records::version::StoredRecord;
use crate::records::Record;

/// The stored invoice record, version 3: version 2 and the invoice's counters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredInvoice {
	#[serde(flatten)]
	pub(crate) fields: StoredInvoiceV2,
	pub(crate) add_index: u64,
	pub(crate) settle_index: Option<u64>,
}

/// The stored invoice, version 2 (and 1), frozen; the journal's invoice events hold it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredInvoiceV2 {
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
	const VERSION: u32 = 3;

	fn read_older(version: u32, bytes: &[u8]) -> Result<Self, serde_json::Error> {
		let _ = version;
		let fields: StoredInvoiceV2 = serde_json::from_slice(bytes)?;
		Ok(StoredInvoice { fields, add_index: 0, settle_index: None })
	}
}

impl From<&InvoiceRecord> for StoredInvoice {
	fn from(invoice: &InvoiceRecord) -> StoredInvoice {
		StoredInvoice {
			fields: invoice.into(),
			add_index: invoice.add_index,
			settle_index: invoice.settle_index,
		}
	}
}

impl From<StoredInvoice> for InvoiceRecord {
	fn from(stored: StoredInvoice) -> InvoiceRecord {
		InvoiceRecord {
			add_index: stored.add_index,
			settle_index: stored.settle_index,
			..stored.fields.into()
		}
	}
}

impl From<&InvoiceRecord> for StoredInvoiceV2 {
	fn from(invoice: &InvoiceRecord) -> StoredInvoiceV2 {
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
			add_index: _,
			settle_index: _,
		} = invoice.clone();
		StoredInvoiceV2 {
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

impl From<StoredInvoiceV2> for InvoiceRecord {
	/// The invoice without its counters (0 and `None`).
	fn from(stored: StoredInvoiceV2) -> InvoiceRecord {
		let status = match stored.status {
			StoredInvoiceStatus::Open => InvoiceStatus::Open,
			StoredInvoiceStatus::Accepted => InvoiceStatus::Accepted,
			StoredInvoiceStatus::Paid => InvoiceStatus::Paid,
			StoredInvoiceStatus::Expired => InvoiceStatus::Expired,
			StoredInvoiceStatus::Canceled => InvoiceStatus::Canceled,
		};
		let StoredInvoiceV2 {
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
			add_index: 0,
			settle_index: None,
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
