//! The tower server, modelled on The Eye of Satoshi: a [`Gatekeeper`] (users and their
//! subscriptions), a [`Watcher`] (appointments, checked against every transaction of every
//! block), a [`Responder`] (justice transactions until irrevocably confirmed), a [`Carrier`]
//! (bitcoind's `sendrawtransaction`), all on one sled database ([`Dbm`]), behind an HTTP JSON
//! API ([`http`]). Gatekeeper, watcher and responder are each an LDK [`Listen`]er, fed in
//! that order by one block poller ([`chain`]).
//!
//! [`TowerCore`] is everything but bitcoind (what unit tests and the benchmark drive by
//! hand); [`Tower`] is the whole service.
//!
//! Registration is free, so everything a stranger can make the tower hold is capped
//! ([`options`]: users, slots per user and in all, appointments per locator; [`rate_limit`]:
//! registrations per address), and nothing is followed forever: a tracker ends when its
//! penalty is buried, refused as invalid, or its user is gone.
//!
//! [`Listen`]: lightning::chain::Listen

pub mod carrier;
pub mod chain;
pub mod connections;
pub mod dbm;
pub mod gatekeeper;
pub mod http;
mod index;
pub mod log;
pub mod options;
pub mod rate_limit;
pub mod responder;
mod service;
pub mod watcher;
mod workers;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::secp256k1::{PublicKey, SecretKey};
use bitcoin::Network;
use fulgur_base::bitcoind;
use lightning::chain::chaininterface::BroadcasterInterface;
use lightning_block_sync::rpc::RpcClient;
use tokio::sync::{oneshot, watch};

pub use carrier::{Carrier, Refusal, Refusals};
pub use chain::ChainListener;
pub use dbm::Dbm;
pub use gatekeeper::Gatekeeper;
pub use http::HttpServer;
pub use options::{
	ConnectionLimits, Limits, RegistrationCaps, SubscriptionConfig, TowerOptions, SLOT_SIZE,
};
pub use responder::Responder;
pub use watcher::Watcher;

/// The tower without its bitcoind connection: storage, components, key.
pub struct TowerCore {
	pub(crate) db: Arc<Dbm>,
	pub(crate) gatekeeper: Arc<Gatekeeper>,
	pub(crate) watcher: Arc<Watcher>,
	pub(crate) responder: Arc<Responder>,
	pub(crate) tower_sk: SecretKey,
	pub(crate) limits: Limits,
	pub(crate) registrations: rate_limit::RateLimiter,
	pub(crate) workers: workers::Workers,
	pub(crate) connection_limits: ConnectionLimits,
}

impl TowerCore {
	/// Opens the database in `dir` (created if missing) and loads users and trackers;
	/// penalties go out through `broadcaster`, which reports bitcoind's refusals to
	/// `refusals`.
	pub fn open(
		dir: &std::path::Path, options: &TowerOptions,
		broadcaster: Arc<dyn BroadcasterInterface + Send + Sync>, refusals: Arc<Refusals>,
	) -> io::Result<Arc<TowerCore>> {
		let (db, used_slots) = Dbm::open(dir, options.cache_bytes, options.flush_pace)?;
		let db = Arc::new(db);
		let tower_sk = db.tower_key()?;
		let height = db.tip()?.map_or(0, |(_, height)| height);
		let gatekeeper = Arc::new(Gatekeeper::new(
			Arc::clone(&db),
			used_slots,
			options.subscription,
			options.caps,
			height,
		)?);
		let responder = Arc::new(Responder::new(
			Arc::clone(&db),
			Arc::clone(&gatekeeper),
			broadcaster,
			refusals,
			options.resolved_depth,
		)?);
		let watcher = Arc::new(Watcher::new(
			Arc::clone(&db),
			Arc::clone(&gatekeeper),
			Arc::clone(&responder),
			tower_sk,
			options.limits,
		));
		// Sized to the cores: the blocking work of requests is CPU-bound.
		let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8);
		let workers = workers::Workers::start(threads)?;
		Ok(Arc::new(TowerCore {
			db,
			gatekeeper,
			watcher,
			responder,
			tower_sk,
			limits: options.limits,
			registrations: rate_limit::RateLimiter::new(
				options.caps.registrations_per_hour,
				rate_limit::MAX_TRACKED_ADDRESSES,
			),
			workers,
			connection_limits: options.connections,
		}))
	}

	/// The tower's public key: it signs every receipt with the matching secret key.
	pub fn tower_id(&self) -> PublicKey {
		crate::crypto::UserId::from_secret_key(&self.tower_sk).0
	}

	/// The listener to feed blocks to (the poller does it in a running [`Tower`]).
	pub fn chain_listener(&self) -> ChainListener {
		ChainListener {
			db: Arc::clone(&self.db),
			gatekeeper: Arc::clone(&self.gatekeeper),
			watcher: Arc::clone(&self.watcher),
			responder: Arc::clone(&self.responder),
		}
	}

	/// Serves the HTTP API on `bind`; must be called within a tokio runtime.
	pub fn serve(self: &Arc<Self>, bind: SocketAddr) -> io::Result<HttpServer> {
		HttpServer::start(Arc::clone(self), bind)
	}

	/// The database.
	pub fn db(&self) -> &Dbm {
		&self.db
	}

	/// The gatekeeper.
	pub fn gatekeeper(&self) -> &Gatekeeper {
		&self.gatekeeper
	}

	/// The watcher.
	pub fn watcher(&self) -> &Watcher {
		&self.watcher
	}

	/// The responder.
	pub fn responder(&self) -> &Responder {
		&self.responder
	}
}

