//! LND's REST API over the node (see the crate documentation), on its own port, over TLS
//! only, authorized by macaroon files; every endpoint maps onto one of the node's operations.
//!
//! Modules, one concern each: `encoding` (LND's JSON rules and error shape), `files`, `tls`
//! (the certificate), `macaroons` (who may call what), `server` (the listener and its limits),
//! `routes` (the route table), and the endpoints: `info` (getinfo, balances, channels),
//! `invoices` + `invoice_wire` (invoices and hold invoices), `streams` (invoice
//! subscriptions), `router` (sending and tracking payments), `payments` (the payment list),
//! `peers` (peers, channel opening, addresses).
//!
//! Files in `DATA_DIR/lnd/`: `tls.cert`, `tls.key`, `admin.macaroon`, `invoice.macaroon`,
//! `readonly.macaroon` (made on first start, kept after).

mod closed;
pub mod encoding;
mod files;
mod info;
mod invoice_wire;
mod invoices;
mod macaroons;
mod payments;
mod peers;
mod router;
mod routes;
mod server;
mod streams;
mod tls;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fulgur_node::{ApiScope, Node};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

pub use info::LND_VERSION;
pub use macaroons::MACAROON_HEADER;

/// How to serve the LND surface.
#[derive(Clone, Debug)]
pub struct LndRestConfig {
	/// The address to listen on (127.0.0.1 unless configured otherwise; port 0 picks one).
	pub bind: SocketAddr,
	/// The node's data directory: the surface keeps its files in `lnd/` there.
	pub data_dir: PathBuf,
	/// The alias `getinfo` answers with.
	pub alias: String,
}

/// A running LND surface.
pub struct LndRest {
	local_addr: SocketAddr,
	lnd_dir: PathBuf,
	macaroons: macaroons::Macaroons,
	stop: watch::Sender<bool>,
	task: JoinHandle<()>,
}

impl LndRest {
	/// The address it listens on.
	pub fn local_addr(&self) -> SocketAddr {
		self.local_addr
	}

	/// `https://127.0.0.1:PORT`-style URL of the surface.
	pub fn url(&self) -> String {
		format!("https://{}", self.local_addr)
	}

	/// The TLS certificate clients pin (`lnd/tls.cert`).
	pub fn tls_cert_path(&self) -> PathBuf {
		self.lnd_dir.join("tls.cert")
	}

	/// The macaroon file of `scope`.
	pub fn macaroon_path(&self, scope: ApiScope) -> PathBuf {
		self.lnd_dir.join(macaroons::file_name(scope))
	}

	/// The macaroon of `scope` in hex, as clients send it.
	pub fn macaroon_hex(&self, scope: ApiScope) -> String {
		self.macaroons.hex(scope)
	}

	/// Stops listening and ends every connection and stream.
	pub async fn shutdown(self) {
		let _ = self.stop.send(true);
		let _ = self.task.await;
	}
}

/// The surface's files in `data_dir` (`lnd/`), made if missing: the TLS certificate and key,
/// and the three macaroons. Returns the directory.
pub fn prepare_files(data_dir: &Path) -> io::Result<PathBuf> {
	let dir = files::lnd_dir(data_dir)?;
	tls::load_or_create(&dir)?;
	macaroons::Macaroons::load_or_create(&dir)?;
	Ok(dir)
}

/// Starts serving the LND surface for `node`.
pub async fn serve(node: Node, config: LndRestConfig) -> io::Result<LndRest> {
	let lnd_dir = files::lnd_dir(&config.data_dir)?;
	let tls = tls::load_or_create(&lnd_dir)?;
	let macaroons = macaroons::Macaroons::load_or_create(&lnd_dir)?;
	let listener = TcpListener::bind(config.bind).await?;
	let local_addr = server::bound(&listener, config.bind);
	let (stop, stop_rx) = watch::channel(false);
	let shared = Arc::new(server::Shared {
		node,
		alias: config.alias,
		macaroons: macaroons.clone(),
		streams: Arc::new(Semaphore::new(server::MAX_STREAMS)),
		stop: stop_rx.clone(),
	});
	let task = tokio::spawn(server::accept_loop(listener, TlsAcceptor::from(tls), shared, stop_rx));
	Ok(LndRest { local_addr, lnd_dir, macaroons, stop, task })
}
