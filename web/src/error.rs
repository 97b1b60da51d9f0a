//! The API's error type: an HTTP status, a stable machine-readable code and a message.

use fulgur_node::{NodeError, PaymentRecord};
use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Reply as _;

/// The JSON body of every error answer: `{"code": "...", "message": "..."}`.
///
/// `payment` is only present with code `payment_failed` (HTTP 422): the payment was
/// started and reached the final status `failed`; the record says why.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
	/// Stable code: the node's codes ([`NodeError::code`]) plus the API's own
	/// (`unauthorized`, `invalid_request`, `not_found`, `method_not_allowed`,
	/// `payload_too_large`, `internal`, ...).
	pub code: String,
	/// What went wrong, for humans.
	pub message: String,
	/// The failed payment, for `payment_failed`.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub payment: Option<PaymentRecord>,
}

/// An API failure: what handlers return and what the request parser's rejections become.
#[derive(Clone, Debug)]
pub struct ApiError {
	status: StatusCode,
	code: &'static str,
	message: String,
	payment: Option<Box<PaymentRecord>>,
}

impl ApiError {
	/// An error with the given HTTP status, code and message.
	pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
		ApiError { status, code, message: message.into(), payment: None }
	}

	/// 400 `invalid_request`: malformed JSON, wrong types, unknown fields, bad query.
	pub fn invalid_request(message: impl Into<String>) -> Self {
		Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
	}

	/// 400 `invalid_amount`: an amount that cannot be meant (zero where zero means nothing).
	pub fn invalid_amount(message: impl Into<String>) -> Self {
		Self::new(StatusCode::BAD_REQUEST, "invalid_amount", message)
	}

	/// 401 `unauthorized`: missing or wrong API key.
	pub fn unauthorized(message: impl Into<String>) -> Self {
		Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
	}

	/// 403 `forbidden`: a valid API key whose scope does not allow this endpoint.
	pub fn forbidden(message: impl Into<String>) -> Self {
		Self::new(StatusCode::FORBIDDEN, "forbidden", message)
	}

	/// 404 `not_found`: no such route.
	pub fn not_found(message: impl Into<String>) -> Self {
		Self::new(StatusCode::NOT_FOUND, "not_found", message)
	}

	/// 500 `internal`: a bug on our side; the detail is logged, not sent.
	pub fn internal(message: impl Into<String>) -> Self {
		Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
	}

	/// 422 `payment_failed`: the payment was started and failed; the record goes along.
	pub fn payment_failed(record: PaymentRecord) -> Self {
		let message = record.failure_reason.clone().unwrap_or_else(|| "payment failed".to_owned());
		ApiError {
			status: StatusCode::UNPROCESSABLE_ENTITY,
			code: "payment_failed",
			message,
			payment: Some(Box::new(record)),
		}
	}

	/// The HTTP status.
	pub fn status(&self) -> StatusCode {
		self.status
	}

	/// The stable code.
	pub fn code(&self) -> &'static str {
		self.code
	}

	/// The message.
	pub fn message(&self) -> &str {
		&self.message
	}

	/// The JSON body.
	pub fn body(&self) -> ErrorBody {
		ErrorBody {
			code: self.code.to_owned(),
			message: self.message.clone(),
			payment: self.payment.as_deref().cloned(),
		}
	}

	/// The HTTP response: status, JSON body, and `WWW-Authenticate` for 401.
	pub(crate) fn into_response(self) -> Response {
		let status = self.status;
		let mut response =
			warp::reply::with_status(warp::reply::json(&self.body()), status).into_response();
		if status == StatusCode::UNAUTHORIZED {
			response.headers_mut().insert(
				warp::http::header::WWW_AUTHENTICATE,
				warp::http::HeaderValue::from_static("Bearer"),
			);
		}
		response
	}
}

impl From<NodeError> for ApiError {
	fn from(e: NodeError) -> Self {
		let status =
			StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
		if status.is_server_error() {
			log_error!("node error: {e}");
		}
		ApiError { status, code: e.code(), message: e.message().to_owned(), payment: None }
	}
}

impl std::fmt::Display for ApiError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(f, "{}: {}", self.code, self.message)
	}
}

impl std::error::Error for ApiError {}

impl warp::reject::Reject for ApiError {}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn node_errors_keep_their_code_and_status() {
		let e = ApiError::from(NodeError::NotFound("no such channel".into()));
		assert_eq!(e.status(), StatusCode::NOT_FOUND);
		assert_eq!(e.code(), "not_found");
		assert_eq!(e.message(), "no such channel");
		let e = ApiError::from(NodeError::NotSynced("syncing".into()));
		assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
		assert_eq!(e.to_string(), "not_synced: syncing");
	}

	#[test]
	fn error_body_omits_absent_payment() {
		let json = serde_json::to_value(ApiError::invalid_request("bad").body()).unwrap();
		assert_eq!(json, serde_json::json!({"code": "invalid_request", "message": "bad"}));
	}
}
