//! `POST /v1/payments`, `POST /v1/payments/keysend`, `GET /v1/payments/{payment_id}`,
//! `GET /v1/payments`.
//!
//! A payment that was started and then failed is answered with HTTP 422
//! `{"code": "payment_failed", "message": <failure_reason>, "payment": <record>}`; a
//! payment refused before it started (bad invoice, no route, ...) with the node's error.

use serde::{Deserialize, Serialize};

use super::Validate;
use crate::error::ApiError;

/// Status of a payment.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
	/// In flight.
	Pending,
	/// Final: the payee claimed it.
	Succeeded,
	/// Final: it will not complete; see the failure reason.
	Failed,
}

/// How a payment was requested.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PaymentKind {
	/// Paying a BOLT11 invoice.
	Bolt11,
	/// Paying a BOLT12 offer.
	Bolt12,
	/// Spontaneous payment (no invoice).
	Keysend,
	/// A circular rebalance: paid to ourselves, out through one channel and in through
	/// another.
	Rebalance,
}

/// Direction of a payment.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PaymentDirection {
	/// We pay.
	Outbound,
	/// We are paid without an invoice of ours (keysend, BOLT12).
	Inbound,
}

/// A payment, with its full detail.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PaymentRecord {
	/// Payment id (hex); the payment's id.
	pub payment_id: String,
	/// Payment hash (hex); unknown for a BOLT12 payment until the invoice arrives.
	pub payment_hash: Option<String>,
	/// How it was requested.
	pub kind: PaymentKind,
	/// Outbound or inbound.
	pub direction: PaymentDirection,
	/// The payee (outbound) or `None` when unknown.
	pub destination: Option<String>,
	/// The BOLT11 invoice or BOLT12 offer paid.
	pub invoice: Option<String>,
	/// Description from the invoice or offer.
	pub description: Option<String>,
	/// Amount delivered to the payee.
	pub amount_msat: Option<u64>,
	/// Routing fees paid, once known.
	pub fee_msat: Option<u64>,
	/// Fee limit requested.
	pub max_fee_msat: Option<u64>,
	/// The preimage (hex), the proof of payment.
	pub preimage: Option<String>,
	/// Current status.
	pub status: PaymentStatus,
	/// Why it failed.
	pub failure_reason: Option<String>,
	/// When it was started (or received).
	pub created_at: u64,
	/// When it reached a final status.
	pub completed_at: Option<u64>,
}

/// What to pay: an invoice or offer, with the amount and fee limit. The body of
/// `POST /v1/payments` is this plus `wait` ([`PayBody`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PayRequest {
	/// A BOLT11 invoice or a BOLT12 offer.
	pub invoice: String,
	/// Amount, required for amountless invoices and offers (zero is refused).
	pub amount_msat: Option<u64>,
	/// Upper bound on routing fees.
	pub max_fee_msat: Option<u64>,
}

/// `POST /v1/payments` body (schema `PayRequest` in the API's description): a
/// [`PayRequest`] plus `wait`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PayBody {
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

impl PayBody {
	/// The body paying `req`, answering once final when `wait`.
	pub fn new(req: &PayRequest, wait: bool) -> PayBody {
		PayBody {
			invoice: req.invoice.clone(),
			amount_msat: req.amount_msat,
			max_fee_msat: req.max_fee_msat,
			wait,
		}
	}

	/// What it asks to pay.
	pub fn request(&self) -> PayRequest {
		PayRequest {
			invoice: self.invoice.clone(),
			amount_msat: self.amount_msat,
			max_fee_msat: self.max_fee_msat,
		}
	}
}

impl Validate for PayBody {
	fn validate(&self) -> Result<(), ApiError> {
		super::nonzero(self.amount_msat, "amount_msat must be greater than zero")
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
		super::nonzero(Some(self.amount_msat), "amount_msat must be greater than zero")
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
