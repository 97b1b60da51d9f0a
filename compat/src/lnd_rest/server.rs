//! The HTTPS listener: TLS on every connection (a handshake that does not finish within
//! [`HANDSHAKE_TIMEOUT`] is dropped), at most [`MAX_CONNECTIONS`] connections at once, request
//! headers within [`HEADER_TIMEOUT`], bodies of at most [`MAX_BODY_BYTES`]. Each request is
//! authorized by its macaroon before its path or body is looked at; then the route table
//! (`routes`) says which scope it needs and which handler answers. Every answer is JSON in
//! LND's shape; a stream is a chunked body of JSON lines.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fulgur_node::Node;
use hyper::body::HttpBody;
use hyper::service::service_fn;
use hyper::{Body, Request, Response};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;

use super::encoding::{Code, LndError};
use super::macaroons::{allows, permission_denied, Macaroons, MACAROON_HEADER};
use super::routes::{self, Call, Reply};

/// Most connections served at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 128;
/// Most streams (subscriptions, payments followed) open at once.
pub const MAX_STREAMS: usize = 64;
/// Time a client has to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a client has to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request body read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every request shares.
pub(super) struct Shared {
	pub node: Node,
	/// The alias `getinfo` answers with.
	pub alias: String,
	pub macaroons: Macaroons,
	pub streams: Arc<Semaphore>,
	pub stop: watch::Receiver<bool>,
}

/// Accepts connections on `listener` until `stop` turns true.
pub(super) async fn accept_loop(
	listener: TcpListener, acceptor: TlsAcceptor, shared: Arc<Shared>,
	mut stop: watch::Receiver<bool>,
) {
	let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
	loop {
		let permit = tokio::select! {
			permit = Arc::clone(&connections).acquire_owned() => match permit {
				Ok(permit) => permit,
				Err(_) => return,
			},
			_ = stop.changed() => return,
		};
		let (tcp, _peer) = tokio::select! {
			accepted = listener.accept() => match accepted {
				Ok(accepted) => accepted,
				// Out of file descriptors and the like: wait, then go on.
				Err(_) => {
					tokio::time::sleep(Duration::from_millis(100)).await;
					continue;
				}
			},
			_ = stop.changed() => return,
		};
		let (acceptor, shared) = (acceptor.clone(), Arc::clone(&shared));
		let mut conn_stop = stop.clone();
		tokio::spawn(async move {
			let _permit = permit;
			let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
			else {
				return;
			};
			let service = service_fn(move |req| {
				let shared = Arc::clone(&shared);
				async move { Ok::<_, Infallible>(answer(&shared, req).await) }
			});
			let mut http = hyper::server::conn::Http::new();
			http.http1_only(true).http1_header_read_timeout(HEADER_TIMEOUT);
			let conn = http.serve_connection(tls, service);
			tokio::pin!(conn);
			tokio::select! {
				_ = conn.as_mut() => {},
				_ = conn_stop.changed() => {
					conn.as_mut().graceful_shutdown();
					let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
				}
			}
		});
	}
}

/// One request: authorize, route, read the body, handle.
async fn answer(shared: &Shared, req: Request<Body>) -> Response<Body> {
	match handle(shared, req).await {
		Ok(Reply::Json(value)) => json_response(200, &value),
		Ok(Reply::Stream(body)) => Response::builder()
			.status(200)
			.header("content-type", "application/json")
			.body(body)
			.unwrap_or_default(),
		Ok(Reply::StreamError(e)) => {
			json_response(e.code.http_status(), &serde_json::json!({ "error": e.body() }))
		}
		Err(e) => json_response(e.code.http_status(), &e.body()),
	}
}

async fn handle(shared: &Shared, req: Request<Body>) -> Result<Reply, LndError> {
	let header = req.headers().get(MACAROON_HEADER).map(|v| v.as_bytes());
	let scope = shared.macaroons.authorize(header)?;
	let (parts, body) = req.into_parts();
	let path = parts.uri.path().to_string();
	let query = parts.uri.query().unwrap_or_default().to_string();
	let route = routes::find(&parts.method, &path)
		.ok_or_else(|| LndError::new(Code::NotFound, "Not Found"))?;
	if !allows(scope, route.needs) {
		return Err(permission_denied());
	}
	let body = read_body(body).await?;
	let call = Call { query: routes::parse_query(&query)?, body };
	routes::dispatch(shared, route.endpoint, call).await
}

/// The body, up to [`MAX_BODY_BYTES`].
async fn read_body(mut body: Body) -> Result<Vec<u8>, LndError> {
	let too_large = || {
		LndError::new(Code::ResourceExhausted, format!("request body over {MAX_BODY_BYTES} bytes"))
	};
	if body.size_hint().lower() > MAX_BODY_BYTES as u64 {
		return Err(too_large());
	}
	let mut out = Vec::new();
	while let Some(chunk) = body.data().await {
		let chunk = chunk.map_err(|e| LndError::invalid(format!("reading the body: {e}")))?;
		if out.len() + chunk.len() > MAX_BODY_BYTES {
			return Err(too_large());
		}
		out.extend_from_slice(&chunk);
	}
	Ok(out)
}

fn json_response(status: u16, value: &serde_json::Value) -> Response<Body> {
	Response::builder()
		.status(status)
		.header("content-type", "application/json")
		.body(Body::from(value.to_string()))
		.unwrap_or_default()
}

/// The address actually bound (port 0 picks a free one).
pub(super) fn bound(listener: &TcpListener, asked: SocketAddr) -> SocketAddr {
	listener.local_addr().unwrap_or(asked)
}
