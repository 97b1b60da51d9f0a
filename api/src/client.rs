//! A client of the API over plain HTTP (the API listens on 127.0.0.1): what the CLI, the
//! end-to-end tests and any Rust program use. It is built on the wire types alone.
//!
//! [`ApiClient::request`] speaks raw JSON; every endpoint with a JSON answer has a typed method
//! generated from the route table (`crate::routes`); the helpers here and in `merchant.rs` add
//! the shapes callers want (every page of a list, one field of an answer, a failed payment as
//! its record).

use std::fmt;
use std::time::Duration;

use hyper::client::HttpConnector;
use hyper::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Body, Client, Request, Uri};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

pub use hyper::Method;
pub use sse::EventStream;

mod merchant;
mod sse;

use crate::error::ErrorBody;
use crate::routes::Endpoint;
use crate::wire::channels::{
	ChannelInfo, CloseChannelBody, CloseChannelResponse, ClosedChannelInfo, ListChannelsQuery,
};
use crate::wire::invoices::{CreateInvoiceRequest, InvoiceRecord};
use crate::wire::offers::CreateOfferRequest;
use crate::wire::onchain::{NewAddressResponse, SendOnchainRequest};
use crate::wire::payments::{KeysendRequest, PayBody, PayRequest, PaymentRecord};
use crate::wire::peers::{ConnectPeerRequest, PeerInfo};
use crate::wire::routing::RoutesRequest;
use crate::wire::utilities::{SignMessageRequest, VerifyMessageRequest, VerifyMessageResponse};
use crate::wire::{PageQuery, MAX_PAGE_LIMIT};

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
			let response = self
				.http
				.request(request)
				.await
				.map_err(|e| ClientError::Connection(e.to_string()))?;
			let status = response.status();
			let bytes = read_capped(response.into_body(), MAX_RESPONSE_BYTES).await?;
			Ok::<_, ClientError>((status, bytes))
		};
		let (status, bytes) = tokio::time::timeout(self.timeout, exchange)
			.await
			.map_err(|_| ClientError::Timeout(self.timeout))?
			.map_err(|e| match e {
				ClientError::Connection(e) => {
					ClientError::Connection(format!("{}: {e}", self.base))
				}
				other => other,
			})?;
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

	/// Sends the request of `route` with its path parameters (`(name, value)`, in the order of
	/// the path template) and input, and reads the answer as `T`.
	pub(crate) async fn route_call<T: DeserializeOwned>(
		&self, route: Endpoint, params: &[(&str, &str)], input: Option<Input>,
	) -> Result<T, ClientError> {
		let spec = route.spec();
		let mut path = fill_path(spec.path, params)?;
		let body = match input {
			Some(Input::Body(value)) => Some(value),
			Some(Input::Query(query)) => {
				path.push_str(&query);
				None
			}
			None => None,
		};
		let method = Method::from_bytes(spec.method.as_bytes())
			.map_err(|e| ClientError::InvalidInput(format!("method {}: {e}", spec.method)))?;
		self.call(method, &path, body).await
	}

	/// A payment's answer: a 422 `payment_failed` answer is the failed record, not an error.
	fn payment(result: Result<PaymentRecord, ClientError>) -> Result<PaymentRecord, ClientError> {
		match result {
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

	/// `POST /v1/onchain/address` (sent without a body): a fresh on-chain address.
	pub async fn new_address(&self) -> Result<String, ClientError> {
		let answer: NewAddressResponse = self.route_call(Endpoint::NewAddress, &[], None).await?;
		Ok(answer.address)
	}

	/// `POST /v1/onchain/send`: returns the txid.
	pub async fn send_onchain(
		&self, address: &str, amount_sat: u64,
	) -> Result<String, ClientError> {
		let req = SendOnchainRequest { address: address.to_owned(), amount_sat };
		Ok(self.send_onchain_with(&req).await?.txid)
	}

	/// `GET /v1/peers`, every page.
	pub async fn list_peers(&self) -> Result<Vec<PeerInfo>, ClientError> {
		let mut peers = Vec::new();
		let mut page = PageQuery { limit: Some(MAX_PAGE_LIMIT), cursor: None };
		loop {
			let r = self.list_peers_page(&page).await?;
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
		let req = ConnectPeerRequest { node_id: node_id.to_owned(), address: address.to_owned() };
		Ok(self.connect_peer_with(&req).await?.peer)
	}

	/// `DELETE /v1/peers/{node_id}`.
	pub async fn disconnect_peer(&self, node_id: &str) -> Result<(), ClientError> {
		self.disconnect_peer_with(node_id).await.map(|_| ())
	}

	/// `GET /v1/channels`, every page.
	pub async fn list_channels(&self) -> Result<Vec<ChannelInfo>, ClientError> {
		let mut channels = Vec::new();
		let mut page = ListChannelsQuery { limit: Some(MAX_PAGE_LIMIT), ..Default::default() };
		loop {
			let r = self.list_channels_page(&page).await?;
			channels.extend(r.channels);
			match r.next_cursor {
				Some(next) => page.cursor = Some(next),
				None => return Ok(channels),
			}
		}
	}

	/// `GET /v1/channels/closed`, every page.
	pub async fn list_closed_channels(&self) -> Result<Vec<ClosedChannelInfo>, ClientError> {
		let mut closed = Vec::new();
		let mut page = PageQuery { limit: Some(MAX_PAGE_LIMIT), cursor: None };
		loop {
			let r = self.list_closed_channels_page(&page).await?;
			closed.extend(r.closed_channels);
			match r.next_cursor {
				Some(next) => page.cursor = Some(next),
				None => return Ok(closed),
			}
		}
	}

	/// `POST /v1/messages/sign`: the signature.
	pub async fn sign_message(&self, message: &str) -> Result<String, ClientError> {
		let req = SignMessageRequest { message: message.to_string() };
		self.sign_message_with(&req).await.map(|r| r.signature)
	}

	/// `POST /v1/messages/verify`.
	pub async fn verify_message(
		&self, message: &str, signature: &str,
	) -> Result<VerifyMessageResponse, ClientError> {
		let req =
			VerifyMessageRequest { message: message.to_string(), signature: signature.to_string() };
		self.verify_message_with(&req).await
	}

	/// `POST /v1/channels/{channel_id}/close`: starts the close.
	pub async fn close_channel(
		&self, channel_id: &str, force: bool,
	) -> Result<CloseChannelResponse, ClientError> {
		self.close_channel_with(channel_id, &CloseChannelBody { force }).await
	}

	/// `POST /v1/invoices`: a BOLT11 invoice; `amount_msat` `None` for an amountless one.
	pub async fn create_invoice(
		&self, amount_msat: Option<u64>, description: &str, expiry_secs: Option<u32>,
	) -> Result<InvoiceRecord, ClientError> {
		let req = CreateInvoiceRequest {
			amount_msat,
			description: description.to_owned(),
			expiry_secs,
			payment_hash: None,
		};
		self.create_invoice_with(&req).await
	}

	/// `POST /v1/payments`: pays a BOLT11 invoice or BOLT12 offer. With `wait`, answers once
	/// the payment is final.
	///
	/// A payment that started and failed is `Ok` with status `failed` and its
	/// `failure_reason` (the API's 422 `payment_failed` answer carries the record); `Err` means
	/// it was refused before starting (bad invoice, no route, ...) or the API was not reached.
	pub async fn pay(&self, req: &PayRequest, wait: bool) -> Result<PaymentRecord, ClientError> {
		Self::payment(self.pay_with(&PayBody::new(req, wait)).await)
	}

	/// `POST /v1/rebalance`: pays ourselves out through one channel and back through
	/// another. A started rebalance that failed is `Ok` with status `failed`, as for
	/// [`ApiClient::pay`].
	pub async fn rebalance(
		&self, req: &crate::wire::policy::RebalanceBody,
	) -> Result<PaymentRecord, ClientError> {
		Self::payment(self.rebalance_with(req).await)
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
		let req = KeysendRequest {
			node_id: node_id.to_owned(),
			amount_msat,
			payment_id: payment_id.map(str::to_owned),
			wait,
		};
		Self::payment(self.keysend_with(&req).await)
	}

	/// `POST /v1/offers`: returns the BOLT12 offer string.
	pub async fn create_offer(
		&self, amount_msat: Option<u64>, description: &str,
	) -> Result<String, ClientError> {
		let req = CreateOfferRequest { amount_msat, description: description.to_owned() };
		Ok(self.create_offer_with(&req).await?.offer)
	}

	/// `POST /v1/probes`: how many probes were sent.
	pub async fn probe(&self, req: &RoutesRequest) -> Result<usize, ClientError> {
		Ok(self.probe_with(req).await?.probes_sent)
	}
}

/// The encoded input of a request: the JSON body of a `POST`, the query string otherwise.
#[derive(Debug)]
pub(crate) enum Input {
	/// A JSON body.
	Body(Value),
	/// A query string with its `?` (empty for none).
	Query(String),
}

/// Encodes `input` for a request with `method`.
pub(crate) fn encode_input<T: Serialize>(method: &str, input: &T) -> Result<Input, ClientError> {
	if method == "POST" {
		to_json(input).map(Input::Body)
	} else {
		query_string(input).map(Input::Query)
	}
}

/// The path template with each `{name}` replaced by its parameter, percent-encoded. The names
/// must be the template's, in order: the route table is checked on every call.
fn fill_path(template: &str, params: &[(&str, &str)]) -> Result<String, ClientError> {
	let mut path = String::with_capacity(template.len());
	let mut params = params.iter();
	for (i, part) in template.split('/').enumerate() {
		if i > 0 {
			path.push('/');
		}
		match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
			Some(name) => match params.next() {
				Some((given, value)) if *given == name => path.push_str(&segment(value)),
				_ => {
					return Err(ClientError::InvalidInput(format!(
						"{template}: parameter {name} missing"
					)))
				}
			},
			None => path.push_str(part),
		}
	}
	match params.next() {
		Some((name, _)) => {
			Err(ClientError::InvalidInput(format!("{template}: no parameter {name}")))
		}
		None => Ok(path),
	}
}

/// The most an answer may hold: far above the largest page the API sends, so a peer that
/// streams without end cannot make the client hold it all.
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// The whole of `body`, or an error once it passes `cap` bytes (read no further).
pub(crate) async fn read_capped(
	mut body: Body, cap: usize,
) -> Result<hyper::body::Bytes, ClientError> {
	use hyper::body::HttpBody;
	let mut bytes = Vec::new();
	while let Some(chunk) = body.data().await {
		let chunk = chunk.map_err(|e| ClientError::Connection(e.to_string()))?;
		if bytes.len() + chunk.len() > cap {
			return Err(ClientError::InvalidResponse(format!("an answer larger than {cap} bytes")));
		}
		bytes.extend_from_slice(&chunk);
	}
	Ok(bytes.into())
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
fn query_string<T: Serialize>(input: &T) -> Result<String, ClientError> {
	let query =
		serde_urlencoded::to_string(input).map_err(|e| ClientError::InvalidInput(e.to_string()))?;
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
mod tests;
