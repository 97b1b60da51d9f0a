//! The tower's HTTP connections: kept alive, so a client sends request after request on one
//! connection, and bounded, since anyone may connect. At most
//! [`ConnectionLimits::max_connections`] are open at once (the accept loop waits for one to
//! end before it takes another); a connection is closed once it has been idle (no request in
//! flight) for [`ConnectionLimits::idle_timeout`], when a request head takes longer than
//! that to arrive, when a request is not answered within
//! [`ConnectionLimits::request_timeout`], and after
//! [`ConnectionLimits::max_requests_per_connection`] requests (the last answer carries
//! `connection: close`). Body caps stay the API's ([`super::http`]).

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::header::{HeaderValue, CONNECTION};
use hyper::server::conn::Http;
use hyper::service::{service_fn, Service};
use hyper::{Body, Request, Response};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::server::http::app;
use crate::server::options::{ConnectionLimits, CONNECTION_BUFFER_BYTES};
use crate::server::{log, TowerCore};

/// How long a stopping server waits for its connections to finish their requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The address a request came from, put in its extensions for the API's filters (the rate
/// limit of `/register`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PeerAddr(pub SocketAddr);

/// Counters of the connections, for tests and the benchmark.
#[derive(Default, Debug)]
pub struct ConnectionStats {
	accepted: AtomicU64,
	open: AtomicU64,
	requests: AtomicU64,
}

impl ConnectionStats {
	/// Connections accepted so far.
	pub fn accepted(&self) -> u64 {
		self.accepted.load(Ordering::Relaxed)
	}

	/// Connections open now.
	pub fn open(&self) -> u64 {
		self.open.load(Ordering::Relaxed)
	}

	/// Requests received so far, on all connections.
	pub fn requests(&self) -> u64 {
		self.requests.load(Ordering::Relaxed)
	}
}

/// One connection's activity, seen by its idle watchdog.
struct Activity {
	started: Instant,
	/// Requests being answered now.
	in_flight: AtomicU32,
	/// When the last request ended (or the connection opened), ms since `started`.
	last_ms: AtomicU64,
}

impl Activity {
	fn touch(&self) {
		let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
		self.last_ms.store(ms, Ordering::Release);
	}

	/// When the connection becomes idle for too long, if nothing happens before.
	fn idle_deadline(&self, idle: Duration) -> Instant {
		self.started + Duration::from_millis(self.last_ms.load(Ordering::Acquire)) + idle
	}
}

/// Ends a request's place in flight, however its future ends (answered, failed, dropped).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
	fn drop(&mut self) {
		self.0.touch();
		self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
	}
}

/// The answer was not ready within the request timeout: the connection is dropped.
#[derive(Debug)]
struct RequestTimedOut;

impl std::fmt::Display for RequestTimedOut {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str("request not answered in time")
	}
}

impl std::error::Error for RequestTimedOut {}

/// Accepts connections on `listener` until `stop` turns true, then lets every open connection
/// finish the request it is answering, and returns once all are closed (or after
/// [`SHUTDOWN_GRACE`]).
pub(crate) async fn serve(
	listener: TcpListener, core: Arc<TowerCore>, limits: ConnectionLimits,
	stats: Arc<ConnectionStats>, mut stop: watch::Receiver<bool>,
) {
	let places = Arc::new(Semaphore::new(limits.max_connections.max(1)));
	let service = warp::service(app(core));
	let mut http = Http::new();
	http.http1_only(true)
		.http1_keep_alive(true)
		.http1_header_read_timeout(limits.idle_timeout)
		.max_buf_size(CONNECTION_BUFFER_BYTES);
	let http = Arc::new(http);
	loop {
		// A place first, so a full tower leaves newcomers in the kernel's backlog.
		let place = tokio::select! {
			place = Arc::clone(&places).acquire_owned() => place,
			_ = stop.wait_for(|stopped| *stopped) => break,
		};
		let Ok(place) = place else { break };
		let accepted = tokio::select! {
			accepted = listener.accept() => accepted,
			_ = stop.wait_for(|stopped| *stopped) => break,
		};
		match accepted {
			Ok((stream, peer)) => {
				stats.accepted.fetch_add(1, Ordering::Relaxed);
				let connection = Connection {
					http: Arc::clone(&http),
					service: service.clone(),
					limits,
					stats: Arc::clone(&stats),
					peer,
				};
				tokio::spawn(connection.run(stream, place, stop.clone()));
			}
			Err(e) => {
				// Out of file descriptors, typically: wait rather than spin.
				log::warn!("accepting a connection: {e}");
				drop(place);
				tokio::time::sleep(Duration::from_millis(100)).await;
			}
		}
	}
	// Every place back means every connection is closed; one still sending its request head
	// or body slowly is not waited for past the grace period (it ends with the runtime).
	let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
	let _ = tokio::time::timeout(SHUTDOWN_GRACE, places.acquire_many(all)).await;
}

