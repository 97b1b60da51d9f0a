//! The router (one table of every endpoint), the body and query extractors, the rejection
//! mapping, and the server itself.
//!
//! A request goes through: API key check → [`routes`] (path, method, query or JSON body
//! parsed and validated into a [`Call`]) → [`dispatch`] (the handler, with the node, on its
//! own task) → [`recover`] (any rejection becomes a JSON error) → the request log line.
//! Everything up to the [`Call`] needs no node, which is what the unit tests exercise.

use std::convert::Infallible;
use std::error::Error as _;
use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use fulgur_node::Node;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::hyper::body::Bytes;
use warp::reply::Response;
use warp::{Buf, Filter, Rejection, Reply, Stream};

use crate::api::channels::{
	self, CloseChannelBody, CloseChannelRequest, GetChannelRequest, OpenChannelRequest,
};
use crate::api::invoices::{self, CreateInvoiceRequest, GetInvoiceRequest};
use crate::api::offers::{self, CreateOfferRequest};
use crate::api::onchain::{self, NewAddressRequest, SendOnchainRequest};
use crate::api::payments::{self, GetPaymentRequest, KeysendRequest, PayRequest};
use crate::api::peers::{self, ConnectPeerRequest, DisconnectPeerRequest};
use crate::api::{info, PageQuery, Validate};
use crate::auth::require_api_key;
use crate::error::ApiError;

/// Where the API listens unless configured otherwise: `127.0.0.1:3000`.
pub const DEFAULT_API_BIND: SocketAddr =
	SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 3000));

/// Largest accepted request body; larger ones get 413 `payload_too_large`.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// How long [`ApiServer::shutdown`] waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How to run the API.
#[derive(Clone)]
pub struct ApiConfig {
	/// Address to listen on; [`DEFAULT_API_BIND`] by default. Port 0 picks a free port.
	pub bind: SocketAddr,
	/// The key clients must send as `Authorization: Bearer <key>`; must not be empty.
	pub api_key: String,
}

impl ApiConfig {
	/// The default address with this key.
	pub fn new(api_key: impl Into<String>) -> Self {
		ApiConfig { bind: DEFAULT_API_BIND, api_key: api_key.into() }
	}
}

impl std::fmt::Debug for ApiConfig {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("ApiConfig").field("bind", &self.bind).field("api_key", &"<hidden>").finish()
	}
}

/// A running API server. [`ApiServer::shutdown`] stops it; dropping it stops it too.
#[derive(Debug)]
#[must_use = "dropping the ApiServer shuts the server down"]
pub struct ApiServer {
	local_addr: SocketAddr,
	shutdown: oneshot::Sender<()>,
	task: JoinHandle<()>,
}

impl ApiServer {
	/// The address the server listens on (with the actual port when bound to port 0).
	pub fn local_addr(&self) -> SocketAddr {
		self.local_addr
	}

	/// Stops accepting connections and waits for the requests in flight, at most
	/// 10 seconds; requests still running then (a payment with `wait`) finish on their own
	/// but the server no longer waits for them.
	pub async fn shutdown(self) {
		let ApiServer { local_addr, shutdown, mut task } = self;
		let _ = shutdown.send(());
		match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
			Ok(_) => log_info!("API on {local_addr} stopped"),
			Err(_) => {
				log_warn!(
					"API on {local_addr}: requests still running, no longer waiting for them"
				);
				task.abort();
			}
		}
	}
}

/// Starts the HTTP API for `node` on `config.bind`; returns once listening.
///
/// Must be called within a tokio runtime. Errors: the address cannot be bound (in use,
/// not permitted: the kind of the underlying error is kept) or the key is empty.
pub async fn serve(node: Node, config: ApiConfig) -> io::Result<ApiServer> {
	if config.api_key.trim().is_empty() {
		return Err(io::Error::new(io::ErrorKind::InvalidInput, "the API key must not be empty"));
	}
	let server = start(app(node, Arc::from(config.api_key)), config.bind)?;
	log_info!("API listening on http://{}", server.local_addr);
	Ok(server)
}