/// Where and how a [`Tower`] runs.
#[derive(Clone, Debug)]
pub struct TowerConfig {
	/// Database directory.
	pub data_dir: PathBuf,
	/// HTTP address (port 0 picks one).
	pub bind: SocketAddr,
	/// The chain bitcoind must be on.
	pub network: Network,
	/// bitcoind RPC `host:port` (an `http://` prefix is accepted).
	pub bitcoind_rpc: String,
	/// bitcoind RPC user.
	pub rpc_user: String,
	/// bitcoind RPC password.
	pub rpc_password: String,
	/// How often to ask bitcoind for new blocks.
	pub poll_interval: Duration,
	/// Behaviour.
	pub options: TowerOptions,
}

/// Why a tower did not start.
#[derive(Debug)]
pub enum TowerError {
	/// The database could not be opened or read.
	Storage(io::Error),
	/// bitcoind is unreachable, on another chain, or its chain does not connect to ours.
	Bitcoind(String),
	/// The HTTP address cannot be bound.
	Listen(io::Error),
}

impl fmt::Display for TowerError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			TowerError::Storage(e) => write!(f, "tower database: {e}"),
			TowerError::Bitcoind(e) => write!(f, "bitcoind: {e}"),
			TowerError::Listen(e) => write!(f, "{e}"),
		}
	}
}

impl std::error::Error for TowerError {}

/// A running tower: HTTP API plus block poller. Dropping it stops both (the poller after its
/// current poll).
pub struct Tower {
	core: Arc<TowerCore>,
	http: HttpServer,
	stop: watch::Sender<bool>,
	chain: Option<std::thread::JoinHandle<()>>,
}

/// An RPC client for `host:port` (optionally `http://host:port`): fulgur's one set-up,
/// [`fulgur_base::bitcoind::rpc_client`].
pub fn rpc_client(rpc: &str, user: &str, password: &str) -> Result<RpcClient, String> {
	bitcoind::rpc_client(rpc, user, password).map_err(|e| e.to_string())
}

impl Tower {
	/// Opens the database, syncs with bitcoind, then serves the API. Must be called within a
	/// multi-threaded tokio runtime.
	pub async fn start(config: TowerConfig) -> Result<Tower, TowerError> {
		let rpc = Arc::new(
			rpc_client(&config.bitcoind_rpc, &config.rpc_user, &config.rpc_password)
				.map_err(TowerError::Bitcoind)?,
		);
		bitcoind::check_network(&rpc, config.network, "tower")
			.await
			.map_err(|e| TowerError::Bitcoind(e.to_string()))?;
		let refusals = Arc::new(Refusals::default());
		let handle = tokio::runtime::Handle::current();
		let carrier = Arc::new(Carrier::new(Arc::clone(&rpc), handle, Arc::clone(&refusals)));
		let core = TowerCore::open(&config.data_dir, &config.options, carrier, refusals)
			.map_err(TowerError::Storage)?;
		let (stop, stopped) = watch::channel(false);
		let (ready, synced) = oneshot::channel();
		let listener = Arc::new(core.chain_listener());
		let chain = chain::spawn_poller(
			rpc,
			config.network,
			listener,
			config.poll_interval,
			stopped,
			ready,
		)
		.map_err(|e| TowerError::Bitcoind(format!("cannot start the chain thread: {e}")))?;
		let height = match synced.await {
			Ok(Ok(height)) => height,
			Ok(Err(e)) => return Err(TowerError::Bitcoind(e)),
			Err(_) => return Err(TowerError::Bitcoind("the chain thread died".into())),
		};
		let http = core.serve(config.bind).map_err(TowerError::Listen)?;
		log::info!("tower {} on http://{} at block {height}", core.tower_id(), http.local_addr());
		Ok(Tower { core, http, stop, chain: Some(chain) })
	}

	/// The tower's public key.
	pub fn tower_id(&self) -> PublicKey {
		self.core.tower_id()
	}

	/// Where the API listens.
	pub fn local_addr(&self) -> SocketAddr {
		self.http.local_addr()
	}

	/// The components.
	pub fn core(&self) -> &Arc<TowerCore> {
		&self.core
	}

	/// Stops the API and the poller.
	pub async fn shutdown(mut self) {
		let _ = self.stop.send(true);
		if let Some(chain) = self.chain.take() {
			// The poller checks `stop` between polls; joining blocks, so off the runtime.
			let _ = tokio::task::spawn_blocking(move || chain.join()).await;
		}
		let Tower { http, .. } = self;
		http.shutdown().await;
	}
}
