//! Building blocks of a regtest network: nodes with their API, funding, channels, waiting.
//! `fulgur regtest up` and the end-to-end tests are made of these. A wait that lasts more than
//! a second says on stderr what it is waiting for, and again every ten seconds.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bitcoin::Network;
use fulgur_api::ApiClient;
use fulgur_compat::lnd_rest::{LndRest, LndRestConfig};
use fulgur_compat::phoenixd::{Passwords, PhoenixdServer};
use fulgur_node::{Node, NodeConfig, Startup};
use fulgur_web::{ApiConfig, ApiServer};

use crate::bitcoind::{Bitcoind, BitcoindRpc};

/// How to reach bitcoind's RPC.
#[derive(Clone, Debug)]
pub struct RpcEndpoint {
	/// `host:port`.
	pub addr: String,
	/// RPC user.
	pub user: String,
	/// RPC password.
	pub password: String,
}

impl RpcEndpoint {
	/// The endpoint of a bitcoind we started.
	pub fn of(bitcoind: &Bitcoind) -> RpcEndpoint {
		RpcEndpoint {
			addr: format!("{}:{}", bitcoind.rpc_host(), bitcoind.rpc_port()),
			user: bitcoind.rpc_user().to_string(),
			password: bitcoind.rpc_password().to_string(),
		}
	}
}

/// A fulgur node running in this process, with its HTTP API.
pub struct RunningNode {
	/// Its name (`alice`, ...), also its alias.
	pub name: String,
	/// The node.
	pub node: Node,
	/// Its API server.
	pub api: ApiServer,
	/// The API key.
	pub api_key: String,
	/// Its data directory.
	pub data_dir: PathBuf,
	/// Its LND REST surface, once [`RunningNode::serve_lnd_rest`] started it.
	pub lnd_rest: Option<LndRest>,
	/// Its Phoenixd-compatible API, on a free port of 127.0.0.1.
	pub phoenixd: PhoenixdServer,
	/// The passwords of that API (from `DATA_DIR/phoenixd/`).
	pub phoenixd_passwords: Passwords,
}

impl RunningNode {
	/// Starts a node in `data_dir` on the given ports (0 picks free ones).
	pub async fn start(
		name: &str, data_dir: &Path, rpc: &RpcEndpoint, p2p_port: u16, api_port: u16,
	) -> Result<RunningNode, String> {
		RunningNode::start_with(name, data_dir, rpc, p2p_port, api_port, |_| {}).await
	}

	/// Like [`RunningNode::start`], with `adjust` changing the node's configuration first.
	pub async fn start_with(
		name: &str, data_dir: &Path, rpc: &RpcEndpoint, p2p_port: u16, api_port: u16,
		adjust: impl FnOnce(&mut NodeConfig),
	) -> Result<RunningNode, String> {
		let startup = Startup::new();
		RunningNode::start_reporting(name, data_dir, rpc, p2p_port, api_port, adjust, startup).await
	}

	/// Like [`RunningNode::start_with`], saying in `startup` what the start is doing; its API
	/// answers from `startup` until the node runs.
	pub async fn start_reporting(
		name: &str, data_dir: &Path, rpc: &RpcEndpoint, p2p_port: u16, api_port: u16,
		adjust: impl FnOnce(&mut NodeConfig), startup: Arc<Startup>,
	) -> Result<RunningNode, String> {
		let p2p_port =
			if p2p_port == 0 { crate::bitcoind::free_port().map_err(s)? } else { p2p_port };
		let listen: SocketAddr = ([127, 0, 0, 1], p2p_port).into();
		let mut config = NodeConfig::new(
			data_dir,
			Network::Regtest,
			listen,
			rpc.addr.clone(),
			rpc.user.clone(),
			rpc.password.clone(),
		);
		config.alias = name.to_string();
		adjust(&mut config);
		let api_key = fulgur_web::load_or_create_api_key(&data_dir.join("api_key"))
			.map_err(|e| format!("{name}: api key: {e}"))?;
		let bind: SocketAddr = ([127, 0, 0, 1], api_port).into();
		// The API answers while the node starts, as the daemon's does.
		let api = fulgur_web::serve_while_starting(
			Arc::clone(&startup),
			ApiConfig { bind, api_key: api_key.clone() },
		)
		.await
		.map_err(|e| format!("{name}: API on {bind}: {e}"))?;
		let phoenixd_passwords = Passwords::load_or_create(data_dir)
			.map_err(|e| format!("{name}: phoenixd passwords: {e}"))?;
		let phoenixd_bind: SocketAddr = ([127, 0, 0, 1], 0).into();
		let phoenixd =
			match fulgur_compat::phoenixd::serve(phoenixd_bind, phoenixd_passwords.clone()) {
				Ok(server) => server,
				Err(e) => {
					api.shutdown().await;
					return Err(format!("{name}: {e}"));
				}
			};
		let node = match Node::start_reporting(config, startup).await {
			Ok(node) => node,
			Err(e) => {
				api.shutdown().await;
				phoenixd.shutdown().await;
				return Err(format!("{name}: {e}"));
			}
		};
		api.attach(node.clone());
		phoenixd.attach(node.clone());
		Ok(RunningNode {
			name: name.to_string(),
			node,
			api,
			api_key,
			data_dir: data_dir.into(),
			lnd_rest: None,
			phoenixd,
			phoenixd_passwords,
		})
	}