/// Binds `filter` and runs it on a task until shut down.
fn start<F>(filter: F, bind: SocketAddr) -> io::Result<ApiServer>
where
	F: Filter<Error = Infallible> + Clone + Send + Sync + 'static,
	F::Extract: Reply,
{
	let (shutdown, stop) = oneshot::channel::<()>();
	// A dropped sender also ends the server.
	let signal = async move {
		let _ = stop.await;
	};
	let (local_addr, run) = warp::serve(filter)
		.try_bind_with_graceful_shutdown(bind, signal)
		.map_err(|e| bind_error(&e, bind))?;
	let task = tokio::spawn(run);
	Ok(ApiServer { local_addr, shutdown, task })
}

/// warp's bind error, as the `io::Error` inside it when there is one.
fn bind_error(e: &warp::Error, bind: SocketAddr) -> io::Error {
	let mut source: Option<&(dyn std::error::Error + 'static)> = e.source();
	while let Some(cause) = source {
		if let Some(io_error) = cause.downcast_ref::<io::Error>() {
			return io::Error::new(io_error.kind(), format!("cannot listen on {bind}: {io_error}"));
		}
		source = cause.source();
	}
	io::Error::other(format!("cannot listen on {bind}: {e}"))
}

/// The whole API as one filter: auth, router, handlers, JSON errors, request log.
fn app(
	node: Node, api_key: Arc<str>,
) -> impl Filter<Extract = impl Reply, Error = Infallible> + Clone {
	let node = warp::any().map(move || node.clone());
	finish(authenticated_routes(api_key).and(node).then(|call: Call, node: Node| run(node, call)))
}

/// Every rejection as a JSON error, then the request log line.
fn finish<F>(handled: F) -> impl Filter<Extract = impl Reply, Error = Infallible> + Clone
where
	F: Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + 'static,
{
	handled.recover(recover).unify().with(warp::log::custom(log_request))
}

fn log_request(info: warp::log::Info<'_>) {
	log_info!(
		"{} {} {} {:.1}ms",
		info.method(),
		info.path(),
		info.status().as_u16(),
		info.elapsed().as_secs_f64() * 1000.0
	);
}

/// The API key check, then the router.
fn authenticated_routes(api_key: Arc<str>) -> BoxedFilter<(Call,)> {
	require_api_key(api_key).and(routes()).boxed()
}

/// One parsed and validated request: which endpoint, with what.
#[derive(Debug)]
enum Call {
	Info,
	Balance,
	NewAddress(NewAddressRequest),
	SendOnchain(SendOnchainRequest),
	ListPeers,
	ConnectPeer(ConnectPeerRequest),
	DisconnectPeer(DisconnectPeerRequest),
	ListChannels,
	GetChannel(GetChannelRequest),
	OpenChannel(OpenChannelRequest),
	CloseChannel(CloseChannelRequest),
	CreateInvoice(CreateInvoiceRequest),
	GetInvoice(GetInvoiceRequest),
	ListInvoices(PageQuery),
	Pay(PayRequest),
	Keysend(KeysendRequest),
	GetPayment(GetPaymentRequest),
	ListPayments(PageQuery),
	CreateOffer(CreateOfferRequest),
}

/// The router: every endpoint, path first, then method, then query or body, so an unknown
/// path is a 404 and a known path with another method a 405.
fn routes() -> BoxedFilter<(Call,)> {
	use warp::{delete, get, path, post};

	let info = path!("v1" / "info").and(get()).map(|| Call::Info);
	let balance = path!("v1" / "balance").and(get()).map(|| Call::Balance);

	let new_address =
		path!("v1" / "onchain" / "address").and(post()).and(json_body()).map(Call::NewAddress);
	let send_onchain =
		path!("v1" / "onchain" / "send").and(post()).and(json_body()).map(Call::SendOnchain);

	let list_peers = path!("v1" / "peers").and(get()).map(|| Call::ListPeers);
	let connect_peer = path!("v1" / "peers").and(post()).and(json_body()).map(Call::ConnectPeer);
	let disconnect_peer = path!("v1" / "peers" / String)
		.and(delete())
		.map(|node_id| Call::DisconnectPeer(DisconnectPeerRequest { node_id }));

	let list_channels = path!("v1" / "channels").and(get()).map(|| Call::ListChannels);
	let get_channel = path!("v1" / "channels" / String)
		.and(get())
		.map(|channel_id| Call::GetChannel(GetChannelRequest { channel_id }));
	let open_channel = path!("v1" / "channels").and(post()).and(json_body()).map(Call::OpenChannel);
	let close_channel = path!("v1" / "channels" / String / "close")
		.and(post())
		.and(json_body())
		.map(|channel_id, body: CloseChannelBody| {
			Call::CloseChannel(CloseChannelRequest { channel_id, force: body.force })
		});

	let create_invoice =
		path!("v1" / "invoices").and(post()).and(json_body()).map(Call::CreateInvoice);
	let get_invoice = path!("v1" / "invoices" / String)
		.and(get())
		.map(|payment_hash| Call::GetInvoice(GetInvoiceRequest { payment_hash }));
	let list_invoices =
		path!("v1" / "invoices").and(get()).and(page_query()).map(Call::ListInvoices);

	let pay = path!("v1" / "payments").and(post()).and(json_body()).map(Call::Pay);
	let keysend =
		path!("v1" / "payments" / "keysend").and(post()).and(json_body()).map(Call::Keysend);
	let get_payment = path!("v1" / "payments" / String)
		.and(get())
		.map(|payment_id| Call::GetPayment(GetPaymentRequest { payment_id }));
	let list_payments =
		path!("v1" / "payments").and(get()).and(page_query()).map(Call::ListPayments);

	let create_offer = path!("v1" / "offers").and(post()).and(json_body()).map(Call::CreateOffer);

	// Boxed per group to keep the filter types (and compile times) small.
	let node_state = info.or(balance).unify().boxed();
	let onchain = new_address.or(send_onchain).unify().boxed();
	let peers = list_peers.or(connect_peer).unify().or(disconnect_peer).unify().boxed();
	let channels = list_channels
		.or(get_channel)
		.unify()
		.or(open_channel)
		.unify()
		.or(close_channel)
		.unify()
		.boxed();
	let invoices = create_invoice.or(get_invoice).unify().or(list_invoices).unify().boxed();
	let payments =
		pay.or(keysend).unify().or(get_payment).unify().or(list_payments).unify().boxed();
	node_state
		.or(onchain)
		.unify()
		.or(peers)
		.unify()
		.or(channels)
		.unify()
		.or(invoices)
		.unify()
		.or(payments)
		.unify()
		.or(create_offer)
		.unify()
		.boxed()
}

/// Runs the handler on its own task: a client that disconnects does not cancel a node
/// operation halfway (an open, a payment), and a panic is a 500, not a dropped connection.
async fn run(node: Node, call: Call) -> Response {
	match tokio::spawn(dispatch(node, call)).await {
		Ok(response) => response,
		Err(e) => {
			log_error!("request handler failed: {e}");
			ApiError::internal("internal error").into_response()
		}
	}
}

/// Calls the handler for `call`: the single place where requests meet the node.
async fn dispatch(node: Node, call: Call) -> Response {
	match call {
		Call::Info => reply(info::handle_info(node, ()).await),
		Call::Balance => reply(info::handle_balance(node, ()).await),
		Call::NewAddress(req) => reply(onchain::handle_new_address(node, req).await),
		Call::SendOnchain(req) => reply(onchain::handle_send_onchain(node, req).await),
		Call::ListPeers => reply(peers::handle_list_peers(node, ()).await),
		Call::ConnectPeer(req) => reply(peers::handle_connect_peer(node, req).await),
		Call::DisconnectPeer(req) => reply(peers::handle_disconnect_peer(node, req).await),
		Call::ListChannels => reply(channels::handle_list_channels(node, ()).await),
		Call::GetChannel(req) => reply(channels::handle_get_channel(node, req).await),
		Call::OpenChannel(req) => reply(channels::handle_open_channel(node, req).await),
		Call::CloseChannel(req) => reply(channels::handle_close_channel(node, req).await),
		Call::CreateInvoice(req) => reply(invoices::handle_create_invoice(node, req).await),
		Call::GetInvoice(req) => reply(invoices::handle_get_invoice(node, req).await),
		Call::ListInvoices(req) => reply(invoices::handle_list_invoices(node, req).await),
		Call::Pay(req) => reply(payments::handle_pay(node, req).await),
		Call::Keysend(req) => reply(payments::handle_keysend(node, req).await),
		Call::GetPayment(req) => reply(payments::handle_get_payment(node, req).await),
		Call::ListPayments(req) => reply(payments::handle_list_payments(node, req).await),
		Call::CreateOffer(req) => reply(offers::handle_create_offer(node, req).await),
	}
}

fn reply<T: Serialize>(result: Result<T, ApiError>) -> Response {
	match result {
		Ok(value) => warp::reply::json(&value).into_response(),
		Err(e) => e.into_response(),
	}
}

/// A JSON body of at most [`BODY_LIMIT_BYTES`], parsed into `T` and validated. An empty
/// body counts as `{}`.
fn json_body<T>() -> impl Filter<Extract = (T,), Error = Rejection> + Clone
where
	T: DeserializeOwned + Validate + Send + 'static,
{
	warp::header::optional::<u64>("content-length").and(warp::body::stream()).and_then(
		|length: Option<u64>, body| async move {
			let bytes = read_body(length, body).await?;
			parse_json::<T>(&bytes).map_err(warp::reject::custom)
		},
	)
}

/// Reads the body, refusing it as soon as it is known to be larger than the limit
/// (announced length or bytes received), so an oversized body is never buffered.
async fn read_body<S, B>(length: Option<u64>, body: S) -> Result<Bytes, Rejection>
where
	S: Stream<Item = Result<B, warp::Error>>,
	B: Buf,
{
	if length.is_some_and(|n| n > BODY_LIMIT_BYTES as u64) {
		return Err(warp::reject::custom(payload_too_large()));
	}
	let mut body = pin!(body);
	let mut bytes = Vec::new();
	while let Some(chunk) = poll_fn(|cx| body.as_mut().poll_next(cx)).await {
		let mut chunk = chunk.map_err(|e| {
			warp::reject::custom(ApiError::invalid_request(format!("cannot read the body: {e}")))
		})?;
		if bytes.len() + chunk.remaining() > BODY_LIMIT_BYTES {
			return Err(warp::reject::custom(payload_too_large()));
		}
		while chunk.has_remaining() {
			let part = chunk.chunk();
			bytes.extend_from_slice(part);
			let n = part.len();
			chunk.advance(n);
		}
	}
	Ok(Bytes::from(bytes))
}

fn payload_too_large() -> ApiError {
	ApiError::new(
		StatusCode::PAYLOAD_TOO_LARGE,
		"payload_too_large",
		format!("the request body is larger than {BODY_LIMIT_BYTES} bytes"),
	)
}

/// Parses a JSON body (empty means `{}`) and validates it.
fn parse_json<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, ApiError> {
	let body = if body.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { body };
	let value: T =
		serde_json::from_slice(body).map_err(|e| ApiError::invalid_request(e.to_string()))?;
	value.validate()?;
	Ok(value)
}

/// The `?limit=&cursor=` of list endpoints (all optional), validated.
fn page_query() -> impl Filter<Extract = (PageQuery,), Error = Rejection> + Clone {
	warp::query::raw().or(warp::any().map(String::new)).unify().and_then(|raw: String| async move {
		let query: PageQuery = serde_urlencoded::from_str(&raw).map_err(|e| {
			warp::reject::custom(ApiError::invalid_request(format!("invalid query string: {e}")))
		})?;
		query.validate().map_err(warp::reject::custom)?;
		Ok::<_, Rejection>(query)
	})
}

/// Turns every rejection into a JSON error.
async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
	Ok(rejection_error(&rejection).into_response())
}

