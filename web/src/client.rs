//! A client of the API over plain HTTP (the API listens on 127.0.0.1): what the CLI and the
//! end-to-end tests use.
//!
//! [`ApiClient::request`] speaks raw JSON; the typed helpers return the node's records.

use std::fmt;
use std::time::Duration;

use fulgur_node::routing::graph::{GraphChannel, GraphNode, GraphSummary};
use fulgur_node::{
	Balance, ChannelInfo, InvoiceRecord, NodeInfo, OpenChannelRequest, OpenedChannel, PayRequest,
	PaymentRecord, PeerInfo,
};
use hyper::client::HttpConnector;
use hyper::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Body, Client, Request, Uri};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

pub use hyper::Method;
pub use sse::EventStream;

mod merchant;
mod sse;

use crate::api::channels::CloseChannelResponse;
use crate::api::invoices::ListInvoicesResponse;
use crate::api::offers::CreateOfferResponse;
use crate::api::onchain::{NewAddressResponse, SendOnchainResponse};
use crate::api::payments::ListPaymentsResponse;
use crate::api::peers::{ConnectPeerResponse, ListPeersResponse};
use crate::api::routing::{ProbeResponse, RoutesRequest, RoutesResponse};
use crate::api::{PageQuery, MAX_PAGE_LIMIT};
use crate::error::ErrorBody;

/// How long a request may take by default, answer included. Generous: a payment with
/// `wait` lasts until it is final.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a request failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
	/// The API answered with an error status.
	Api {
		/// HTTP status.
		status: u16,
		/// The stable code from the body (`http_<status>` when the body is not an API error).
		code: String,
		/// The message from the body.
		message: String,
		/// The raw body.
		body: String,
	},
	/// The API could not be reached, or the connection broke.
	Connection(String),
	/// No complete answer within the timeout.
	Timeout(Duration),
	/// The answer is not what the endpoint returns.
	InvalidResponse(String),
	/// A bad base URL, API key or argument: the request was not sent.
	InvalidInput(String),
}

impl ClientError {
	/// The API's code for API errors; `connection_failed`, `timeout`, `invalid_response` or
	/// `invalid_input` for the others.
	pub fn code(&self) -> &str {
		match self {
			ClientError::Api { code, .. } => code,
			ClientError::Connection(_) => "connection_failed",
			ClientError::Timeout(_) => "timeout",
			ClientError::InvalidResponse(_) => "invalid_response",
			ClientError::InvalidInput(_) => "invalid_input",
		}
	}

	/// The HTTP status, for API errors.
	pub fn status(&self) -> Option<u16> {
		match self {
			ClientError::Api { status, .. } => Some(*status),
			_ => None,
		}
	}
}

impl fmt::Display for ClientError {
	/// `code: message`.
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			ClientError::Api { code, message, .. } => write!(f, "{code}: {message}"),
			ClientError::Connection(m)
			| ClientError::InvalidResponse(m)
			| ClientError::InvalidInput(m) => write!(f, "{}: {m}", self.code()),
			ClientError::Timeout(after) => {
				write!(f, "timeout: no answer within {} s", after.as_secs_f64())
			}
		}
	}
}

impl std::error::Error for ClientError {}

/// A client of one fulgur API. Cheap to clone.
#[derive(Clone)]
pub struct ApiClient {
	http: Client<HttpConnector>,
	base: String,
	authorization: HeaderValue,
	timeout: Duration,
}

impl fmt::Debug for ApiClient {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("ApiClient")
			.field("base", &self.base)
			.field("timeout", &self.timeout)
			.finish()
	}
}

