//! The server: binding, shutdown, the whole filter, and the rejection mapping.
//!
//! A request goes through: API key check (401) → the key's scope against the route the
//! table (`fulgur_api::routes`) finds for the method and path (403; nothing of the query or body is
//! read before) → the request parser (`dispatch.rs`: path, method, query or JSON body parsed and
//! validated into a `Call`) → `dispatch` (the handler, with the node, on its own task) →
//! [`recover`] (any rejection becomes a JSON error) → the request log line.
//! Everything up to the `Call` needs no node, which is what the unit tests exercise.

use std::convert::Infallible;
use std::error::Error as _;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use fulgur_api::ErrorCode;
use fulgur_node::{Node, Startup};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::auth::Keys;
use crate::convert::ToWire;
use crate::dispatch::{authenticated_routes, run};
use crate::error::ApiError;
use crate::extract::payload_too_large;

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
	closing: watch::Sender<bool>,
	task: JoinHandle<()>,
	node: NodeSlot,
}

/// The node the API serves, once it runs; before, the start-up status it answers from.
#[derive(Clone)]
struct NodeSlot {
	node: Arc<OnceLock<Node>>,
	startup: Option<Arc<Startup>>,
}

impl std::fmt::Debug for NodeSlot {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("NodeSlot").field("running", &self.node.get().is_some()).finish()
	}
}

impl ApiServer {
	/// Hands the started node to an API served with [`serve_while_starting`]: from now on
	/// every route is answered by it.
	pub fn attach(&self, node: Node) {
		if self.node.node.set(node).is_ok() {
			log_info!("API on {}: the node is running", self.local_addr);
		}
	}

	/// The address the server listens on (with the actual port when bound to port 0).
	pub fn local_addr(&self) -> SocketAddr {
		self.local_addr
	}

	/// Stops accepting connections and waits for the requests in flight, at most
	/// 10 seconds; requests still running then (a payment with `wait`) finish on their own
	/// but the server no longer waits for them.
	pub async fn shutdown(self) {
		let ApiServer { local_addr, shutdown, closing, mut task, .. } = self;
		// Event streams never end on their own: tell them first.
		closing.send_replace(true);
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
	let slot = NodeSlot { node: Arc::new(OnceLock::from(node)), startup: None };
	serve_slot(slot, config)
}

/// Starts the HTTP API before the node runs: until [`ApiServer::attach`], `GET /v1/info`
/// with the admin key answers what the start is doing or waiting for (`synced: false`,
/// `sync_status`), and every other request 503 `starting` with the same reason.
pub async fn serve_while_starting(
	startup: Arc<Startup>, config: ApiConfig,
) -> io::Result<ApiServer> {
	serve_slot(NodeSlot { node: Arc::new(OnceLock::new()), startup: Some(startup) }, config)
}

fn serve_slot(slot: NodeSlot, config: ApiConfig) -> io::Result<ApiServer> {
	if config.api_key.trim().is_empty() {
		return Err(io::Error::new(io::ErrorKind::InvalidInput, "the API key must not be empty"));
	}
	let (closing, closing_rx) = watch::channel(false);
	let scoped = slot.clone();
	let admin: Arc<str> = Arc::from(config.api_key);
	let keys =
		Keys::new(Arc::clone(&admin), move |token| scoped.node.get()?.authenticate_api_key(token));
	let filter = app(slot.clone(), keys, admin, closing_rx);
	let server = start(filter, config.bind, closing, slot)?;
	log_info!("API listening on http://{}", server.local_addr);
	Ok(server)
}

/// Binds `filter` and runs it on a task until shut down.
fn start<F>(
	filter: F, bind: SocketAddr, closing: watch::Sender<bool>, node: NodeSlot,
) -> io::Result<ApiServer>
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
	Ok(ApiServer { local_addr, shutdown, closing, task, node })
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

/// The whole API as one filter: auth, request parser, handlers, JSON errors, request log; while
/// the node starts, the start-up answers instead.
fn app(
	slot: NodeSlot, keys: Keys, admin: Arc<str>, closing: watch::Receiver<bool>,
) -> impl Filter<Extract = impl Reply, Error = Infallible> + Clone {
	let waiting = slot.clone();
	let starting = warp::method()
		.and(warp::path::full())
		.and(warp::header::headers_cloned())
		.and_then(move |method, path: warp::path::FullPath, headers: warp::http::HeaderMap| {
			let (waiting, admin) = (waiting.clone(), Arc::clone(&admin));
			async move {
				let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
				let info = method == warp::http::Method::GET && path.as_str() == "/v1/info";
				starting_answer(&waiting, info, auth, &admin)
			}
		});
	let node = warp::any().and_then(move || {
		let slot = slot.clone();
		async move {
			slot.node.get().cloned().ok_or_else(|| warp::reject::custom(starting_error(&slot)))
		}
	});
	let closing = warp::any().map(move || closing.clone());
	let api = authenticated_routes(keys).and(node).and(closing).then(run);
	// The dashboard page is public (its data calls carry the key), so it comes first.
	finish(crate::dashboard::routes().or(starting).unify().or(api).unify())
}

/// While the node starts: `GET /v1/info` with the admin key gets the start-up info, anything
/// else 503 `starting`. Once it runs: not handled here.
fn starting_answer(
	slot: &NodeSlot, wants_info: bool, authorization: Option<&str>, admin: &str,
) -> Result<Response, Rejection> {
	if slot.node.get().is_some() {
		return Err(warp::reject::not_found());
	}
	let is_admin = authorization
		.and_then(|h| h.trim().split_once(' '))
		.filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
		.is_some_and(|(_, token)| {
			fulgur_node::constant_time_eq(token.trim().as_bytes(), admin.as_bytes())
		});
	let info = slot.startup.as_ref().and_then(|startup| startup.info());
	match info {
		Some(info) if is_admin && wants_info => {
			Ok(warp::reply::json(&info.into_wire()).into_response())
		}
		_ => Ok(starting_error(slot).into_response()),
	}
}

fn starting_error(slot: &NodeSlot) -> ApiError {
	let status = slot.startup.as_ref().map_or_else(|| "starting".to_string(), |s| s.status());
	ApiError::new(ErrorCode::Starting, format!("the node is starting: {status}"))
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
		ApiError::new(ErrorCode::MethodNotAllowed, "this endpoint does not take this HTTP method")
	} else if let Some(e) = rejection.find::<InvalidHeader>() {
		ApiError::invalid_request(format!("invalid header {}", e.name()))
	} else if let Some(e) = rejection.find::<MissingHeader>() {
		ApiError::invalid_request(format!("missing header {}", e.name()))
	} else if rejection.find::<InvalidQuery>().is_some() {
		ApiError::invalid_request("invalid query string")
	} else if rejection.find::<LengthRequired>().is_some() {
		ApiError::new(ErrorCode::LengthRequired, "Content-Length required")
	} else if rejection.find::<UnsupportedMediaType>().is_some() {
		ApiError::new(ErrorCode::UnsupportedMediaType, "the body must be JSON")
	} else {
		log_error!("unhandled rejection: {rejection:?}");
		ApiError::internal("internal error")
	}
}

#[cfg(test)]
mod tests;