	/// Starts its LND REST surface on 127.0.0.1:`port` (0 picks a free one), over TLS with the
	/// certificate and macaroons in `DATA_DIR/lnd/`.
	pub async fn serve_lnd_rest(&mut self, port: u16) -> Result<&LndRest, String> {
		let config = LndRestConfig {
			bind: ([127, 0, 0, 1], port).into(),
			data_dir: self.data_dir.clone(),
			alias: self.name.clone(),
		};
		let served = fulgur_compat::lnd_rest::serve(self.node.clone(), config)
			.await
			.map_err(|e| format!("{}: LND REST on port {port}: {e}", self.name))?;
		Ok(self.lnd_rest.insert(served))
	}

	/// `http://127.0.0.1:PORT`.
	pub fn api_url(&self) -> String {
		format!("http://{}", self.api.local_addr())
	}

	/// `127.0.0.1:PORT` for peers.
	pub fn p2p_addr(&self) -> String {
		self.node.listen_addr().to_string()
	}

	/// A client of its API.
	pub fn client(&self) -> ApiClient {
		// Only fails on a malformed URL, which api_url never produces.
		ApiClient::new(&self.api_url(), &self.api_key)
			.unwrap_or_else(|e| panic!("API client for {}: {e}", self.name))
	}

	/// Stops the APIs, then the node.
	pub async fn stop(self) {
		if let Some(lnd_rest) = self.lnd_rest {
			lnd_rest.shutdown().await;
		}
		self.api.shutdown().await;
		self.phoenixd.shutdown().await;
		self.node.stop().await;
	}
}

/// Mines `blocks_each` blocks to each node's wallet, then 100 more so the coinbases mature,
/// and waits until every wallet sees its funds.
pub async fn fund_nodes(
	rpc: &BitcoindRpc, nodes: &[&RunningNode], blocks_each: u64,
) -> Result<(), String> {
	eprintln!(
		"funding: mining {blocks_each} block(s) to each of {} wallets, then 100 so the coins mature",
		nodes.len()
	);
	for node in nodes {
		let address = node.node.new_onchain_address().map_err(s)?;
		let address = parse_address(&address)?;
		rpc.mine(blocks_each, &address).await.map_err(s)?;
	}
	rpc.mine_empty(100).await.map_err(s)?;
	for node in nodes {
		wait_until(&format!("{} sees its coins", node.name), Duration::from_secs(60), || async {
			let _ = node.node.sync_wallet().await;
			node.node.balance().onchain_confirmed_sat > 0
		})
		.await?;
	}
	Ok(())
}

/// Parses a regtest address.
pub fn parse_address(address: &str) -> Result<bitcoin::Address, String> {
	address
		.parse::<bitcoin::Address<bitcoin::address::NetworkUnchecked>>()
		.map_err(s)?
		.require_network(Network::Regtest)
		.map_err(s)
}

/// A wait shorter than this says nothing.
const QUIET_WAIT: Duration = Duration::from_secs(1);
/// How often a long wait says again what it waits for.
const WAIT_REMINDER: Duration = Duration::from_secs(10);

/// Polls `check` every 100 ms until it holds, or fails after `timeout` naming `what`.
///
/// Once it has waited a second it prints `waiting until <what>` on stderr (above a progress
/// bar, if one is shown), then a line every ten seconds with the time waited, so a slow
/// start-up says what it is doing and a quick one stays quiet.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<(), String>
where
	F: FnMut() -> Fut,
	Fut: Future<Output = bool>,
{
	let started = tokio::time::Instant::now();
	let deadline = started + timeout;
	let mut next_reminder = None;
	loop {
		if check().await {
			return Ok(());
		}
		let now = tokio::time::Instant::now();
		if now > deadline {
			return Err(format!("timed out after {timeout:?} waiting until {what}"));
		}
		match next_reminder {
			None if now.duration_since(started) >= QUIET_WAIT => {
				crate::progress::line(&format!("waiting until {what}"));
				next_reminder = Some(now + WAIT_REMINDER);
			}
			Some(at) if now >= at => {
				let waited = now.duration_since(started).as_secs();
				let limit = timeout.as_secs();
				crate::progress::line(&format!(
					"still waiting until {what} ({waited} s of {limit} s)"
				));
				next_reminder = Some(now + WAIT_REMINDER);
			}
			_ => {}
		}
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
}

fn s(e: impl std::fmt::Display) -> String {
	e.to_string()
}
