//! `POST /v1/invoices`, `GET /v1/invoices/{payment_hash}`, `GET /v1/invoices`, and the hold
//! invoices' `POST /v1/invoices/{payment_hash}/settle` and `.../cancel`.

use serde::{Deserialize, Serialize};

use super::Validate;
use crate::error::ApiError;

/// Status of an invoice we issued.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum InvoiceStatus {
	/// Can still be paid.
	Open,
	/// A hold invoice whose payment arrived: its HTLCs are held until the invoice is settled
	/// (with the preimage) or canceled.
	Accepted,
	/// Paid (funds claimed).
	Paid,
	/// Expired before being paid.
	Expired,
	/// Canceled by us.
	Canceled,
}

/// An invoice we issued, with its full detail.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct InvoiceRecord {
	/// Payment hash (hex); the invoice's id.
	pub payment_hash: String,
	/// The BOLT11 string.
	pub bolt11: String,
	/// Description shown to the payer.
	pub description: String,
	/// Requested amount; `None` for an amountless invoice.
	pub amount_msat: Option<u64>,
	/// What was received, once paid.
	pub amount_received_msat: Option<u64>,
	/// Creation time.
	pub created_at: u64,
	/// Expiry time.
	pub expires_at: u64,
	/// When it was paid.
	pub paid_at: Option<u64>,
	/// The preimage (hex), revealed once paid.
	pub preimage: Option<String>,
	/// Current status.
	pub status: InvoiceStatus,
	/// A hold invoice: issued for a payment hash whose preimage the node does not know; a
	/// payment to it waits, `accepted`, until it is settled or canceled.
	#[serde(default)]
	pub hold: bool,
	/// Hold invoices: the block height at which the held payment is failed back unless the
	/// invoice is settled before; set when a payment is accepted, and kept (for the record)
	/// when the payment is failed back.
	#[serde(default)]
	pub claim_deadline: Option<u32>,
}

/// `POST /v1/invoices` body.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CreateInvoiceRequest {
	/// Amount to request; absent for an amountless invoice (zero is refused).
	#[serde(default)]
	pub amount_msat: Option<u64>,
	/// Description shown to the payer.
	pub description: String,
	/// Seconds until it expires; the node's default when absent (zero is refused).
	#[serde(default)]
	pub expiry_secs: Option<u32>,
	/// With a payment hash (hex), a hold invoice for it: the node does not know the preimage,
	/// holds the payment when it arrives, and waits to be settled or canceled.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub payment_hash: Option<String>,
}

impl Validate for CreateInvoiceRequest {
	fn validate(&self) -> Result<(), ApiError> {
		super::nonzero(
			self.amount_msat,
			"amount_msat must be greater than zero; leave it out for an amountless invoice",
		)?;
		if self.expiry_secs == Some(0) {
			return Err(ApiError::invalid_request("expiry_secs must be greater than zero"));
		}
		Ok(())
	}
}

/// `GET /v1/invoices/{payment_hash}` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetInvoiceRequest {
	/// The invoice's payment hash (hex).
	pub payment_hash: String,
}

/// `POST /v1/invoices/{payment_hash}/settle` body.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SettleInvoiceBody {
	/// The preimage (hex) whose SHA-256 is the payment hash.
	pub preimage: String,
}

impl Validate for SettleInvoiceBody {}

/// `POST /v1/invoices/{payment_hash}/settle` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettleInvoiceRequest {
	/// The invoice's payment hash (hex).
	pub payment_hash: String,
	/// The preimage (hex).
	pub preimage: String,
}

/// `POST /v1/invoices/{payment_hash}/cancel` body: empty or `{}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CancelInvoiceBody {}

impl Validate for CancelInvoiceBody {}

/// `POST /v1/invoices/{payment_hash}/cancel` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelInvoiceRequest {
	/// The invoice's payment hash (hex).
	pub payment_hash: String,
}

/// `GET /v1/invoices` answer: one page, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListInvoicesResponse {
	/// This page.
	pub invoices: Vec<InvoiceRecord>,
	/// Number of invoices in all pages.
	pub total: usize,
	/// Pass as `cursor` for the next page; `null` on the last page.
	pub next_cursor: Option<String>,
}
