//! End-to-end tests of fulgur on real bitcoind regtest live in `tests/e2e/`; this library holds
//! the harness they share.
#![deny(missing_docs)]

use std::time::Duration;

use fulgur::bitcoind::{Bitcoind, BitcoindConfig};
use fulgur::regtest::launch::{fund_nodes, wait_until, RpcEndpoint, RunningNode};
use fulgur_api::wire::channels::{ChannelInfo, OpenChannelRequest};
use fulgur_api::wire::invoices::{InvoiceRecord, InvoiceStatus};
use fulgur_api::ApiClient;
use fulgur_node::config::NodeConfig;
use fulgur_node::StoreKind;

pub mod lnbits;
pub mod topology;
pub mod webdriver;

/// How long one waiting step of a test may take.
pub const STEP: Duration = Duration::from_secs(90);
/// Warning and error lines of each node shown when a test step times out.
const LOG_LINES_ON_FAILURE: usize = 20;

/// Set to keep every test's directory (bitcoind and node data, logs) after the test, e.g. to
/// read the logs of a failure that happens once in many runs; each kept path is printed.
pub const KEEP_DIRS_ENV: &str = "FULGUR_KEEP_TEST_DIRS";

/// A fresh temporary directory for one test, kept afterwards when [`KEEP_DIRS_ENV`] is set.
pub fn test_dir() -> tempfile::TempDir {
	let mut dir = tempfile::tempdir().expect("temp dir");
	if std::env::var_os(KEEP_DIRS_ENV).is_some() {
		dir.disable_cleanup(true);
		eprintln!("{KEEP_DIRS_ENV}: keeping {}", dir.path().display());
	}
	dir
}

/// Copies the directory `from` into `to` (created), recursively: a bitcoind data directory
/// taken while it was stopped.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
	std::fs::create_dir_all(to)?;
	for entry in std::fs::read_dir(from)? {
		let entry = entry?;
		let target = to.join(entry.file_name());
		if entry.file_type()?.is_dir() {
			copy_dir(&entry.path(), &target)?;
		} else {
			std::fs::copy(entry.path(), target)?;
		}
	}
	Ok(())
}

/// A bitcoind and some nodes, each in its own temporary directory and on free ports.
pub struct TestNet {
	/// Removed when the test ends.
	pub dir: tempfile::TempDir,
	/// bitcoind.
	pub bitcoind: Bitcoind,
	/// The nodes, by start order.
	pub nodes: Vec<RunningNode>,
	ports: Vec<(String, u16, u16)>,
}

impl TestNet {
	/// Starts bitcoind and funded nodes with these names, on the default store.
	pub async fn new(names: &[&str]) -> TestNet {
		let nodes: Vec<(&str, StoreKind)> = names.iter().map(|n| (*n, StoreKind::Sled)).collect();
		TestNet::with_stores(&nodes).await
	}

	/// Starts bitcoind and funded nodes, each on the given store.
	pub async fn with_stores(nodes_and_stores: &[(&str, StoreKind)]) -> TestNet {
		let names: Vec<&str> = nodes_and_stores.iter().map(|(name, _)| *name).collect();
		TestNet::with_configs(&names, |name, config| {
			if let Some((_, store)) = nodes_and_stores.iter().find(|(n, _)| *n == name) {
				config.store = *store;
			}
		})
		.await
	}

	/// Starts bitcoind and funded nodes, each with its configuration adjusted by `adjust`
	/// (called with the node's name).
	pub async fn with_configs(names: &[&str], adjust: impl Fn(&str, &mut NodeConfig)) -> TestNet {
		let dir = test_dir();
		let bitcoind = Bitcoind::start(BitcoindConfig::new(dir.path().join("bitcoind")))
			.await
			.expect("bitcoind");
		let rpc = RpcEndpoint::of(&bitcoind);
		let mut nodes = Vec::new();
		let mut ports = Vec::new();
		for name in names {
			let p2p = fulgur::bitcoind::free_port().expect("port");
			let api = fulgur::bitcoind::free_port().expect("port");
			let node_dir = dir.path().join(name);
			let node =
				RunningNode::start_with(name, &node_dir, &rpc, p2p, api, |c| adjust(name, c))
					.await
					.expect("node starts");
			ports.push((name.to_string(), p2p, api));
			nodes.push(node);
		}
		let net = TestNet { dir, bitcoind, nodes, ports };
		let refs: Vec<&RunningNode> = net.nodes.iter().collect();
		fund_nodes(net.bitcoind.client(), &refs, 1).await.expect("funding");
		net
	}

	/// The node called `name`.
	pub fn node(&self, name: &str) -> &RunningNode {
		self.nodes.iter().find(|n| n.name == name).unwrap_or_else(|| panic!("no node {name}"))
	}

	/// An API client of `name`.
	pub fn api(&self, name: &str) -> ApiClient {
		self.node(name).client()
	}

	/// Mines blocks to nobody.
	pub async fn mine(&self, blocks: u64) {
		self.bitcoind.mine_empty(blocks).await.expect("mining");
	}

