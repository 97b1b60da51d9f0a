//! Benchmark nodes: how each is configured, and starting and stopping many of them at once.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use fulgur_node::config::Level;
use fulgur_node::{Node, NodeConfig, StoreKind};
use tokio::task::JoinSet;

use crate::regtest::launch::{wait_until, RpcEndpoint};

/// Nodes started (and stopped) at once.
pub const START_BATCH: usize = 50;

/// The bitcoind the parent gives a benchmark's child process (a hub, a restart probe, a tower).
#[derive(clap::Args, Debug, Clone)]
pub struct ChildRpcArgs {
	/// bitcoind RPC `host:port`
	#[arg(long)]
	pub rpc_addr: String,
	/// bitcoind RPC user
	#[arg(long)]
	pub rpc_user: String,
	/// bitcoind RPC password
	#[arg(long)]
	pub rpc_password: String,
}

impl ChildRpcArgs {
	/// The flags that pass `rpc` to a child.
	pub fn flags(rpc: &RpcEndpoint) -> [String; 6] {
		[
			"--rpc-addr".into(),
			rpc.addr.clone(),
			"--rpc-user".into(),
			rpc.user.clone(),
			"--rpc-password".into(),
			rpc.password.clone(),
		]
	}

	/// As an endpoint.
	pub fn endpoint(&self) -> RpcEndpoint {
		RpcEndpoint {
			addr: self.rpc_addr.clone(),
			user: self.rpc_user.clone(),
			password: self.rpc_password.clone(),
		}
	}
}

/// The configuration of a benchmark node started in a child process of its own, in
/// `data_dir` (whose last component is its name), on the store `store`, accepting peers on
/// `port`, against the bitcoind the parent gave.
pub fn child_node_config(
	data_dir: &Path, store: StoreKind, rpc: &ChildRpcArgs, port: u16,
) -> Result<NodeConfig, String> {
	let rpc = rpc.endpoint();
	let parent = data_dir.parent().ok_or("data dir has no parent")?;
	let name = data_dir.file_name().ok_or("data dir has no name")?.to_string_lossy();
	let spec =
		NodeSpec { name: name.to_string(), dir: parent, rpc: &rpc, store, listen_port: Some(port) };
	spec.config()
}

/// How a benchmark node is configured.
pub struct NodeSpec<'a> {
	/// Its name (alias and data directory).
	pub name: String,
	/// Parent of its data directory.
	pub dir: &'a Path,
	/// bitcoind.
	pub rpc: &'a RpcEndpoint,
	/// Its store.
	pub store: StoreKind,
	/// `Some(port)` to accept peers there (the hub), `None` for nodes that only connect out.
	pub listen_port: Option<u16>,
}

impl NodeSpec<'_> {
	/// The node's configuration. Nodes that only connect out (payers, merchant) are load
	/// generators: they poll bitcoind every 2 s and sync their wallet every 10 minutes, so a
	/// thousand of them do not hammer bitcoind.
	pub fn config(&self) -> Result<NodeConfig, String> {
		let port = self.listen_port.unwrap_or(0);
		let mut config = NodeConfig::new(
			self.dir.join(&self.name),
			bitcoin::Network::Regtest,
			SocketAddr::from(([127, 0, 0, 1], port)),
			self.rpc.addr.clone(),
			self.rpc.user.clone(),
			self.rpc.password.clone(),
		);
		config.alias = self.name.clone();
		config.store = self.store;
		config.accept_peers = self.listen_port.is_some();
		if self.listen_port.is_some() {
			// Every load generator connects from 127.0.0.1: the limits meant for strangers
			// would turn most of them away.
			config.inbound_limits.max_per_address = BENCH_INBOUND_CONNECTIONS;
			config.inbound_limits.max_connections = BENCH_INBOUND_CONNECTIONS;
		}
		if self.listen_port.is_none() {
			config.chain_poll_interval = Duration::from_secs(2);
			config.wallet_sync_interval = Duration::from_secs(600);
		}
		// Warnings and errors only: Debug logging would write ~8 kB per payment at the hub
		// and blur the disk bytes measured for the store.
		config.log_level = Level::Warn;
		Ok(config)
	}
}

/// Inbound connections a benchmark's hub accepts, all from its load generators on loopback.
const BENCH_INBOUND_CONNECTIONS: usize = 20_000;

/// Starts nodes, `batch` at a time; on any failure stops those that started.
pub async fn start_nodes(configs: Vec<NodeConfig>, batch: usize) -> Result<Vec<Node>, String> {
	let results = bounded(configs, batch, |config| async move {
		let name = config.alias.clone();
		Node::start(config).await.map_err(|e| format!("{name}: {e}"))
	})
	.await;
	let mut nodes = Vec::with_capacity(results.len());
	let mut error = None;
	for result in results {
		match result {
			Ok(node) => nodes.push(node),
			Err(e) => error = error.or(Some(e)),
		}
	}
	match error {
		None => Ok(nodes),
		Some(e) => {
			stop_nodes(nodes, batch).await;
			Err(e)
		}
	}
}

/// Stops nodes, `batch` at a time.
pub async fn stop_nodes(nodes: Vec<Node>, batch: usize) {
	bounded(nodes, batch, |node| async move {
		node.stop().await;
		Ok(())
	})
	.await;
}

/// Runs `task` on every item, at most `limit` at once, each on the runtime's threads; the
/// results come back in the items' order (a task that panicked gives an error).
pub async fn bounded<T, R, F, Fut>(items: Vec<T>, limit: usize, task: F) -> Vec<Result<R, String>>
where
	F: Fn(T) -> Fut,
	Fut: Future<Output = Result<R, String>> + Send + 'static,
	R: Send + 'static,
{
	let mut results: Vec<Option<Result<R, String>>> = items.iter().map(|_| None).collect();
	let mut set = JoinSet::new();
	let mut collect = |joined: Result<(usize, Result<R, String>), tokio::task::JoinError>| {
		if let Ok((index, result)) = joined {
			results[index] = Some(result);
		}
	};
	for (index, item) in items.into_iter().enumerate() {
		while set.len() >= limit.max(1) {
			match set.join_next().await {
				Some(joined) => collect(joined),
				None => break,
			}
		}
		let future = task(item);
		set.spawn(async move { (index, future.await) });
	}
	while let Some(joined) = set.join_next().await {
		collect(joined);
	}
	results.into_iter().map(|r| r.unwrap_or_else(|| Err("task panicked".to_string()))).collect()
}

/// Waits until `hub`'s wallet has `sat` confirmed.
pub async fn wait_funded(hub: &Node, sat: u64) -> Result<(), String> {
	wait_until("the hub's wallet sees its funding", Duration::from_secs(120), || async {
		let _ = hub.sync_wallet().await;
		hub.balance().onchain_confirmed_sat >= sat
	})
	.await
}