fn rejection_error(rejection: &Rejection) -> ApiError {
	use warp::reject::{
		InvalidHeader, InvalidQuery, LengthRequired, MethodNotAllowed, MissingHeader,
		PayloadTooLarge, UnsupportedMediaType,
	};
	if rejection.is_not_found() {
		ApiError::not_found("no such endpoint")
	} else if let Some(e) = rejection.find::<ApiError>() {
		e.clone()
	} else if rejection.find::<PayloadTooLarge>().is_some() {
		payload_too_large()
	} else if rejection.find::<MethodNotAllowed>().is_some() {
		ApiError::new(
			StatusCode::METHOD_NOT_ALLOWED,
			"method_not_allowed",
			"this endpoint does not take this HTTP method",
		)
	} else if let Some(e) = rejection.find::<InvalidHeader>() {
		ApiError::invalid_request(format!("invalid header {}", e.name()))
	} else if let Some(e) = rejection.find::<MissingHeader>() {
		ApiError::invalid_request(format!("missing header {}", e.name()))
	} else if rejection.find::<InvalidQuery>().is_some() {
		ApiError::invalid_request("invalid query string")
	} else if rejection.find::<LengthRequired>().is_some() {
		ApiError::new(StatusCode::LENGTH_REQUIRED, "length_required", "Content-Length required")
	} else if rejection.find::<UnsupportedMediaType>().is_some() {
		ApiError::new(
			StatusCode::UNSUPPORTED_MEDIA_TYPE,
			"unsupported_media_type",
			"the body must be JSON",
		)
	} else {
		log_error!("unhandled rejection: {rejection:?}");
		ApiError::internal("internal error")
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use serde_json::{json, Value};

	const KEY: &str = "0123456789abcdef";

	/// The API with the handlers replaced by an echo of the parsed call: everything a
	/// request goes through before it reaches the node.
	fn app_without_node() -> impl Filter<Extract = impl Reply, Error = Infallible> + Clone {
		finish(
			authenticated_routes(Arc::from(KEY))
				.map(|call: Call| warp::reply::json(&format!("{call:?}")).into_response()),
		)
	}

	fn request(method: &str, path: &str) -> warp::test::RequestBuilder {
		warp::test::request()
			.method(method)
			.path(path)
			.header("authorization", format!("Bearer {KEY}"))
	}

	async fn send(req: warp::test::RequestBuilder) -> (StatusCode, Value) {
		let res = req.reply(&app_without_node()).await;
		assert_eq!(res.headers()["content-type"], "application/json", "{res:?}");
		let body = serde_json::from_slice(res.body()).expect("JSON body");
		(res.status(), body)
	}

	async fn call(req: warp::test::RequestBuilder) -> Call {
		req.filter(&authenticated_routes(Arc::from(KEY))).await.expect("routed")
	}

	#[tokio::test]
	async fn unauthorized_without_or_with_wrong_key() {
		let no_key = warp::test::request().method("GET").path("/v1/info");
		let res = no_key.reply(&app_without_node()).await;
		assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
		assert_eq!(res.headers()["www-authenticate"], "Bearer");
		let body: Value = serde_json::from_slice(res.body()).unwrap();
		assert_eq!(body["code"], "unauthorized");
		assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));

		for header in ["Bearer wrong", "Bearer ", "Basic MDEyMzQ1Njc4OWFiY2RlZg==", KEY] {
			let req = warp::test::request().path("/v1/info").header("authorization", header);
			let (status, body) = send(req).await;
			assert_eq!(status, StatusCode::UNAUTHORIZED, "{header}");
			assert_eq!(body["code"], "unauthorized");
		}
		// Unknown routes too: nothing is revealed without the key.
		let req = warp::test::request().path("/nope");
		assert_eq!(send(req).await.0, StatusCode::UNAUTHORIZED);
		// The right key passes.
		let (status, _) = send(request("GET", "/v1/info")).await;
		assert_eq!(status, StatusCode::OK);
	}

	#[tokio::test]
	async fn malformed_body_is_400_invalid_request() {
		let req = request("POST", "/v1/onchain/send").body("{\"address\": ");
		let (status, body) = send(req).await;
		assert_eq!(status, StatusCode::BAD_REQUEST);
		assert_eq!(body["code"], "invalid_request");
		assert!(body["message"].as_str().unwrap().contains("EOF"), "{body}");

		let req =
			request("POST", "/v1/onchain/send").json(&json!({"address": "x", "amount_sat": "5"}));
		let (status, body) = send(req).await;
		assert_eq!(status, StatusCode::BAD_REQUEST);
		assert_eq!(body["code"], "invalid_request");
		assert!(body["message"].as_str().unwrap().contains("invalid type"), "{body}");

		let req = request("POST", "/v1/payments").json(&json!({"amount_msat": 5}));
		let (status, body) = send(req).await;
		assert_eq!(status, StatusCode::BAD_REQUEST);
		assert!(body["message"].as_str().unwrap().contains("missing field `invoice`"), "{body}");

		let req = request("POST", "/v1/channels")
			.json(&json!({"node_id": "n", "address": "a", "amount_sat": -1}));
		assert_eq!(send(req).await.0, StatusCode::BAD_REQUEST);
	}

	#[tokio::test]
	async fn unknown_field_is_400_invalid_request() {
		let req = request("POST", "/v1/invoices")
			.json(&json!({"description": "coffee", "amount_msat": 1000, "amount": 1}));
		let (status, body) = send(req).await;
		assert_eq!(status, StatusCode::BAD_REQUEST);
		assert_eq!(body["code"], "invalid_request");
		assert!(body["message"].as_str().unwrap().contains("unknown field `amount`"), "{body}");

		let req = request("POST", "/v1/onchain/address").json(&json!({"type": "p2tr"}));
		assert_eq!(send(req).await.0, StatusCode::BAD_REQUEST);
	}

	#[tokio::test]
	async fn zero_amounts_are_400_invalid_amount() {
		let cases = [
			("/v1/onchain/send", json!({"address": "bcrt1q", "amount_sat": 0})),
			("/v1/channels", json!({"node_id": "02ab", "address": "h:1", "amount_sat": 0})),
			("/v1/payments/keysend", json!({"node_id": "02ab", "amount_msat": 0})),
			("/v1/payments", json!({"invoice": "lnbcrt1", "amount_msat": 0})),
			("/v1/invoices", json!({"description": "d", "amount_msat": 0})),
			("/v1/offers", json!({"description": "d", "amount_msat": 0})),
		];
		for (path, body) in cases {
			let (status, answer) = send(request("POST", path).json(&body)).await;
			assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
			assert_eq!(answer["code"], "invalid_amount", "{path}");
		}
	}

	#[tokio::test]
	async fn oversized_body_is_413() {
		let big = format!("{{\"description\": \"{}\"}}", "x".repeat(BODY_LIMIT_BYTES));
		let (status, body) = send(request("POST", "/v1/invoices").body(&big)).await;
		assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
		assert_eq!(body["code"], "payload_too_large");

		// Without a Content-Length, counted while reading.
		let chunk = || Ok::<_, warp::Error>(Bytes::from(vec![b' '; 40_000]));
		let stream = futures_stream(vec![chunk(), chunk()]);
		let e = read_body(None, stream).await.unwrap_err();
		assert_eq!(rejection_error(&e).code(), "payload_too_large");

		// Just under the limit is fine.
		let padding = " ".repeat(BODY_LIMIT_BYTES - 40);
		let ok = format!("{{\"description\": \"d\"}}{padding}");
		assert!(ok.len() <= BODY_LIMIT_BYTES);
		assert_eq!(send(request("POST", "/v1/invoices").body(&ok)).await.0, StatusCode::OK);
	}

	/// A stream over a vector of chunks, without pulling in a futures crate.
	fn futures_stream(
		chunks: Vec<Result<Bytes, warp::Error>>,
	) -> impl Stream<Item = Result<Bytes, warp::Error>> {
		struct Chunks(std::vec::IntoIter<Result<Bytes, warp::Error>>);
		impl Stream for Chunks {
			type Item = Result<Bytes, warp::Error>;
			fn poll_next(
				mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>,
			) -> std::task::Poll<Option<Self::Item>> {
				std::task::Poll::Ready(self.0.next())
			}
		}
		Chunks(chunks.into_iter())
	}

	#[tokio::test]
	async fn unknown_route_is_404_json() {
		for path in ["/", "/v1", "/v1/nope", "/v2/info", "/v1/info/extra", "/v1/channels/x/open"] {
			let (status, body) = send(request("GET", path)).await;
			assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
			assert_eq!(body["code"], "not_found");
		}
	}

	#[tokio::test]
	async fn wrong_method_is_405_json() {
		let cases = [
			("POST", "/v1/info"),
			("DELETE", "/v1/channels"),
			("GET", "/v1/onchain/send"),
			("PUT", "/v1/peers"),
			("GET", "/v1/channels/abcd/close"),
			("POST", "/v1/payments/abcd"),
		];
		for (method, path) in cases {
			let (status, body) = send(request(method, path)).await;
			assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
			assert_eq!(body["code"], "method_not_allowed");
		}
	}

	#[tokio::test]
	async fn bad_page_query_is_400() {
		for query in ["?limit=0", "?limit=1001", "?limit=x", "?cursor=abc", "?page=2"] {
			let (status, body) = send(request("GET", &format!("/v1/invoices{query}"))).await;
			assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
			assert_eq!(body["code"], "invalid_request");
		}
	}

	#[tokio::test]
	async fn routes_parse_requests() {
		let c = call(request("GET", "/v1/payments?limit=5&cursor=17.ab")).await;
		assert!(
			matches!(&c, Call::ListPayments(q) if q.limit == Some(5) && q.cursor.as_deref() == Some("17.ab")),
			"{c:?}"
		);
		let c = call(request("GET", "/v1/invoices")).await;
		assert!(matches!(&c, Call::ListInvoices(q) if *q == PageQuery::default()), "{c:?}");
		// Optional bodies: empty, or `{}`.
		let c = call(request("POST", "/v1/onchain/address")).await;
		assert!(matches!(c, Call::NewAddress(_)), "{c:?}");
		let c = call(request("POST", "/v1/channels/ab12/close")).await;
		assert!(matches!(&c, Call::CloseChannel(r) if r.channel_id == "ab12" && !r.force), "{c:?}");
		let c =
			call(request("POST", "/v1/channels/ab12/close").json(&json!({"force": true}))).await;
		assert!(matches!(&c, Call::CloseChannel(r) if r.force), "{c:?}");
		let c = call(request("DELETE", "/v1/peers/02ab")).await;
		assert!(matches!(&c, Call::DisconnectPeer(r) if r.node_id == "02ab"), "{c:?}");
		let c = call(
			request("POST", "/v1/payments/keysend")
				.json(&json!({"node_id": "02ab", "amount_msat": 5, "wait": true})),
		)
		.await;
		assert!(matches!(&c, Call::Keysend(r) if r.amount_msat == 5 && r.wait), "{c:?}");
		let c = call(request("GET", "/v1/payments/keysend")).await;
		assert!(matches!(&c, Call::GetPayment(r) if r.payment_id == "keysend"), "{c:?}");
		let c = call(request("POST", "/v1/channels").json(
			&json!({"node_id": "02ab", "address": "h:1", "amount_sat": 100000, "push_msat": null}),
		))
		.await;
		assert!(
			matches!(&c, Call::OpenChannel(r) if r.amount_sat == 100_000 && r.announce.is_none()),
			"{c:?}"
		);
		let c = call(request("GET", "/v1/invoices/ffee")).await;
		assert!(matches!(&c, Call::GetInvoice(r) if r.payment_hash == "ffee"), "{c:?}");
		let c = call(request("GET", "/v1/channels/ffee")).await;
		assert!(matches!(&c, Call::GetChannel(r) if r.channel_id == "ffee"), "{c:?}");
		let c = call(request("POST", "/v1/offers").json(&json!({"description": "d"}))).await;
		assert!(matches!(&c, Call::CreateOffer(r) if r.amount_msat.is_none()), "{c:?}");
		for (method, path, expected) in [
			("GET", "/v1/info", "Info"),
			("GET", "/v1/balance", "Balance"),
			("GET", "/v1/peers", "ListPeers"),
			("GET", "/v1/channels", "ListChannels"),
		] {
			let c = call(request(method, path)).await;
			assert_eq!(format!("{c:?}"), expected);
		}
	}

	#[tokio::test]
	async fn over_http_with_the_client() {
		use crate::client::{ApiClient, Method};
		let server = start(app_without_node(), "127.0.0.1:0".parse().unwrap()).unwrap();
		let url = format!("http://{}", server.local_addr());
		let client = ApiClient::new(&url, KEY).unwrap();

		let answer = client.request(Method::GET, "/v1/info", None).await.unwrap();
		assert_eq!(answer, json!("Info"));
		let answer = client
			.request(Method::POST, "/v1/peers", Some(json!({"node_id": "02ab", "address": "h:1"})))
			.await
			.unwrap();
		assert!(answer.as_str().unwrap().starts_with("ConnectPeer"), "{answer}");

		let e = ApiClient::new(&url, "wrong").unwrap().info().await.unwrap_err();
		assert_eq!(
			(e.status(), e.to_string().as_str()),
			(Some(401), "unauthorized: invalid API key")
		);
		let e = client.request(Method::GET, "/v1/nope", None).await.unwrap_err();
		assert_eq!((e.status(), e.code()), (Some(404), "not_found"));
		let e = client.request(Method::PUT, "/v1/info", None).await.unwrap_err();
		assert_eq!((e.status(), e.code()), (Some(405), "method_not_allowed"));
		let big = json!({"description": "x".repeat(BODY_LIMIT_BYTES)});
		let e = client.request(Method::POST, "/v1/invoices", Some(big)).await.unwrap_err();
		assert_eq!((e.status(), e.code()), (Some(413), "payload_too_large"));
		let e = client.send_onchain("bcrt1q", 0).await.unwrap_err();
		assert_eq!((e.status(), e.code()), (Some(400), "invalid_amount"));

		server.shutdown().await;
		let e = client.info().await.unwrap_err();
		assert_eq!(e.code(), "connection_failed", "{e}");
	}

	#[tokio::test]
	async fn binding_a_used_port_is_an_io_error() {
		let filter = warp::any().map(|| "ok".into_response());
		let first = start(filter, "127.0.0.1:0".parse().unwrap()).unwrap();
		let e = start(filter, first.local_addr()).unwrap_err();
		assert_eq!(e.kind(), io::ErrorKind::AddrInUse, "{e}");
		let addr = first.local_addr();
		first.shutdown().await;
		// The port is free again.
		let again = start(warp::any().map(|| "ok".into_response()), addr).unwrap();
		again.shutdown().await;
	}
}