	/// Opens a channel through the API, confirms it and waits until both sides can use it.
	pub async fn open_channel(
		&self, from: &str, to: &str, amount_sat: u64, push_msat: u64,
	) -> String {
		let target = self.node(to);
		let opened = self
			.api(from)
			.open_channel(&OpenChannelRequest {
				node_id: target.node.node_id().to_string(),
				address: target.p2p_addr(),
				amount_sat,
				push_msat: Some(push_msat),
				announce: Some(false),
			})
			.await
			.expect("open channel");
		assert!(opened.funding_txid.is_some(), "funding broadcast: {opened:?}");
		self.wait_for("funding in the mempool", || async {
			self.bitcoind.mempool_size().await.unwrap_or(0) > 0
		})
		.await;
		self.mine(6).await;
		for name in [from, to] {
			let id = opened.channel_id.clone();
			self.wait_for(&format!("channel usable at {name}"), || async {
				self.channel(name, &id).await.map(|c| c.is_usable).unwrap_or(false)
			})
			.await;
		}
		opened.channel_id
	}

	/// The channel `id` as `name` sees it.
	pub async fn channel(&self, name: &str, id: &str) -> Option<ChannelInfo> {
		self.api(name).list_channels().await.ok()?.into_iter().find(|c| c.channel_id == id)
	}

	/// Waits until `name`'s invoice `payment_hash` reads paid, and returns it. The payee records
	/// a payment when it handles its own claim, which can come a moment after the payer has
	/// the preimage: across two nodes "paid" is eventual.
	pub async fn invoice_paid(&self, name: &str, payment_hash: &str) -> InvoiceRecord {
		let api = self.api(name);
		self.wait_for(&format!("{name}'s invoice {payment_hash} paid"), || async {
			api.get_invoice(payment_hash).await.is_ok_and(|i| i.status == InvoiceStatus::Paid)
		})
		.await;
		api.get_invoice(payment_hash).await.expect("invoice")
	}

	/// Waits until `check` holds, failing the test after [`STEP`].
	pub async fn wait_for<F, Fut>(&self, what: &str, check: F)
	where
		F: FnMut() -> Fut,
		Fut: std::future::Future<Output = bool>,
	{
		self.wait_for_within(what, STEP, check).await;
	}

	/// Waits until `check` holds, failing the test after `timeout` (for the few steps that
	/// wait on a protocol timer longer than [`STEP`]).
	pub async fn wait_for_within<F, Fut>(&self, what: &str, timeout: Duration, check: F)
	where
		F: FnMut() -> Fut,
		Fut: std::future::Future<Output = bool>,
	{
		if let Err(e) = wait_until(what, timeout, check).await {
			panic!("{e}\n{}", self.log_tails());
		}
	}

	/// The last warnings and errors of every node's log, for a failure message.
	pub fn log_tails(&self) -> String {
		let mut out = String::new();
		let Ok(entries) = std::fs::read_dir(self.dir.path()) else { return out };
		for entry in entries.flatten() {
			let Ok(log) = std::fs::read_to_string(entry.path().join("fulgur.log")) else {
				continue;
			};
			let lines: Vec<&str> =
				log.lines().filter(|l| l.contains("WARN") || l.contains("ERROR")).collect();
			out.push_str(&format!("--- {} ---\n", entry.file_name().to_string_lossy()));
			for line in &lines[lines.len().saturating_sub(LOG_LINES_ON_FAILURE)..] {
				out.push_str(line);
				out.push('\n');
			}
		}
		out
	}

	/// Stops `name` and starts it again from its directory on the same ports.
	pub async fn restart(&mut self, name: &str) {
		self.restart_with(name, |_| {}).await;
	}

	/// Stops `name` and starts it again from its directory with its configuration adjusted.
	pub async fn restart_with(&mut self, name: &str, adjust: impl FnOnce(&mut NodeConfig)) {
		let index = self.nodes.iter().position(|n| n.name == name).expect("node");
		let node = self.nodes.remove(index);
		node.stop().await;
		self.start_again_with(name, index, adjust).await;
	}

	/// Starts a stopped node again (see [`TestNet::take`]).
	pub async fn start_again(&mut self, name: &str, index: usize) {
		self.start_again_with(name, index, |_| {}).await;
	}

	/// Starts a stopped node again with its configuration adjusted by `adjust`.
	pub async fn start_again_with(
		&mut self, name: &str, index: usize, adjust: impl FnOnce(&mut NodeConfig),
	) {
		let (_, p2p, api) = self.ports.iter().find(|p| p.0 == name).cloned().expect("ports");
		let rpc = RpcEndpoint::of(&self.bitcoind);
		let dir = self.dir.path().join(name);
		let node = RunningNode::start_with(name, &dir, &rpc, p2p, api, adjust)
			.await
			.expect("node restarts");
		self.nodes.insert(index, node);
	}

	/// What [`RunningNode::start_reporting`] needs to start `name` again from its directory on
	/// its ports, outside the net (e.g. in a task, to watch its API while it starts).
	pub fn launch_spec(&self, name: &str) -> (std::path::PathBuf, RpcEndpoint, u16, u16) {
		let (_, p2p, api) = self.ports.iter().find(|p| p.0 == name).cloned().expect("ports");
		(self.dir.path().join(name), RpcEndpoint::of(&self.bitcoind), p2p, api)
	}

	/// Puts a node started outside the net (see [`TestNet::launch_spec`]) back at `index`.
	pub fn put_back(&mut self, index: usize, node: RunningNode) {
		self.nodes.insert(index, node);
	}

	/// Removes a node from the net without stopping it (the caller stops or drops it).
	pub fn take(&mut self, name: &str) -> (usize, RunningNode) {
		let index = self.nodes.iter().position(|n| n.name == name).expect("node");
		(index, self.nodes.remove(index))
	}

	/// Stops everything.
	pub async fn shutdown(self) {
		for node in self.nodes {
			node.stop().await;
		}
		let _ = self.bitcoind.stop().await;
	}
}