struct Connection<S> {
	http: Arc<Http>,
	service: S,
	limits: ConnectionLimits,
	stats: Arc<ConnectionStats>,
	peer: SocketAddr,
}

impl<S> Connection<S>
where
	S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
		+ Clone
		+ Send
		+ 'static,
	S::Future: Send + 'static,
{
	async fn run(
		self, stream: TcpStream, place: OwnedSemaphorePermit, mut stop: watch::Receiver<bool>,
	) {
		let _place = place;
		self.stats.open.fetch_add(1, Ordering::Relaxed);
		// Answers are small and each waits for the one before on a kept-alive connection:
		// Nagle's algorithm would hold them for the peer's delayed ACK.
		let _ = stream.set_nodelay(true);
		let activity = Arc::new(Activity {
			started: Instant::now(),
			in_flight: AtomicU32::new(0),
			last_ms: AtomicU64::new(0),
		});
		let (limits, peer, stats) = (self.limits, self.peer, Arc::clone(&self.stats));
		let served = Arc::new(AtomicU32::new(0));
		let request_activity = Arc::clone(&activity);
		let service = service_fn(move |mut request: Request<Body>| {
			let mut inner = self.service.clone();
			request.extensions_mut().insert(PeerAddr(peer));
			stats.requests.fetch_add(1, Ordering::Relaxed);
			let number = served.fetch_add(1, Ordering::AcqRel).saturating_add(1);
			request_activity.in_flight.fetch_add(1, Ordering::AcqRel);
			let in_flight = InFlight(Arc::clone(&request_activity));
			async move {
				let _in_flight = in_flight;
				let answer = tokio::time::timeout(limits.request_timeout, inner.call(request));
				let mut response = match answer.await {
					Ok(Ok(response)) => response,
					Ok(Err(never)) => match never {},
					Err(_) => return Err(RequestTimedOut),
				};
				if number >= limits.max_requests_per_connection {
					response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
				}
				Ok(response)
			}
		});
		let connection = self.http.serve_connection(stream, service);
		tokio::pin!(connection);
		let mut closing = false;
		loop {
			let idle_deadline = activity.idle_deadline(limits.idle_timeout);
			tokio::select! {
				result = connection.as_mut() => {
					if let Err(e) = result {
						log::debug!("connection from {peer}: {e}");
					}
					break;
				}
				_ = tokio::time::sleep_until(idle_deadline), if !closing => {
					let idle = activity.in_flight.load(Ordering::Acquire) == 0
						&& activity.idle_deadline(limits.idle_timeout) <= Instant::now();
					if idle {
						connection.as_mut().graceful_shutdown();
						closing = true;
					}
				}
				_ = stop.wait_for(|stopped| *stopped), if !closing => {
					connection.as_mut().graceful_shutdown();
					closing = true;
				}
			}
		}
		self.stats.open.fetch_sub(1, Ordering::Relaxed);
	}
}

/// Binds `bind` for [`serve`] (must be called within a tokio runtime).
pub(crate) fn bind(bind: SocketAddr) -> io::Result<TcpListener> {
	let listener = std::net::TcpListener::bind(bind).map_err(|e| {
		io::Error::new(io::ErrorKind::AddrInUse, format!("cannot listen on {bind}: {e}"))
	})?;
	listener.set_nonblocking(true)?;
	TcpListener::from_std(listener)
}
