//! The HTTP JSON API: `POST /register`, `/add_appointment`, `/get_appointment`,
//! `/get_subscription_info` and `GET /ping`, answering errors as `{error, error_code}` with
//! teos's codes and statuses. Any bad input gets its error; nothing a client sends can stop
//! the tower. `/register` is rate limited per source address before its body is read (429
//! with code 65).

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::api::{
	AddAppointmentRequest, GetAppointmentRequest, GetSubscriptionInfoRequest, RegisterRequest,
};
use crate::errors::{ApiError, ErrorCode};
use crate::server::connections::{self, ConnectionStats, PeerAddr};
use crate::server::log;
use crate::server::rate_limit::Limited;
use crate::server::TowerCore;

/// A rejection carrying a teos error.
#[derive(Debug)]
struct Rejected(ApiError);

impl warp::reject::Reject for Rejected {}

/// The JSON error response.
fn error_response(e: &ApiError) -> Response {
	let status =
		StatusCode::from_u16(e.error_code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
	warp::reply::with_status(warp::reply::json(e), status).into_response()
}

/// Maps a serde error to teos's code for it.
pub(crate) fn parse_error(e: &serde_json::Error) -> ApiError {
	use serde_json::error::Category;
	let message = e.to_string();
	let code = match e.classify() {
		Category::Data => {
			let lower = message.to_ascii_lowercase();
			if lower.contains("expected struct") {
				// The body as a whole is not an object.
				ErrorCode::InvalidRequestFormat
			} else if lower.contains("missing field") {
				ErrorCode::MissingField
			} else if lower.contains("invalid type") {
				ErrorCode::WrongFieldType
			} else if lower.contains("wrong size") {
				ErrorCode::WrongFieldSize
			} else if lower.contains("hex")
				|| lower.contains("invalid public key")
				|| lower.contains("invalid value")
			{
				ErrorCode::WrongFieldFormat
			} else {
				ErrorCode::InvalidRequestFormat
			}
		}
		Category::Syntax | Category::Eof | Category::Io => ErrorCode::InvalidRequestFormat,
	};
	ApiError::new(code, format!("invalid request: {message}"))
}

/// A JSON body of at most `limit` bytes, parsed.
fn json_body<T: DeserializeOwned + Send>(
	limit: u64,
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone {
	warp::header::optional::<u64>("content-length").and(warp::body::stream()).and_then(
		move |length: Option<u64>, body| async move {
			let body = read_body(length, body, limit).await?;
			serde_json::from_slice::<T>(&body)
				.map_err(|e| warp::reject::custom(Rejected(parse_error(&e))))
		},
	)
}

/// Reads the body, refusing it as soon as it is known to be over `limit` (announced or
/// received), so an oversized body is never buffered whole.
async fn read_body<S, B>(length: Option<u64>, body: S, limit: u64) -> Result<Vec<u8>, Rejection>
where
	S: warp::Stream<Item = Result<B, warp::Error>>,
	B: warp::Buf,
{
	let too_large = || {
		let e = ApiError::new(
			ErrorCode::AppointmentFieldTooBig,
			format!("request body over {limit} bytes"),
		);
		warp::reject::custom(TooLarge(e))
	};
	if length.is_some_and(|n| n > limit) {
		return Err(too_large());
	}
	let mut body = std::pin::pin!(body);
	let mut bytes = Vec::new();
	while let Some(chunk) = std::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await {
		let mut chunk = chunk.map_err(|e| {
			let e = ApiError::new(
				ErrorCode::InvalidRequestFormat,
				format!("cannot read the body: {e}"),
			);
			warp::reject::custom(Rejected(e))
		})?;
		if (bytes.len() + chunk.remaining()) as u64 > limit {
			return Err(too_large());
		}
		while chunk.has_remaining() {
			let part = chunk.chunk();
			bytes.extend_from_slice(part);
			let n = part.len();
			chunk.advance(n);
		}
	}
	Ok(bytes)
}

/// A body over the limit: 413 with code 34 (only the blob can make a request that large).
#[derive(Debug)]
struct TooLarge(ApiError);

impl warp::reject::Reject for TooLarge {}

/// Passes when the source address may register once more now (taking one from its
/// allowance); rejects with 429 otherwise.
fn registration_allowed<C>(with_core: C) -> impl Filter<Extract = (), Error = Rejection> + Clone
where
	C: Filter<Extract = (Arc<TowerCore>,), Error = Infallible> + Clone + Send,
{
	warp::ext::optional::<PeerAddr>()
		.and(with_core)
		.and_then(|remote: Option<PeerAddr>, core: Arc<TowerCore>| async move {
			// Without a peer address (not over TCP) every such caller shares one allowance.
			let ip = remote.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |PeerAddr(addr)| addr.ip());
			match core.registrations.check(ip, Instant::now()) {
				Ok(()) => Ok(()),
				Err(limited) => {
					let message = match limited {
						Limited::Address(wait) => format!(
							"too many registrations from this address; try again in {} s",
							wait.as_secs().max(1)
						),
						Limited::Busy => {
							"too many addresses are registering; try again later".to_string()
						}
					};
					let e = ApiError::new(ErrorCode::RegistrationResourceExhausted, message);
					Err(warp::reject::custom(RateLimited(e)))
				}
			}
		})
		.untuple_one()
}

/// Too many registrations: 429 with code 65.
#[derive(Debug)]
struct RateLimited(ApiError);

impl warp::reject::Reject for RateLimited {}

/// The JSON answer, or the error.
fn reply<T: Serialize>(result: Result<T, ApiError>) -> Response {
	match result {
		Ok(value) => warp::reply::json(&value).into_response(),
		Err(e) => error_response(&e),
	}
}

/// The whole API as one filter.
pub(crate) fn app(
	core: Arc<TowerCore>,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
	use warp::{get, path, post};
	let limit = core.limits.body_limit();
	let with_core = warp::any().map(move || Arc::clone(&core));

	let register = path!("register")
		.and(post())
		.and(registration_allowed(with_core.clone()))
		.and(json_body(limit))
		.and(with_core.clone())
		.then(|req: RegisterRequest, core: Arc<TowerCore>| async move {
			reply(core.register(req.user_id).await)
		});
	let add =
		path!("add_appointment").and(post()).and(json_body(limit)).and(with_core.clone()).then(
			|req: AddAppointmentRequest, core: Arc<TowerCore>| async move {
				reply(core.add_appointment(req).await)
			},
		);
	let get_appointment =
		path!("get_appointment").and(post()).and(json_body(limit)).and(with_core.clone()).then(
			|req: GetAppointmentRequest, core: Arc<TowerCore>| async move {
				reply(core.get_appointment(req).await)
			},
		);
	let subscription =
		path!("get_subscription_info").and(post()).and(json_body(limit)).and(with_core).then(
			|req: GetSubscriptionInfoRequest, core: Arc<TowerCore>| async move {
				reply(core.get_subscription_info(req).await)
			},
		);
	let ping = path!("ping").and(get()).map(|| StatusCode::OK.into_response());

	register
		.or(add)
		.unify()
		.or(get_appointment)
		.unify()
		.or(subscription)
		.unify()
		.or(ping)
		.unify()
		.recover(recover)
		.unify()
		.with(warp::log::custom(|info| {
			log::debug!("{} {} {}", info.method(), info.path(), info.status().as_u16())
		}))
}

async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
	use warp::reject::MethodNotAllowed;
	let (status, error) = if let Some(Rejected(e)) = rejection.find::<Rejected>() {
		return Ok(error_response(e));
	} else if let Some(TooLarge(e)) = rejection.find::<TooLarge>() {
		(StatusCode::PAYLOAD_TOO_LARGE, e.clone())
	} else if let Some(RateLimited(e)) = rejection.find::<RateLimited>() {
		(StatusCode::TOO_MANY_REQUESTS, e.clone())
	} else if rejection.is_not_found() {
		(StatusCode::NOT_FOUND, ApiError::new(ErrorCode::InvalidRequestFormat, "no such endpoint"))
	} else if rejection.find::<MethodNotAllowed>().is_some() {
		let e = ApiError::new(ErrorCode::InvalidRequestFormat, "method not allowed here");
		(StatusCode::METHOD_NOT_ALLOWED, e)
	} else {
		log::warn!("unhandled rejection: {rejection:?}");
		(StatusCode::BAD_REQUEST, ApiError::new(ErrorCode::InvalidRequestFormat, "bad request"))
	};
	Ok(warp::reply::with_status(warp::reply::json(&error), status).into_response())
}

