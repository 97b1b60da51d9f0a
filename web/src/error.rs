//! The server's error: an API error ([`fulgur_api::ApiError`]: a stable code, which fixes the
//! HTTP status, and a message) that handlers return with `?` and warp carries as a rejection.
//!
//! Invariant: the status of an answer is its code's ([`fulgur_api::ErrorCode::status`]); the
//! node's errors are mapped to codes here, variant by variant, and nowhere else.

use fulgur_api::wire::payments::PaymentRecord;
use fulgur_api::ErrorCode;
use fulgur_node::NodeError;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Reply as _;

pub use fulgur_api::ErrorBody;

/// An API failure: what handlers return and what the request parser's rejections become.
#[derive(Clone, Debug)]
pub struct ApiError(fulgur_api::ApiError);

impl ApiError {
	/// An error with the given code and message.
	pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
		ApiError(fulgur_api::ApiError::new(code, message))
	}

	/// 400 `invalid_request`: malformed JSON, wrong types, unknown fields, bad query.
	pub fn invalid_request(message: impl Into<String>) -> Self {
		Self::new(ErrorCode::InvalidRequest, message)
	}

	/// 400 `invalid_amount`: an amount that cannot be meant (zero where zero means nothing).
	pub fn invalid_amount(message: impl Into<String>) -> Self {
		Self::new(ErrorCode::InvalidAmount, message)
	}

	/// 401 `unauthorized`: missing or wrong API key.
	pub fn unauthorized(message: impl Into<String>) -> Self {
		Self::new(ErrorCode::Unauthorized, message)
	}

	/// 403 `forbidden`: a valid API key whose scope does not allow this endpoint.
	pub fn forbidden(message: impl Into<String>) -> Self {
		Self::new(ErrorCode::Forbidden, message)
	}

	/// 404 `not_found`: no such route, or nothing by the id the request names.
	pub fn not_found(message: impl Into<String>) -> Self {
		Self::new(ErrorCode::NotFound, message)
	}

	/// 500 `internal`: a bug on our side; the detail is logged, not sent.
	pub fn internal(message: impl Into<String>) -> Self {
		Self::new(ErrorCode::Internal, message)
	}

	/// 422 `payment_failed`: the payment was started and failed; the record goes along.
	pub fn payment_failed(record: PaymentRecord) -> Self {
		ApiError(fulgur_api::ApiError::payment_failed(record))
	}

	/// The HTTP status.
	pub fn status(&self) -> StatusCode {
		StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
	}

	/// The stable code.
	pub fn code(&self) -> &'static str {
		self.0.code().as_str()
	}

	/// The message.
	pub fn message(&self) -> &str {
		self.0.message()
	}

	/// The JSON body.
	pub fn body(&self) -> ErrorBody {
		self.0.body()
	}

	/// The HTTP response: status, JSON body, and `WWW-Authenticate` for 401.
	pub(crate) fn into_response(self) -> Response {
		let status = self.status();
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

impl From<fulgur_api::ApiError> for ApiError {
	fn from(e: fulgur_api::ApiError) -> Self {
		ApiError(e)
	}
}

/// The API code of each node error.
fn node_code(e: &NodeError) -> ErrorCode {
	match e {
		NodeError::InvalidRequest(_) => ErrorCode::InvalidRequest,
		NodeError::InvalidAmount(_) => ErrorCode::InvalidAmount,
		NodeError::InvalidInvoice(_) => ErrorCode::InvalidInvoice,
		NodeError::InvalidAddress(_) => ErrorCode::InvalidAddress,
		NodeError::NotFound(_) => ErrorCode::NotFound,
		NodeError::InvoiceExpired(_) => ErrorCode::InvoiceExpired,
		NodeError::DuplicatePayment(_) => ErrorCode::DuplicatePayment,
		NodeError::InvoiceConflict(_) => ErrorCode::InvoiceConflict,
		NodeError::PeerUnreachable(_) => ErrorCode::PeerUnreachable,
		NodeError::InsufficientFunds(_) => ErrorCode::InsufficientFunds,
		NodeError::RouteNotFound(_) => ErrorCode::RouteNotFound,
		NodeError::PaymentFailed(_) => ErrorCode::PaymentFailed,
		NodeError::ChannelOpenFailed(_) => ErrorCode::ChannelOpenFailed,
		NodeError::ChannelCloseFailed(_) => ErrorCode::ChannelCloseFailed,
		NodeError::ChannelNotUsable(_) => ErrorCode::ChannelNotUsable,
		NodeError::NotSynced(_) => ErrorCode::NotSynced,
		NodeError::Persistence(_) => ErrorCode::PersistenceFailed,
		NodeError::ChainSource(_) => ErrorCode::ChainSourceFailed,
		NodeError::Busy(_) => ErrorCode::Busy,
		NodeError::Internal(_) => ErrorCode::Internal,
	}
}

impl From<NodeError> for ApiError {
	fn from(e: NodeError) -> Self {
		let code = node_code(&e);
		if code.status() >= 500 {
			log_error!("node error: {e}");
		}
		ApiError::new(code, e.message())
	}
}

impl std::fmt::Display for ApiError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		self.0.fmt(f)
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

	/// The codes and statuses clients saw when the node still named them: every variant's,
	/// as a fixed table (the node knows no HTTP any more).
	#[test]
	fn every_node_error_answers_as_before() {
		let m = || "m".to_string();
		let table = [
			(NodeError::InvalidRequest(m()), "invalid_request", 400),
			(NodeError::InvalidAmount(m()), "invalid_amount", 400),
			(NodeError::InvalidInvoice(m()), "invalid_invoice", 400),
			(NodeError::InvalidAddress(m()), "invalid_address", 400),
			(NodeError::NotFound(m()), "not_found", 404),
			(NodeError::InvoiceExpired(m()), "invoice_expired", 422),
			(NodeError::DuplicatePayment(m()), "duplicate_payment", 409),
			(NodeError::InvoiceConflict(m()), "invoice_conflict", 409),
			(NodeError::PeerUnreachable(m()), "peer_unreachable", 422),
			(NodeError::InsufficientFunds(m()), "insufficient_funds", 422),
			(NodeError::RouteNotFound(m()), "route_not_found", 422),
			(NodeError::PaymentFailed(m()), "payment_failed", 422),
			(NodeError::ChannelOpenFailed(m()), "channel_open_failed", 422),
			(NodeError::ChannelCloseFailed(m()), "channel_close_failed", 422),
			(NodeError::ChannelNotUsable(m()), "channel_not_usable", 422),
			(NodeError::NotSynced(m()), "not_synced", 503),
			(NodeError::Persistence(m()), "persistence_failed", 500),
			(NodeError::ChainSource(m()), "chain_source_failed", 503),
			(NodeError::Busy(m()), "busy", 503),
			(NodeError::Internal(m()), "internal", 500),
		];
		for (e, code, status) in table {
			// The node's own name of the variant (its log prefix) is the API's code.
			assert_eq!(e.code(), code, "{e:?}");
			let api = ApiError::from(e.clone());
			assert_eq!((api.code(), api.status().as_u16()), (code, status), "{e:?}");
			assert_eq!(api.message(), "m");
		}
	}

	#[test]
	fn error_body_omits_absent_payment() {
		let json = serde_json::to_value(ApiError::invalid_request("bad").body()).unwrap();
		assert_eq!(json, serde_json::json!({"code": "invalid_request", "message": "bad"}));
	}
}
