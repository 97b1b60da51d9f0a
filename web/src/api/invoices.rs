//! `POST /v1/invoices`, `GET /v1/invoices/{payment_hash}`, `GET /v1/invoices`, and the hold
//! invoices' `POST /v1/invoices/{payment_hash}/settle` and `.../cancel`.

pub use fulgur_api::wire::invoices::{
	CancelInvoiceBody, CancelInvoiceRequest, CreateInvoiceRequest, GetInvoiceRequest,
	InvoiceRecord, ListInvoicesResponse, SettleInvoiceBody, SettleInvoiceRequest,
};
use fulgur_node::Node;

use super::{paginate, PageQuery};
use crate::convert::{parse, ToWire};
use crate::error::ApiError;

/// `POST /v1/invoices`: creates a BOLT11 invoice.
pub(crate) async fn handle_create_invoice(
	node: Node, req: CreateInvoiceRequest,
) -> Result<InvoiceRecord, ApiError> {
	let (amount, description, expiry) = (req.amount_msat, &req.description, req.expiry_secs);
	let record = match &req.payment_hash {
		Some(hash) => {
			let hash = parse::payment_hash(hash)?;
			node.create_hold_invoice(hash, amount, description, expiry).await?
		}
		None => node.create_invoice(amount, description, expiry).await?,
	};
	Ok(record.into_wire())
}

/// `POST /v1/invoices/{payment_hash}/settle`: claims an accepted hold invoice's payment.
pub(crate) async fn handle_settle_invoice(
	node: Node, req: SettleInvoiceRequest,
) -> Result<InvoiceRecord, ApiError> {
	let hash = parse::payment_hash(&req.payment_hash)?;
	let preimage = parse::preimage(&req.preimage)?;
	Ok(node.settle_invoice(hash, preimage).await?.into_wire())
}

/// `POST /v1/invoices/{payment_hash}/cancel`: cancels an open or accepted invoice.
pub(crate) async fn handle_cancel_invoice(
	node: Node, req: CancelInvoiceRequest,
) -> Result<InvoiceRecord, ApiError> {
	let hash = parse::payment_hash(&req.payment_hash)?;
	Ok(node.cancel_invoice(hash).await?.into_wire())
}

/// `GET /v1/invoices/{payment_hash}`: one invoice. What cannot be a payment hash names no
/// invoice: `not_found`, as an unknown hash.
pub(crate) async fn handle_get_invoice(
	node: Node, req: GetInvoiceRequest,
) -> Result<InvoiceRecord, ApiError> {
	let hash = parse::payment_hash(&req.payment_hash).ok();
	let invoice = hash.and_then(|hash| node.get_invoice(&hash));
	let invoice =
		invoice.ok_or_else(|| ApiError::not_found(format!("no invoice {}", req.payment_hash)))?;
	Ok(invoice.into_wire())
}

/// `GET /v1/invoices?limit=&cursor=`: one page of invoices.
pub(crate) async fn handle_list_invoices(
	node: Node, req: PageQuery,
) -> Result<ListInvoicesResponse, ApiError> {
	let page = paginate(node.list_invoices(), &req)?;
	Ok(ListInvoicesResponse {
		invoices: page.items.into_wire(),
		total: page.total,
		next_cursor: page.next_cursor,
	})
}