impl ApiClient {
	/// A client of the API at `base_url` (`http://host:port`, optionally with a path
	/// prefix) authenticating with `api_key`, with the [`DEFAULT_TIMEOUT`].
	///
	/// Errors ([`ClientError::InvalidInput`]): not an `http://` URL, or an empty key or one
	/// that cannot go in a header. Nothing is sent.
	pub fn new(base_url: &str, api_key: &str) -> Result<ApiClient, ClientError> {
		let base = base_url.trim().trim_end_matches('/');
		let uri: Uri = base
			.parse()
			.map_err(|e| ClientError::InvalidInput(format!("invalid API URL {base_url:?}: {e}")))?;
		match uri.scheme_str() {
			Some("http") => {}
			_ => {
				return Err(ClientError::InvalidInput(format!(
					"invalid API URL {base_url:?}: it must start with http://"
				)))
			}
		}
		if uri.authority().is_none() || uri.query().is_some() {
			return Err(ClientError::InvalidInput(format!(
				"invalid API URL {base_url:?}: expected http://host:port"
			)));
		}
		let api_key = api_key.trim();
		if api_key.is_empty() {
			return Err(ClientError::InvalidInput("the API key is empty".into()));
		}
		let mut authorization = HeaderValue::from_str(&format!("Bearer {api_key}"))
			.map_err(|_| ClientError::InvalidInput("the API key has invalid characters".into()))?;
		authorization.set_sensitive(true);
		Ok(ApiClient {
			http: Client::builder().build_http(),
			base: base.to_owned(),
			authorization,
			timeout: DEFAULT_TIMEOUT,
		})
	}

	/// The same client with another per-request timeout.
	pub fn with_timeout(mut self, timeout: Duration) -> ApiClient {
		self.timeout = timeout;
		self
	}

	/// Sends `method path` (e.g. `GET /v1/info`) with an optional JSON body and returns the
	/// JSON answer (`null` for an empty one). Any non-2xx answer is a [`ClientError::Api`].
	pub async fn request(
		&self, method: Method, path: &str, body: Option<Value>,
	) -> Result<Value, ClientError> {
		if !path.starts_with('/') {
			return Err(ClientError::InvalidInput(format!("path {path:?} must start with /")));
		}
		let uri = format!("{}{path}", self.base);
		let mut builder = Request::builder()
			.method(method)
			.uri(&uri)
			.header(AUTHORIZATION, self.authorization.clone())
			.header(ACCEPT, "application/json");
		let body = match body {
			Some(value) => {
				builder = builder.header(CONTENT_TYPE, "application/json");
				Body::from(value.to_string())
			}
			None => Body::empty(),
		};
		let request = builder
			.body(body)
			.map_err(|e| ClientError::InvalidInput(format!("invalid request {uri}: {e}")))?;
		let (status, bytes) = self.exchange(request).await?;
		if bytes.iter().all(u8::is_ascii_whitespace) {
			return Ok(Value::Null);
		}
		serde_json::from_slice(&bytes).map_err(|e| {
			ClientError::InvalidResponse(format!("{uri} answered {status} with invalid JSON: {e}"))
		})
	}

	/// Sends `request` within the timeout and reads the whole answer; a non-2xx answer is a
	/// [`ClientError::Api`].
	pub(crate) async fn exchange(
		&self, request: Request<Body>,
	) -> Result<(hyper::StatusCode, hyper::body::Bytes), ClientError> {
		let exchange = async {
			let response = self.http.request(request).await?;
			let status = response.status();
			let bytes = hyper::body::to_bytes(response.into_body()).await?;
			Ok::<_, hyper::Error>((status, bytes))
		};
		let (status, bytes) = tokio::time::timeout(self.timeout, exchange)
			.await
			.map_err(|_| ClientError::Timeout(self.timeout))?
			.map_err(|e| ClientError::Connection(format!("{}: {e}", self.base)))?;
		if !status.is_success() {
			return Err(api_error(status.as_u16(), &bytes));
		}
		Ok((status, bytes))
	}

	/// `request`, then the answer as `T`.
	async fn call<T: DeserializeOwned>(
		&self, method: Method, path: &str, body: Option<Value>,
	) -> Result<T, ClientError> {
		let value = self.request(method, path, body).await?;
		serde_json::from_value(value).map_err(|e| {
			ClientError::InvalidResponse(format!("unexpected answer from {path}: {e}"))
		})
	}

	/// Posts a payment; a 422 `payment_failed` answer is the failed record, not an error.
	async fn payment(&self, path: &str, body: Value) -> Result<PaymentRecord, ClientError> {
		match self.call(Method::POST, path, Some(body)).await {
			Err(ClientError::Api { status: 422, code, message, body })
				if code == "payment_failed" =>
			{
				match serde_json::from_str::<ErrorBody>(&body).ok().and_then(|b| b.payment) {
					Some(record) => Ok(record),
					None => Err(ClientError::Api { status: 422, code, message, body }),
				}
			}
			other => other,
		}
	}

