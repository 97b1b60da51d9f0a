//! `POST /v1/payments`, `POST /v1/payments/keysend`, `GET /v1/payments/{payment_id}`,
//! `GET /v1/payments`.
//!
//! A payment that was started and then failed is answered with HTTP 422
//! `{"code": "payment_failed", "message": <failure_reason>, "payment": <record>}`; a
//! payment refused before it started (bad invoice, no route, ...) with the node's error.

use fulgur_node::{Node, PaymentRecord, PaymentStatus};
use serde::{Deserialize, Serialize};

use super::{paginate, PageQuery, Validate};
use crate::error::ApiError;

/// `POST /v1/payments` body: [`fulgur_node::PayRequest`] plus `wait`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
	/// A BOLT11 invoice or a BOLT12 offer.
	pub invoice: String,
	/// Amount, required for amountless invoices and offers (zero is refused).
	#[serde(default)]
	pub amount_msat: Option<u64>,
	/// Upper bound on routing fees.
	#[serde(default)]
	pub max_fee_msat: Option<u64>,
	/// Answer once the payment is final instead of once it is started.
	#[serde(default)]
	pub wait: bool,
}

impl Validate for PayRequest {
	fn validate(&self) -> Result<(), ApiError> {
		if self.amount_msat == Some(0) {
			return Err(ApiError::invalid_amount("amount_msat must be greater than zero"));
		}
		Ok(())
	}
}

/// `POST /v1/payments/keysend` body.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KeysendRequest {
	/// The payee's node id (hex).
	pub node_id: String,
	/// Amount to deliver; not zero.
	pub amount_msat: u64,
	/// The client's id for this payment (64 hex), so a retry is safe: a keysend with an id
	/// already recorded sends nothing and answers with that payment. A fresh id when absent.
	#[serde(default)]
	pub payment_id: Option<String>,
	/// Answer once the payment is final instead of once it is started.
	#[serde(default)]
	pub wait: bool,
}

impl Validate for KeysendRequest {
	fn validate(&self) -> Result<(), ApiError> {
		if self.amount_msat == 0 {
			return Err(ApiError::invalid_amount("amount_msat must be greater than zero"));
		}
		Ok(())
	}
}

/// `GET /v1/payments/{payment_id}` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetPaymentRequest {
	/// Payment id (hex).
	pub payment_id: String,
}

/// `GET /v1/payments` answer: one page, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListPaymentsResponse {
	/// This page.
	pub payments: Vec<PaymentRecord>,
	/// Number of payments in all pages.
	pub total: usize,
	/// Pass as `cursor` for the next page; `null` on the last page.
	pub next_cursor: Option<String>,
}

/// `POST /v1/payments`: pays a BOLT11 invoice or BOLT12 offer. Paying an invoice that is being
/// paid answers with that payment.
pub(crate) async fn handle_pay(node: Node, req: PayRequest) -> Result<PaymentRecord, ApiError> {
	let wait = req.wait;
	let req = fulgur_node::PayRequest {
		invoice: req.invoice,
		amount_msat: req.amount_msat,
		max_fee_msat: req.max_fee_msat,
	};
	failed_as_error(node.pay(req, wait).await?)
}

/// `POST /v1/payments/keysend`: sends a spontaneous payment, or answers with the payment its
/// `payment_id` already names.
pub(crate) async fn handle_keysend(
	node: Node, req: KeysendRequest,
) -> Result<PaymentRecord, ApiError> {
	let payment_id = req.payment_id.as_deref();
	failed_as_error(node.keysend(&req.node_id, req.amount_msat, payment_id, req.wait).await?)
}

/// `GET /v1/payments/{payment_id}`: one payment, whatever its status.
pub(crate) async fn handle_get_payment(
	node: Node, req: GetPaymentRequest,
) -> Result<PaymentRecord, ApiError> {
	Ok(node.get_payment(&req.payment_id)?)
}

/// `GET /v1/payments?limit=&cursor=`: one page of payments.
pub(crate) async fn handle_list_payments(
	node: Node, req: PageQuery,
) -> Result<ListPaymentsResponse, ApiError> {
	let page = paginate(node.list_payments(), &req)?;
	Ok(ListPaymentsResponse {
		payments: page.items,
		total: page.total,
		next_cursor: page.next_cursor,
	})
}

/// A started payment that already failed is a 422 carrying the record.
fn failed_as_error(record: PaymentRecord) -> Result<PaymentRecord, ApiError> {
	match record.status {
		PaymentStatus::Failed => Err(ApiError::payment_failed(record)),
		PaymentStatus::Pending | PaymentStatus::Succeeded => Ok(record),
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use fulgur_node::{PaymentDirection, PaymentKind};
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
