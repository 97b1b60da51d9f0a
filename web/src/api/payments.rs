//! `POST /v1/payments`, `POST /v1/payments/keysend`, `GET /v1/payments/{payment_id}`,
//! `GET /v1/payments`.
//!
//! A payment that was started and then failed is answered with HTTP 422
//! `{"code": "payment_failed", "message": <failure_reason>, "payment": <record>}`; a
//! payment refused before it started (bad invoice, no route, ...) with the node's error.

pub use fulgur_api::wire::payments::{
	GetPaymentRequest, KeysendRequest, ListPaymentsResponse, PayBody, PaymentRecord, PaymentStatus,
};
use fulgur_node::Node;

use super::{paginate, PageQuery};
use crate::convert::{parse, pay_request, ToWire};
use crate::error::ApiError;

/// `POST /v1/payments`: pays a BOLT11 invoice or BOLT12 offer. Paying an invoice that is being
/// paid answers with that payment.
pub(crate) async fn handle_pay(node: Node, req: PayBody) -> Result<PaymentRecord, ApiError> {
	let wait = req.wait;
	failed_as_error(node.pay(pay_request(req), wait).await?.into_wire())
}

/// `POST /v1/payments/keysend`: sends a spontaneous payment, or answers with the payment its
/// `payment_id` already names.
pub(crate) async fn handle_keysend(
	node: Node, req: KeysendRequest,
) -> Result<PaymentRecord, ApiError> {
	let payee = parse::node_id(&req.node_id)?;
	let payment_id = req.payment_id.as_deref().map(parse::payment_id).transpose()?;
	let record = node.keysend(payee, req.amount_msat, payment_id, req.wait).await?;
	failed_as_error(record.into_wire())
}

/// `GET /v1/payments/{payment_id}`: one payment, whatever its status. What cannot be a
/// payment id names no payment: `not_found`, as an unknown id.
pub(crate) async fn handle_get_payment(
	node: Node, req: GetPaymentRequest,
) -> Result<PaymentRecord, ApiError> {
	let id = parse::payment_id(&req.payment_id).ok();
	let payment = id.and_then(|id| node.get_payment(&id));
	let payment =
		payment.ok_or_else(|| ApiError::not_found(format!("no payment {}", req.payment_id)))?;
	Ok(payment.into_wire())
}

/// `GET /v1/payments?limit=&cursor=`: one page of payments.
pub(crate) async fn handle_list_payments(
	node: Node, req: PageQuery,
) -> Result<ListPaymentsResponse, ApiError> {
	let page = paginate(node.list_payments(), &req)?;
	Ok(ListPaymentsResponse {
		payments: page.items.into_wire(),
		total: page.total,
		next_cursor: page.next_cursor,
	})
}

/// A started payment that already failed is a 422 carrying the record.
pub(crate) fn failed_as_error(record: PaymentRecord) -> Result<PaymentRecord, ApiError> {
	match record.status {
		PaymentStatus::Failed => Err(ApiError::payment_failed(record)),
		PaymentStatus::Pending | PaymentStatus::Succeeded => Ok(record),
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use fulgur_api::wire::payments::{PaymentDirection, PaymentKind};
	use warp::http::StatusCode;

	fn record(status: PaymentStatus) -> PaymentRecord {
		PaymentRecord {
			payment_id: "aa".repeat(32),
			payment_hash: Some("bb".repeat(32)),
			kind: PaymentKind::Bolt11,
			direction: PaymentDirection::Outbound,
			destination: None,
			invoice: None,
			description: None,
			amount_msat: Some(1000),
			fee_msat: None,
			max_fee_msat: None,
			preimage: None,
			status,
			failure_reason: Some("route not found".into()),
			created_at: 1,
			completed_at: None,
		}
	}

	#[test]
	fn failed_payment_is_a_422_with_the_record() {
		let e = failed_as_error(record(PaymentStatus::Failed)).unwrap_err();
		assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
		let body = serde_json::to_value(e.body()).unwrap();
		assert_eq!(body["code"], "payment_failed");
		assert_eq!(body["message"], "route not found");
		assert_eq!(body["payment"]["status"], "failed");
		assert_eq!(body["payment"]["payment_id"], "aa".repeat(32));
		assert!(failed_as_error(record(PaymentStatus::Pending)).is_ok());
		assert!(failed_as_error(record(PaymentStatus::Succeeded)).is_ok());
	}
}