	/// `GET /v1/info`.
	pub async fn info(&self) -> Result<NodeInfo, ClientError> {
		self.call(Method::GET, "/v1/info", None).await
	}

	/// `GET /v1/balance`.
	pub async fn balance(&self) -> Result<Balance, ClientError> {
		self.call(Method::GET, "/v1/balance", None).await
	}

	/// `POST /v1/onchain/address`: a fresh on-chain address.
	pub async fn new_address(&self) -> Result<String, ClientError> {
		let r: NewAddressResponse = self.call(Method::POST, "/v1/onchain/address", None).await?;
		Ok(r.address)
	}

	/// `POST /v1/onchain/send`: returns the txid.
	pub async fn send_onchain(
		&self, address: &str, amount_sat: u64,
	) -> Result<String, ClientError> {
		let body = json!({ "address": address, "amount_sat": amount_sat });
		let r: SendOnchainResponse =
			self.call(Method::POST, "/v1/onchain/send", Some(body)).await?;
		Ok(r.txid)
	}

	/// `GET /v1/peers`, every page.
	pub async fn list_peers(&self) -> Result<Vec<PeerInfo>, ClientError> {
		let mut peers = Vec::new();
		let mut page = PageQuery { limit: Some(MAX_PAGE_LIMIT), cursor: None };
		loop {
			let path = format!("/v1/peers{}", query_string(&page)?);
			let r: ListPeersResponse = self.call(Method::GET, &path, None).await?;
			peers.extend(r.peers);
			match r.next_cursor {
				Some(next) => page.cursor = Some(next),
				None => return Ok(peers),
			}
		}
	}

	/// `POST /v1/peers`: connects (`address` = `host:port`); returns the peer as the node
	/// lists it, `None` if it does not list it.
	pub async fn connect_peer(
		&self, node_id: &str, address: &str,
	) -> Result<Option<PeerInfo>, ClientError> {
		let body = json!({ "node_id": node_id, "address": address });
		let r: ConnectPeerResponse = self.call(Method::POST, "/v1/peers", Some(body)).await?;
		Ok(r.peer)
	}

	/// `DELETE /v1/peers/{node_id}`.
	pub async fn disconnect_peer(&self, node_id: &str) -> Result<(), ClientError> {
		let path = format!("/v1/peers/{}", segment(node_id));
		self.request(Method::DELETE, &path, None).await.map(|_| ())
	}

	/// `GET /v1/channels`, every page.
	pub async fn list_channels(&self) -> Result<Vec<ChannelInfo>, ClientError> {
		let mut channels = Vec::new();
		let mut page = PageQuery { limit: Some(MAX_PAGE_LIMIT), cursor: None };
		loop {
			let path = format!("/v1/channels{}", query_string(&page)?);
			let r: crate::api::channels::ListChannelsResponse =
				self.call(Method::GET, &path, None).await?;
			channels.extend(r.channels);
			match r.next_cursor {
				Some(next) => page.cursor = Some(next),
				None => return Ok(channels),
			}
		}
	}

	/// `GET /v1/channels/{channel_id}`.
	pub async fn get_channel(&self, channel_id: &str) -> Result<ChannelInfo, ClientError> {
		self.call(Method::GET, &format!("/v1/channels/{}", segment(channel_id)), None).await
	}

	/// `POST /v1/channels`: returns once the funding transaction is broadcast.
	pub async fn open_channel(
		&self, req: &OpenChannelRequest,
	) -> Result<OpenedChannel, ClientError> {
		self.call(Method::POST, "/v1/channels", Some(to_json(req)?)).await
	}

	/// `POST /v1/channels/{channel_id}/close`: starts the close.
	pub async fn close_channel(
		&self, channel_id: &str, force: bool,
	) -> Result<CloseChannelResponse, ClientError> {
		let path = format!("/v1/channels/{}/close", segment(channel_id));
		self.call(Method::POST, &path, Some(json!({ "force": force }))).await
	}