/// A running HTTP server ([`connections`]: kept alive, bounded); dropping it stops it.
pub struct HttpServer {
	local_addr: SocketAddr,
	stop: watch::Sender<bool>,
	stats: Arc<ConnectionStats>,
	task: Option<JoinHandle<()>>,
}

impl HttpServer {
	/// Listens on `bind` (port 0 picks one).
	pub(crate) fn start(core: Arc<TowerCore>, bind: SocketAddr) -> io::Result<HttpServer> {
		let listener = connections::bind(bind)?;
		let local_addr = listener.local_addr()?;
		let (stop, stopped) = watch::channel(false);
		let stats = Arc::new(ConnectionStats::default());
		let limits = core.connection_limits;
		let task =
			tokio::spawn(connections::serve(listener, core, limits, Arc::clone(&stats), stopped));
		Ok(HttpServer { local_addr, stop, stats, task: Some(task) })
	}

	/// Where it listens.
	pub fn local_addr(&self) -> SocketAddr {
		self.local_addr
	}

	/// Connections accepted, open, and requests received.
	pub fn connections(&self) -> &ConnectionStats {
		&self.stats
	}

	/// Stops accepting, lets every connection finish the request it is answering, and waits
	/// until all are closed (a few seconds at most).
	pub async fn shutdown(mut self) {
		let _ = self.stop.send(true);
		if let Some(task) = self.task.take() {
			let _ = task.await;
		}
	}
}

impl Drop for HttpServer {
	fn drop(&mut self) {
		let _ = self.stop.send(true);
	}
}
