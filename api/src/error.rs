//! The API's errors: every stable error code with its one HTTP status, the error body
//! `{"code", "message"}` every failed answer carries, and the error a request's validation
//! returns.
//!
//! Invariant: a code always comes with the same status ([`ErrorCode::status`]), and its
//! spelling ([`ErrorCode::as_str`]) never changes: clients match on it.

use serde::{Deserialize, Serialize};

use crate::wire::payments::PaymentRecord;

macro_rules! error_codes {
	($($name:ident = $code:literal, $status:literal, $doc:literal;)*) => {
		/// A stable, machine-readable error code.
		#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
		pub enum ErrorCode {
			$(#[doc = $doc] $name,)*
		}

		impl ErrorCode {
			/// Every code.
			pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

			/// The code as clients see it, e.g. `invalid_request`.
			pub fn as_str(self) -> &'static str {
				match self {
					$(ErrorCode::$name => $code,)*
				}
			}

			/// The HTTP status answers with this code have.
			pub fn status(self) -> u16 {
				match self {
					$(ErrorCode::$name => $status,)*
				}
			}
		}
	};
}

error_codes! {
	InvalidRequest = "invalid_request", 400,
		"400: malformed JSON, wrong types, unknown fields, a bad query or field.";
	InvalidAmount = "invalid_amount", 400,
		"400: an amount that cannot be meant (zero where zero means nothing, out of range).";
	InvalidInvoice = "invalid_invoice", 400,
		"400: a BOLT11 invoice or BOLT12 offer that cannot be parsed or is for another network.";
	InvalidNodeId = "invalid_node_id", 400, "400: a node id that is not a public key.";
	InvalidAddress = "invalid_address", 400,
		"400: a network or on-chain address that cannot be parsed or is for another network.";
	Unauthorized = "unauthorized", 401, "401: a missing or unknown API key.";
	Forbidden = "forbidden", 403, "403: a valid API key whose scope does not allow this.";
	NotFound = "not_found", 404, "404: no such endpoint, or the thing named does not exist.";
	MethodNotAllowed = "method_not_allowed", 405,
		"405: the endpoint does not take this HTTP method.";
	DuplicatePayment = "duplicate_payment", 409,
		"409: this payment was already made or is in flight.";
	InvoiceConflict = "invoice_conflict", 409, "409: the invoice's state does not allow this.";
	LengthRequired = "length_required", 411, "411: a body without Content-Length.";
	PayloadTooLarge = "payload_too_large", 413, "413: the body is larger than the limit.";
	UnsupportedMediaType = "unsupported_media_type", 415, "415: the body is not JSON.";
	InvoiceExpired = "invoice_expired", 422, "422: the invoice has expired.";
	PeerUnreachable = "peer_unreachable", 422,
		"422: the peer could not be reached or is not connected.";
	InsufficientFunds = "insufficient_funds", 422,
		"422: not enough funds on-chain or in channels.";
	RouteNotFound = "route_not_found", 422, "422: no route within the limits.";
	PaymentFailed = "payment_failed", 422,
		"422: the payment was started and failed; the error body carries its record.";
	ChannelOpenFailed = "channel_open_failed", 422, "422: the channel could not be opened.";
	ChannelCloseFailed = "channel_close_failed", 422, "422: the channel could not be closed.";
	ChannelNotUsable = "channel_not_usable", 422,
		"422: a channel named cannot carry a payment now (pending, or its peer offline).";
	Internal = "internal", 500, "500: a bug on the node's side; the detail is logged, not sent.";
	PersistenceFailed = "persistence_failed", 500,
		"500: storage failed: the operation was not done.";
	NotSynced = "not_synced", 503, "503: the node has not caught up with the chain yet.";
	ChainSourceFailed = "chain_source_failed", 503,
		"503: bitcoind could not be reached or answered with an error.";
	Busy = "busy", 503, "503: a bounded resource is in full use; try again later.";
	Starting = "starting", 503, "503: the node is starting; the message says what it waits for.";
}

impl std::str::FromStr for ErrorCode {
	type Err = String;
	fn from_str(s: &str) -> Result<Self, Self::Err> {
		ErrorCode::ALL
			.iter()
			.copied()
			.find(|code| code.as_str() == s)
			.ok_or_else(|| format!("unknown error code {s:?}"))
	}
}

impl std::fmt::Display for ErrorCode {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str(self.as_str())
	}
}

/// The JSON body of every error answer: `{"code": "...", "message": "..."}`.
///
/// `payment` is only present with code `payment_failed` (HTTP 422): the payment was
/// started and reached the final status `failed`; the record says why.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
	/// Stable code ([`ErrorCode::as_str`]); a client reading a newer server may meet codes it
	/// does not know, so it is kept as a string here.
	pub code: String,
	/// What went wrong, for humans.
	pub message: String,
	/// The failed payment, for `payment_failed`.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub payment: Option<PaymentRecord>,
}

/// An API failure: a code, a message and, for `payment_failed`, the payment's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
	code: ErrorCode,
	message: String,
	payment: Option<Box<PaymentRecord>>,
}

impl ApiError {
	/// An error with this code and message.
	pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
		ApiError { code, message: message.into(), payment: None }
	}

	/// 400 `invalid_request`.
	pub fn invalid_request(message: impl Into<String>) -> Self {
		Self::new(ErrorCode::InvalidRequest, message)
	}

	/// 400 `invalid_amount`.
	pub fn invalid_amount(message: impl Into<String>) -> Self {
		Self::new(ErrorCode::InvalidAmount, message)
	}

	/// 422 `payment_failed`: the payment was started and failed; the record goes along and its
	/// failure reason is the message.
	pub fn payment_failed(record: PaymentRecord) -> Self {
		let message = record.failure_reason.clone().unwrap_or_else(|| "payment failed".to_owned());
		ApiError { code: ErrorCode::PaymentFailed, message, payment: Some(Box::new(record)) }
	}

	/// The code.
	pub fn code(&self) -> ErrorCode {
		self.code
	}

	/// The HTTP status ([`ErrorCode::status`]).
	pub fn status(&self) -> u16 {
		self.code.status()
	}

	/// The message.
	pub fn message(&self) -> &str {
		&self.message
	}

	/// The JSON body.
	pub fn body(&self) -> ErrorBody {
		ErrorBody {
			code: self.code.as_str().to_owned(),
			message: self.message.clone(),
			payment: self.payment.as_deref().cloned(),
		}
	}
}

impl std::fmt::Display for ApiError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(f, "{}: {}", self.code, self.message)
	}
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn codes_are_unique_and_parse_back() {
		let mut seen = std::collections::HashSet::new();
		for code in ErrorCode::ALL {
			assert!(seen.insert(code.as_str()), "{code} twice");
			assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(*code));
			assert!((400..600).contains(&code.status()), "{code}");
		}
		assert!("nope".parse::<ErrorCode>().is_err());
	}

	#[test]
	fn error_body_omits_absent_payment() {
		let json = serde_json::to_value(ApiError::invalid_request("bad").body()).unwrap();
		assert_eq!(json, serde_json::json!({"code": "invalid_request", "message": "bad"}));
		assert_eq!(ApiError::invalid_amount("zero").to_string(), "invalid_amount: zero");
		assert_eq!(ApiError::new(ErrorCode::Busy, "x").status(), 503);
	}
}