	/// `POST /v1/invoices`: a BOLT11 invoice; `amount_msat` `None` for an amountless one.
	pub async fn create_invoice(
		&self, amount_msat: Option<u64>, description: &str, expiry_secs: Option<u32>,
	) -> Result<InvoiceRecord, ClientError> {
		let body = json!({
			"amount_msat": amount_msat,
			"description": description,
			"expiry_secs": expiry_secs,
		});
		self.call(Method::POST, "/v1/invoices", Some(body)).await
	}

	/// `GET /v1/invoices/{payment_hash}`.
	pub async fn get_invoice(&self, payment_hash: &str) -> Result<InvoiceRecord, ClientError> {
		self.call(Method::GET, &format!("/v1/invoices/{}", segment(payment_hash)), None).await
	}

	/// `GET /v1/invoices`: one page, newest first; pass the answer's `next_cursor` as
	/// `page.cursor` for the next one.
	pub async fn list_invoices(
		&self, page: &PageQuery,
	) -> Result<ListInvoicesResponse, ClientError> {
		self.call(Method::GET, &format!("/v1/invoices{}", query_string(page)?), None).await
	}

	/// `POST /v1/payments`: pays a BOLT11 invoice or BOLT12 offer. With `wait`, answers once
	/// the payment is final.
	///
	/// A payment that started and failed is `Ok` with status `failed` and its
	/// `failure_reason` (the API's 422 `payment_failed` answer carries the record); `Err` means
	/// it was refused before starting (bad invoice, no route, ...) or the API was not reached.
	pub async fn pay(&self, req: &PayRequest, wait: bool) -> Result<PaymentRecord, ClientError> {
		let body = json!({
			"invoice": req.invoice,
			"amount_msat": req.amount_msat,
			"max_fee_msat": req.max_fee_msat,
			"wait": wait,
		});
		self.payment("/v1/payments", body).await
	}

	/// `POST /v1/payments/keysend`: a spontaneous payment. A started payment that failed is
	/// `Ok` with status `failed`, as for [`ApiClient::pay`].
	pub async fn keysend(
		&self, node_id: &str, amount_msat: u64, wait: bool,
	) -> Result<PaymentRecord, ClientError> {
		self.keysend_with_id(node_id, amount_msat, None, wait).await
	}

	/// [`ApiClient::keysend`] under the caller's `payment_id` (64 hex), safe to retry: a retry
	/// answers with the payment the id names and sends nothing.
	pub async fn keysend_with_id(
		&self, node_id: &str, amount_msat: u64, payment_id: Option<&str>, wait: bool,
	) -> Result<PaymentRecord, ClientError> {
		let body = json!({
			"node_id": node_id,
			"amount_msat": amount_msat,
			"payment_id": payment_id,
			"wait": wait,
		});
		self.payment("/v1/payments/keysend", body).await
	}

	/// `GET /v1/payments/{payment_id}`.
	pub async fn get_payment(&self, payment_id: &str) -> Result<PaymentRecord, ClientError> {
		self.call(Method::GET, &format!("/v1/payments/{}", segment(payment_id)), None).await
	}

	/// `GET /v1/payments`: one page, newest first; see [`ApiClient::list_invoices`].
	pub async fn list_payments(
		&self, page: &PageQuery,
	) -> Result<ListPaymentsResponse, ClientError> {
		self.call(Method::GET, &format!("/v1/payments{}", query_string(page)?), None).await
	}

	/// `POST /v1/offers`: returns the BOLT12 offer string.
	pub async fn create_offer(
		&self, amount_msat: Option<u64>, description: &str,
	) -> Result<String, ClientError> {
		let body = json!({ "amount_msat": amount_msat, "description": description });
		let r: CreateOfferResponse = self.call(Method::POST, "/v1/offers", Some(body)).await?;
		Ok(r.offer)
	}

	/// `POST /v1/routes`: candidate routes, best first.
	pub async fn find_routes(&self, req: &RoutesRequest) -> Result<RoutesResponse, ClientError> {
		self.call(Method::POST, "/v1/routes", Some(to_json(req)?)).await
	}

	/// `POST /v1/probes`: how many probes were sent.
	pub async fn probe(&self, req: &RoutesRequest) -> Result<usize, ClientError> {
		let r: ProbeResponse = self.call(Method::POST, "/v1/probes", Some(to_json(req)?)).await?;
		Ok(r.probes_sent)
	}

