//! Phoenixd's HTTP API over the node: what LNbits' `PhoenixdWallet` and other phoenixd
//! clients speak, on its own port.
//!
//! Invariants: every request is authorized from its `Authorization` header before anything
//! else of it is read (a wrong password gets 401 whatever the path); bodies are read up to
//! [`MAX_BODY_BYTES`] and no further; WebSockets are at most [`MAX_WEBSOCKETS`] at once;
//! bad input gets a phoenixd-shaped answer (plain text, 4xx), never a panic. Payment logic
//! stays in the node: each route maps onto one of its operations ([`routes`]).

mod auth;
mod routes;
#[cfg(test)]
mod tests;
mod websocket;
pub mod wire;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use fulgur_node::Node;
use tokio::sync::{oneshot, watch, Semaphore};
use warp::Filter;

pub use auth::{limited_password_path, password_path, Passwords};

/// The largest request body read (a form with a BOLT11 invoice is well under it).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// WebSockets open at once; more are refused with 503.
pub const MAX_WEBSOCKETS: usize = 16;
/// How long shutting down waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What the routes share.
pub(crate) struct Surface {
	pub(crate) passwords: Passwords,
	pub(crate) node: OnceLock<Node>,
	pub(crate) websockets: Arc<Semaphore>,
	pub(crate) closing: watch::Receiver<bool>,
}

/// The running surface.
pub struct PhoenixdServer {
	local_addr: SocketAddr,
	surface: Arc<Surface>,
	shutdown: oneshot::Sender<()>,
	closing: watch::Sender<bool>,
	task: tokio::task::JoinHandle<()>,
}

impl PhoenixdServer {
	/// The address it listens on.
	pub fn local_addr(&self) -> SocketAddr {
		self.local_addr
	}

	/// `http://ADDR`.
	pub fn url(&self) -> String {
		format!("http://{}", self.local_addr)
	}

	/// Hands the running node to the surface; until then, authorized requests get 503.
	pub fn attach(&self, node: Node) {
		let _ = self.surface.node.set(node);
	}

	/// Ends the WebSockets, stops accepting and waits for requests in flight (at most
	/// [`SHUTDOWN_GRACE`]).
	pub async fn shutdown(self) {
		let PhoenixdServer { shutdown, closing, mut task, .. } = self;
		closing.send_replace(true);
		let _ = shutdown.send(());
		if tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err() {
			task.abort();
		}
	}
}

/// Serves the surface on `bind` with `passwords`; the node comes later
/// ([`PhoenixdServer::attach`]). Errors: the address cannot be bound.
pub fn serve(bind: SocketAddr, passwords: Passwords) -> Result<PhoenixdServer, String> {
	let (closing, closing_rx) = watch::channel(false);
	let surface = Arc::new(Surface {
		passwords,
		node: OnceLock::new(),
		websockets: Arc::new(Semaphore::new(MAX_WEBSOCKETS)),
		closing: closing_rx,
	});
	let (shutdown, stop) = oneshot::channel::<()>();
	let signal = async move {
		let _ = stop.await;
	};
	let (local_addr, run) = warp::serve(filter(Arc::clone(&surface)))
		.try_bind_with_graceful_shutdown(bind, signal)
		.map_err(|e| format!("phoenixd surface on {bind}: {e}"))?;
	let task = tokio::spawn(run);
	Ok(PhoenixdServer { local_addr, surface, shutdown, closing, task })
}

fn filter(
	surface: Arc<Surface>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Infallible> + Clone + Send + Sync + 'static
{
	let with_surface = {
		let surface = Arc::clone(&surface);
		warp::any().map(move || Arc::clone(&surface))
	};
	let websocket = warp::path("websocket")
		.and(warp::path::end())
		.and(warp::header::headers_cloned())
		.and(warp::ws())
		.and(with_surface.clone())
		.map(websocket::upgrade);
	let http = warp::method()
		.and(warp::path::full())
		.and(warp::header::headers_cloned())
		.and(warp::body::stream())
		.and(with_surface)
		.then(routes::dispatch);
	websocket.or(http).unify().recover(routes::recover).unify()
}
