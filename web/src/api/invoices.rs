//! `POST /v1/invoices`, `GET /v1/invoices/{payment_hash}`, `GET /v1/invoices`, and the hold
//! invoices' `POST /v1/invoices/{payment_hash}/settle` and `.../cancel`.

use fulgur_node::{InvoiceRecord, Node};
use serde::{Deserialize, Serialize};

use super::{paginate, PageQuery, Validate};
use crate::error::ApiError;

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
		if self.amount_msat == Some(0) {
			return Err(ApiError::invalid_amount(
				"amount_msat must be greater than zero; leave it out for an amountless invoice",
			));
		}
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

/// `POST /v1/invoices`: creates a BOLT11 invoice.
pub(crate) async fn handle_create_invoice(
	node: Node, req: CreateInvoiceRequest,
) -> Result<InvoiceRecord, ApiError> {
	let (amount, description, expiry) = (req.amount_msat, &req.description, req.expiry_secs);
	Ok(match &req.payment_hash {
		Some(hash) => node.create_hold_invoice(hash, amount, description, expiry).await?,
		None => node.create_invoice(amount, description, expiry).await?,
	})
}

/// `POST /v1/invoices/{payment_hash}/settle`: claims an accepted hold invoice's payment.
pub(crate) async fn handle_settle_invoice(
	node: Node, req: SettleInvoiceRequest,
) -> Result<InvoiceRecord, ApiError> {
	Ok(node.settle_invoice(&req.payment_hash, &req.preimage).await?)
}

/// `POST /v1/invoices/{payment_hash}/cancel`: cancels an open or accepted invoice.
pub(crate) async fn handle_cancel_invoice(
	node: Node, req: CancelInvoiceRequest,
) -> Result<InvoiceRecord, ApiError> {
	Ok(node.cancel_invoice(&req.payment_hash).await?)
}

/// `GET /v1/invoices/{payment_hash}`: one invoice.
pub(crate) async fn handle_get_invoice(
	node: Node, req: GetInvoiceRequest,
) -> Result<InvoiceRecord, ApiError> {
	Ok(node.get_invoice(&req.payment_hash)?)
}

/// `GET /v1/invoices?limit=&cursor=`: one page of invoices.
pub(crate) async fn handle_list_invoices(
	node: Node, req: PageQuery,
) -> Result<ListInvoicesResponse, ApiError> {
	let page = paginate(node.list_invoices(), &req)?;
	Ok(ListInvoicesResponse {
		invoices: page.items,
		total: page.total,
		next_cursor: page.next_cursor,
	})
}