	/// `GET /v1/graph`.
	pub async fn graph(&self) -> Result<GraphSummary, ClientError> {
		self.call(Method::GET, "/v1/graph", None).await
	}

	/// `GET /v1/graph/nodes/{node_id}`.
	pub async fn graph_node(&self, node_id: &str) -> Result<GraphNode, ClientError> {
		self.call(Method::GET, &format!("/v1/graph/nodes/{}", segment(node_id)), None).await
	}

	/// `GET /v1/graph/channels/{short_channel_id}`.
	pub async fn graph_channel(&self, short_channel_id: &str) -> Result<GraphChannel, ClientError> {
		let path = format!("/v1/graph/channels/{}", segment(short_channel_id));
		self.call(Method::GET, &path, None).await
	}
}

/// The error an error answer stands for.
fn api_error(status: u16, bytes: &[u8]) -> ClientError {
	let body = String::from_utf8_lossy(bytes).into_owned();
	match serde_json::from_slice::<ErrorBody>(bytes) {
		Ok(e) => ClientError::Api { status, code: e.code, message: e.message, body },
		Err(_) => {
			let message = if body.trim().is_empty() {
				format!("HTTP status {status}")
			} else {
				body.chars().take(200).collect()
			};
			ClientError::Api { status, code: format!("http_{status}"), message, body }
		}
	}
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, ClientError> {
	serde_json::to_value(value).map_err(|e| ClientError::InvalidInput(e.to_string()))
}

/// `?limit=..&cursor=..`, or nothing.
fn query_string(page: &PageQuery) -> Result<String, ClientError> {
	let query =
		serde_urlencoded::to_string(page).map_err(|e| ClientError::InvalidInput(e.to_string()))?;
	Ok(if query.is_empty() { query } else { format!("?{query}") })
}

/// Percent-encodes one path segment (ids are hex, so this only matters for garbage input).
fn segment(s: &str) -> String {
	let mut out = String::with_capacity(s.len());
	for b in s.bytes() {
		if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
			out.push(char::from(b));
		} else {
			out.push_str(&format!("%{b:02X}"));
		}
	}
	out
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn validates_base_url_and_key() {
		assert!(ApiClient::new("http://127.0.0.1:3000", "k").is_ok());
		assert!(ApiClient::new("http://127.0.0.1:3000/", "k").is_ok());
		for url in ["127.0.0.1:3000", "https://127.0.0.1:3000", "http://", "http://h:1/?x=1", ""] {
			let e = ApiClient::new(url, "k").unwrap_err();
			assert_eq!(e.code(), "invalid_input", "{url}");
		}
		assert!(ApiClient::new("http://127.0.0.1:3000", " ").is_err());
		assert!(ApiClient::new("http://127.0.0.1:3000", "a\nb").is_err());
	}

	#[test]
	fn error_answers_become_api_errors() {
		let e = api_error(404, br#"{"code":"not_found","message":"no such channel"}"#);
		assert_eq!(e.to_string(), "not_found: no such channel");
		assert_eq!(e.status(), Some(404));
		let e = api_error(502, b"Bad Gateway");
		assert_eq!(e.to_string(), "http_502: Bad Gateway");
		let e = api_error(500, b"");
		assert_eq!(e.to_string(), "http_500: HTTP status 500");
	}

	#[test]
	fn encodes_paths_and_queries() {
		assert_eq!(segment("02abCD"), "02abCD");
		assert_eq!(segment("a/b c"), "a%2Fb%20c");
		assert_eq!(query_string(&PageQuery::default()).unwrap(), "");
		let page = PageQuery { limit: Some(10), cursor: Some("20".into()) };
		assert_eq!(query_string(&page).unwrap(), "?limit=10&cursor=20");
	}

	/// A stand-in HTTP server answering fixed JSON, to check how the client reads answers.
	fn fake_api() -> (String, tokio::sync::oneshot::Sender<()>) {
		use warp::Filter;
		let failed = json!({
			"code": "payment_failed",
			"message": "no route",
			"payment": {
				"payment_id": "aa", "payment_hash": "bb", "kind": "keysend",
				"direction": "outbound", "destination": "02ab", "invoice": null,
				"description": null, "amount_msat": 1000, "fee_msat": null, "max_fee_msat": null,
				"preimage": null, "status": "failed", "failure_reason": "no route",
				"created_at": 1, "completed_at": 2
			}
		});
		let keysend = warp::path!("v1" / "payments" / "keysend").map(move || {
			warp::reply::with_status(
				warp::reply::json(&failed),
				warp::http::StatusCode::UNPROCESSABLE_ENTITY,
			)
		});
		let pay = warp::path!("v1" / "payments").map(|| {
			warp::reply::with_status(
				warp::reply::json(&json!({"code": "payment_failed", "message": "gone"})),
				warp::http::StatusCode::UNPROCESSABLE_ENTITY,
			)
		});
		let auth = warp::path!("v1" / "info").and(warp::header::<String>("authorization")).map(
			|h: String| {
				let status = if h == "Bearer k" {
					warp::http::StatusCode::OK
				} else {
					warp::http::StatusCode::UNAUTHORIZED
				};
				warp::reply::with_status(
					warp::reply::json(
						&json!({"code": "unauthorized", "message": "invalid API key"}),
					),
					status,
				)
			},
		);
		let address = warp::path!("v1" / "onchain" / "address")
			.and(warp::body::json())
			.map(|body: Value| warp::reply::json(&json!({"address": body.to_string()})));
		let slow = warp::path!("v1" / "balance").then(|| async {
			tokio::time::sleep(Duration::from_secs(5)).await;
			warp::reply::json(&json!({}))
		});
		let routes = keysend.or(pay).or(auth).or(address).or(slow);
		let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
		let (addr, server) =
			warp::serve(routes).bind_with_graceful_shutdown(([127, 0, 0, 1], 0), async move {
				let _ = stopped.await;
			});
		tokio::spawn(server);
		(format!("http://{addr}"), stop)
	}

	#[tokio::test]
	async fn reads_answers() {
		let (url, _stop) = fake_api();
		let client = ApiClient::new(&url, "k").unwrap();

		// A started payment that failed is the record, not an error.
		let record = client.keysend("02ab", 1000, true).await.unwrap();
		assert_eq!(record.status, fulgur_node::PaymentStatus::Failed);
		assert_eq!(record.failure_reason.as_deref(), Some("no route"));
		// Without a record it stays an error.
		let req = PayRequest { invoice: "x".into(), amount_msat: None, max_fee_msat: None };
		let e = client.pay(&req, true).await.unwrap_err();
		assert_eq!((e.status(), e.code()), (Some(422), "payment_failed"));

		// API errors carry status, code, message and body.
		let e = ApiClient::new(&url, "wrong").unwrap().request(Method::GET, "/v1/info", None).await;
		match e {
			Err(ClientError::Api { status: 401, code, message, body }) => {
				assert_eq!((code.as_str(), message.as_str()), ("unauthorized", "invalid API key"));
				assert!(body.contains("invalid API key"));
			}
			other => panic!("{other:?}"),
		}
		// A body-less POST is sent with an empty body; a typed answer is read.
		let e = client.new_address().await.unwrap_err();
		assert_eq!(e.status(), Some(400), "warp's json filter refuses the empty body: {e}");
		let value = client
			.request(Method::POST, "/v1/onchain/address", Some(json!({"a": 1})))
			.await
			.unwrap();
		assert_eq!(value, json!({"address": "{\"a\":1}"}));

		// The timeout holds.
		let quick = client.clone().with_timeout(Duration::from_millis(200));
		assert_eq!(
			quick.balance().await.unwrap_err(),
			ClientError::Timeout(Duration::from_millis(200))
		);
	}

	#[tokio::test]
	async fn connection_refused_is_a_connection_error() {
		// Bind then drop a listener to find a port nobody listens on.
		let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
		let client = ApiClient::new(&format!("http://127.0.0.1:{port}"), "k").unwrap();
		let e = client.info().await.unwrap_err();
		assert!(matches!(e, ClientError::Connection(_)), "{e:?}");
		assert!(e.to_string().starts_with("connection_failed: "), "{e}");
	}
}
