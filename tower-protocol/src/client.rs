//! A client of a tower's HTTP API (hyper 0.14), for the node and the tests.

use std::fmt;
use std::time::Duration;

use hyper::client::HttpConnector;
use hyper::header::CONTENT_TYPE;
use hyper::{Body, Client, Request};
pub use hyper::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::{
	AddAppointmentRequest, AddAppointmentResponse, Endpoint, GetAppointmentRequest,
	GetAppointmentResponse, GetSubscriptionInfoRequest, GetSubscriptionInfoResponse,
	RegisterRequest, RegisterResponse,
};
use crate::appointment::AppointmentStatus;
use crate::body::{read_limited, BodyError, MAX_RESPONSE_BODY};
use crate::crypto::UserId;
use crate::errors::{ApiError, ErrorCode};

/// How long a request may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an unused connection is kept for the next request.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a request failed.
#[derive(Debug)]
pub enum ClientError {
	/// The tower answered with an error.
	Api {
		/// HTTP status.
		status: u16,
		/// The error body.
		error: ApiError,
	},
	/// The tower could not be reached, or the connection broke.
	Connection(String),
	/// No answer within the timeout.
	Timeout,
	/// The answer is not what the endpoint returns.
	InvalidResponse(String),
}

impl ClientError {
	/// The teos code of an API error.
	pub fn error_code(&self) -> Option<ErrorCode> {
		match self {
			ClientError::Api { error, .. } => Some(error.error_code),
			_ => None,
		}
	}
}

impl fmt::Display for ClientError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			ClientError::Api { status, error } => write!(f, "tower answered {status}: {error}"),
			ClientError::Connection(e) => write!(f, "cannot reach the tower: {e}"),
			ClientError::Timeout => f.write_str("the tower did not answer in time"),
			ClientError::InvalidResponse(e) => write!(f, "unexpected answer from the tower: {e}"),
		}
	}
}

impl std::error::Error for ClientError {}

/// A client of one tower; cheap to clone (connections are pooled).
#[derive(Clone)]
pub struct TowerClient {
	http: Client<HttpConnector>,
	base: String,
	timeout: Duration,
}

impl fmt::Debug for TowerClient {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("TowerClient").field("base", &self.base).finish()
	}
}

impl TowerClient {
	/// A client of the tower at `base_url` (`http://host:port`). Connections are kept alive
	/// and reused for the next requests (the tower closes idle ones after a while).
	pub fn new(base_url: &str) -> Self {
		let mut connector = HttpConnector::new();
		// Requests are small and each waits for its answer: no Nagle delay on either.
		connector.set_nodelay(true);
		TowerClient {
			// Given up before the tower's own idle timeout (30 s by default), so a request is
			// not sent on a connection the tower is closing.
			http: Client::builder().pool_idle_timeout(POOL_IDLE_TIMEOUT).build(connector),
			base: base_url.trim_end_matches('/').to_string(),
			timeout: DEFAULT_TIMEOUT,
		}
	}

	/// The same client with another timeout.
	pub fn with_timeout(mut self, timeout: Duration) -> Self {
		self.timeout = timeout;
		self
	}

	/// Sends raw bytes to a path: the status and body as they came (for any request,
	/// including malformed ones). An answer body over [`MAX_RESPONSE_BODY`] is refused.
	pub async fn raw(
		&self, method: Method, path: &str, body: Vec<u8>,
	) -> Result<(StatusCode, Vec<u8>), ClientError> {
		let request = Request::builder()
			.method(method)
			.uri(format!("{}{path}", self.base))
			.header(CONTENT_TYPE, "application/json")
			.body(Body::from(body))
			.map_err(|e| ClientError::Connection(e.to_string()))?;
		let exchange = async {
			let response = self
				.http
				.request(request)
				.await
				.map_err(|e| ClientError::Connection(e.to_string()))?;
			let status = response.status();
			let body = match read_limited(response.into_body(), MAX_RESPONSE_BODY).await {
				Ok(body) => body,
				Err(BodyError::Read(e)) => return Err(ClientError::Connection(e.to_string())),
				Err(e) => return Err(ClientError::InvalidResponse(e.to_string())),
			};
			Ok((status, body))
		};
		tokio::time::timeout(self.timeout, exchange).await.map_err(|_| ClientError::Timeout)?
	}

	async fn post<Req: Serialize, Resp: DeserializeOwned>(
		&self, endpoint: Endpoint, req: &Req,
	) -> Result<Resp, ClientError> {
		let body =
			serde_json::to_vec(req).map_err(|e| ClientError::InvalidResponse(e.to_string()))?;
		let (status, body) = self.raw(Method::POST, endpoint.path(), body).await?;
		if status.is_success() {
			return serde_json::from_slice(&body)
				.map_err(|e| ClientError::InvalidResponse(format!("{e}")));
		}
		let error = serde_json::from_slice::<ApiError>(&body).map_err(|_| {
			ClientError::InvalidResponse(format!(
				"status {status} with body {}",
				String::from_utf8_lossy(&body)
			))
		})?;
		Err(ClientError::Api { status: status.as_u16(), error })
	}

	/// `GET /ping`: whether the tower is up.
	pub async fn ping(&self) -> Result<(), ClientError> {
		let (status, _) = self.raw(Method::GET, Endpoint::Ping.path(), Vec::new()).await?;
		if status.is_success() {
			Ok(())
		} else {
			Err(ClientError::InvalidResponse(format!("ping answered {status}")))
		}
	}

	/// Registers (or renews) `user_id`.
	pub async fn register(&self, user_id: UserId) -> Result<RegisterResponse, ClientError> {
		self.post(Endpoint::Register, &RegisterRequest { user_id }).await
	}

	/// Sends a signed appointment.
	pub async fn add_appointment(
		&self, req: &AddAppointmentRequest,
	) -> Result<AddAppointmentResponse, ClientError> {
		self.post(Endpoint::AddAppointment, req).await
	}

	/// Asks about an appointment; a locator the tower does not hold is `status: not_found`.
	pub async fn get_appointment(
		&self, req: &GetAppointmentRequest,
	) -> Result<GetAppointmentResponse, ClientError> {
		match self.post(Endpoint::GetAppointment, req).await {
			Err(ClientError::Api { error, .. })
				if error.error_code == ErrorCode::AppointmentNotFound =>
			{
				Ok(GetAppointmentResponse {
					appointment: None,
					status: AppointmentStatus::NotFound,
				})
			}
			other => other,
		}
	}

	/// The signer's subscription.
	pub async fn get_subscription_info(
		&self, req: &GetSubscriptionInfoRequest,
	) -> Result<GetSubscriptionInfoResponse, ClientError> {
		self.post(Endpoint::GetSubscriptionInfo, req).await
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::body::flood::{flooding_peer, FLOOD};

	#[tokio::test]
	async fn a_huge_answer_is_cut_off_at_the_cap() {
		for announced in [true, false] {
			let (addr, written) = flooding_peer(announced).await.unwrap();
			let client = TowerClient::new(&format!("http://{addr}"));
			match client.raw(Method::GET, "/ping", Vec::new()).await {
				Err(ClientError::InvalidResponse(e)) => assert!(e.contains("65536"), "{e}"),
				Err(e) => panic!("expected the cap's error, got {e}"),
				Ok((status, body)) => {
					panic!("read the whole answer: {status}, {} bytes", body.len())
				}
			}
			// The fake sees the connection close long before it sent everything (the
			// kernel's socket buffers hold a few MiB at most).
			let sent = written.await.unwrap();
			assert!(sent < FLOOD / 2, "the client kept reading: {sent} bytes sent");
		}
	}
}
