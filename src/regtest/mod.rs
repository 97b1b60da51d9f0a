//! `fulgur regtest`: a local regtest network in one command.
//!
//! `up` provisions and starts bitcoind in DIR, starts N nodes (alice, bob, carol, ...) each with
//! its API, funds them, opens announced channels in a line with half of each pushed to the far
//! side, waits until alice can route to the last node, writes `DIR/network.json`, and runs until
//! Ctrl-C. A second `up` on the same DIR restarts the same network from disk.

pub mod launch;
mod network;

pub use network::{LndRestEntry, NetworkFile, NetworkNode, NetworkRpc};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use fulgur_node::OpenChannelRequest;

use crate::bitcoind::{Bitcoind, BitcoindConfig, BitcoindRpc};
use launch::{fund_nodes, wait_until, RpcEndpoint, RunningNode};

/// Names of the nodes, in order.
pub const NODE_NAMES: [&str; 10] =
	["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"];
/// Each channel's size.
pub const CHANNEL_SAT: u64 = 1_000_000;
/// Pushed to the far side at opening, so both directions can pay.
pub const PUSH_MSAT: u64 = CHANNEL_SAT * 1000 / 2;
/// Confirmations LDK asks for before a channel is usable and announced.
const CONFIRMATIONS: u64 = 6;
/// Log lines of each node shown when start-up fails.
const LOG_LINES_ON_FAILURE: usize = 30;
/// How long each start-up stage may take.
const STAGE_TIMEOUT: Duration = Duration::from_secs(120);

/// The options of `fulgur regtest up`, layered by [`crate::config`] (variables
/// `FULGUR_REGTEST_*`, file `DIR/fulgur.conf`).
#[derive(Args, Clone, Debug)]
pub struct UpArgs {
	/// Number of nodes (alice, bob, carol, ...), in a line of channels
	#[arg(long, default_value_t = 3)]
	pub nodes: usize,
	/// Directory of the network (default ~/.fulgur/regtest)
	#[arg(long)]
	pub dir: Option<PathBuf>,
	/// Configuration file (default DIR/fulgur.conf)
	#[arg(long, value_name = "FILE")]
	pub config: Option<PathBuf>,
}

/// The default network directory: `~/.fulgur/regtest`.
pub fn default_dir() -> PathBuf {
	let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
	home.join(".fulgur").join("regtest")
}

/// A running regtest network.
pub struct RegtestNetwork {
	/// bitcoind.
	pub bitcoind: Bitcoind,
	/// The nodes, in line order.
	pub nodes: Vec<RunningNode>,
	/// Where it lives.
	pub dir: PathBuf,
}

impl RegtestNetwork {
	/// Starts (or restarts from `dir`) a network of `count` nodes, ready for payments.
	pub async fn up(dir: &Path, count: usize) -> Result<RegtestNetwork, String> {
		let started = Instant::now();
		std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
		let previous = NetworkFile::read(dir)?;
		let count = previous.as_ref().map(|p| p.nodes.len()).unwrap_or(count);
		if !(1..=NODE_NAMES.len()).contains(&count) {
			return Err(format!("--nodes must be between 1 and {}", NODE_NAMES.len()));
		}
		let mut config = BitcoindConfig::new(dir.join("bitcoind"));
		if let Some(previous) = &previous {
			config.rpc_port = previous.bitcoind.rpc_port()?;
			config.p2p_port = previous.bitcoind.p2p_port.unwrap_or(0);
			config.rpc_user = previous.bitcoind.rpc_user.clone();
			config.rpc_password = previous.bitcoind.rpc_password.clone();
		}
		eprintln!("starting bitcoind (regtest) in {}", dir.join("bitcoind").display());
		let bitcoind = Bitcoind::start(config).await.map_err(|e| format!("bitcoind: {e}"))?;
		let bitcoind_ready = started.elapsed();
		eprintln!("bitcoind ready after {:.1} s", bitcoind_ready.as_secs_f64());
		let rpc = RpcEndpoint::of(&bitcoind);
		let mut nodes = Vec::new();
		for (index, name) in NODE_NAMES.iter().take(count).enumerate() {
			let (p2p, api) = match &previous {
				Some(previous) => previous.nodes[index].ports()?,
				None => (0, 0),
			};
			let lnd_rest_port = previous.as_ref().map_or(0, |p| p.nodes[index].lnd_rest_port());
			eprintln!("starting {name}");
			let started = match RunningNode::start(name, &dir.join(name), &rpc, p2p, api).await {
				Ok(mut node) => match node.serve_lnd_rest(lnd_rest_port).await {
					Ok(_) => Ok(node),
					Err(e) => {
						node.stop().await;
						Err(e)
					}
				},
				Err(e) => Err(e),
			};
			match started {
				Ok(node) => nodes.push(node),
				Err(e) => {
					for node in nodes {
						node.stop().await;
					}
					let _ = bitcoind.stop().await;
					return Err(e);
				}
			}
		}
		let mut network = RegtestNetwork { bitcoind, nodes, dir: dir.to_path_buf() };
		let prepared =
			if previous.is_some() { network.wait_ready().await } else { network.build().await };
		if let Err(e) = prepared {
			network.down().await;
			return Err(e);
		}
		network.file().write(dir)?;
		let nodes_s = (started.elapsed() - bitcoind_ready).as_secs_f64();
		eprintln!(
			"network up in {:.1} s ({nodes_s:.1} s after bitcoind was ready)",
			started.elapsed().as_secs_f64()
		);
		Ok(network)
	}

	/// First start: fund every node and open the channel line.
	async fn build(&mut self) -> Result<(), String> {
		let rpc = self.bitcoind.client();
		let refs: Vec<&RunningNode> = self.nodes.iter().collect();
		fund_nodes(rpc, &refs, 2).await?;
		for pair in self.nodes.windows(2) {
			let (from, to) = (&pair[0], &pair[1]);
			eprintln!("opening channel {} -> {}", from.name, to.name);
			from.node
				.open_channel(OpenChannelRequest {
					node_id: to.node.node_id(),
					address: to.p2p_addr(),
					amount_sat: CHANNEL_SAT,
					push_msat: Some(PUSH_MSAT),
					announce: Some(true),
				})
				.await
				.map_err(|e| format!("{} -> {}: {e}", from.name, to.name))?;
		}
		let channels = self.nodes.len().saturating_sub(1);
		let pending = || self.nodes.iter().map(|n| n.node.list_channels().len()).sum::<usize>();
		wait_until("every channel's funding is known to both sides", STAGE_TIMEOUT, || async {
			pending() == 2 * channels
		})
		.await?;
		wait_until("funding transactions are in the mempool", STAGE_TIMEOUT, || async {
			rpc.mempool_size().await.unwrap_or(0) >= channels
		})
		.await?;
		eprintln!("confirmations: mining {CONFIRMATIONS} blocks on the funding transactions");
		rpc.mine_empty(CONFIRMATIONS).await.map_err(|e| e.to_string())?;
		self.wait_ready().await
	}

	/// Waits until every channel is usable and the graph has spread, so that the first node
	/// can route to the last.
	async fn wait_ready(&self) -> Result<(), String> {
		let channels = self.nodes.len().saturating_sub(1);
		eprintln!(
			"waiting until the {channels} channel(s) are usable and gossip has spread the graph"
		);
		for node in &self.nodes {
			let expected = if channels == 0 {
				0
			} else if node.name == self.nodes[0].name || node.name == self.nodes[channels].name {
				1
			} else {
				2
			};
			wait_until(&format!("{}'s channels are usable", node.name), STAGE_TIMEOUT, || async {
				node.node.list_channels().iter().filter(|c| c.is_usable).count() == expected
			})
			.await?;
		}
		let rpc = self.bitcoind.client();
		for node in &self.nodes {
			// Announcements need the funding 6 deep; keep blocks coming while gossip spreads,
			// as a restarted network may sit at the same height.
			let what = format!(
				"{} knows the whole graph (gossip; a block is mined every 0.4 s meanwhile)",
				node.name
			);
			wait_until(&what, STAGE_TIMEOUT, || async {
				let known = node.node.info().graph_channels >= channels;
				if !known {
					let _ = rpc.mine_empty(1).await;
					tokio::time::sleep(Duration::from_millis(400)).await;
				}
				known
			})
			.await?;
		}
		Ok(())
	}

	/// Each node's peers, channels and last log lines: what to look at when start-up fails.
	pub fn describe(&self) -> String {
		let mut out = String::new();
		for node in &self.nodes {
			let peers: Vec<String> = node
				.node
				.list_peers()
				.iter()
				.map(|p| {
					format!("{}..{}", &p.node_id[..8], if p.connected { "" } else { " (offline)" })
				})
				.collect();
			let channels: Vec<String> =
				node.node.list_channels().iter().map(|c| c.state.clone()).collect();
			out.push_str(&format!("{}: peers {peers:?}, channels {channels:?}\n", node.name));
			let log = std::fs::read_to_string(node.data_dir.join("fulgur.log")).unwrap_or_default();
			let lines: Vec<&str> = log.lines().collect();
			for line in &lines[lines.len().saturating_sub(LOG_LINES_ON_FAILURE)..] {
				out.push_str(&format!("  {line}\n"));
			}
		}
		out
	}

	/// What `network.json` says.
	pub fn file(&self) -> NetworkFile {
		NetworkFile {
			bitcoind: NetworkRpc {
				rpc_url: self.bitcoind.rpc_url(),
				rpc_user: self.bitcoind.rpc_user().to_string(),
				rpc_password: self.bitcoind.rpc_password().to_string(),
				p2p_port: Some(self.bitcoind.p2p_port()),
			},
			nodes: self
				.nodes
				.iter()
				.map(|n| NetworkNode {
					name: n.name.clone(),
					node_id: n.node.node_id().to_string(),
					p2p_addr: n.p2p_addr(),
					api_url: n.api_url(),
					api_key: n.api_key.clone(),
					lnd: n.lnd_rest.as_ref().map(LndRestEntry::of),
					phoenixd_url: n.phoenixd.url(),
					phoenixd_password: n.phoenixd_passwords.full.clone(),
					phoenixd_limited_password: n.phoenixd_passwords.limited.clone(),
				})
				.collect(),
		}
	}

	/// Stops every node, then bitcoind.
	pub async fn down(self) {
		for node in self.nodes {
			node.stop().await;
		}
		if let Err(e) = self.bitcoind.stop().await {
			eprintln!("stopping bitcoind: {e}");
		}
	}
}

/// `fulgur regtest up`: start, print how to use it, run until Ctrl-C.
pub async fn run_up(dir: &Path, count: usize) -> Result<(), String> {
	let network = RegtestNetwork::up(dir, count).await?;
	let file = network.file();
	print_ready(&file, dir);
	crate::daemon::shutdown_signal().await;
	eprintln!("shutting down");
	network.down().await;
	Ok(())
}

fn print_ready(file: &NetworkFile, dir: &Path) {
	let json = dir.join("network.json");
	println!("fulgur regtest network ready: {} nodes, {}", file.nodes.len(), json.display());
	for node in &file.nodes {
		println!(
			"  {:<6} {}  p2p {}  api {}",
			node.name, node.node_id, node.p2p_addr, node.api_url
		);
	}
	if let (Some(first), Some(last)) = (file.nodes.first(), file.nodes.last()) {
		println!();
		println!("try (with jq):");
		println!("  NET={}", json.display());
		println!("  key() {{ jq -r \".nodes[] | select(.name==\\\"$1\\\") | .api_key\" $NET; }}");
		println!("  url() {{ jq -r \".nodes[] | select(.name==\\\"$1\\\") | .api_url\" $NET; }}");
		println!(
			"  INV=$(curl -s -H \"Authorization: Bearer $(key {0})\" -d '{{\"amount_msat\":5000000,\"description\":\"coffee\"}}' $(url {0})/v1/invoices | jq -r .bolt11)",
			last.name
		);
		println!(
			"  curl -s -H \"Authorization: Bearer $(key {0})\" -d \"{{\\\"invoice\\\":\\\"$INV\\\",\\\"wait\\\":true}}\" $(url {0})/v1/payments",
			first.name
		);
		println!("  fulgur regtest mine 6");
	}
	println!("Ctrl-C stops the network; `fulgur regtest up` again restarts it from disk.");
}

/// `fulgur regtest mine <blocks> [--address A]` against the network in `dir`.
pub async fn run_mine(dir: &Path, blocks: u64, address: Option<&str>) -> Result<(), String> {
	let file = NetworkFile::read(dir)?
		.ok_or_else(|| format!("no network in {} (run `fulgur regtest up`)", dir.display()))?;
	let rpc = BitcoindRpc::new(
		&file.bitcoind.rpc_url,
		&file.bitcoind.rpc_user,
		&file.bitcoind.rpc_password,
	)
	.map_err(|e| e.to_string())?;
	let mined = match address {
		Some(address) => rpc.mine(blocks, &launch::parse_address(address)?).await,
		None => rpc.mine_empty(blocks).await,
	};
	let hashes = mined.map_err(|e| format!("mining: {e}"))?;
	let height = rpc.block_count().await.map_err(|e| e.to_string())?;
	println!("{}", serde_json::json!({ "mined": hashes.len(), "height": height }));
	Ok(())
}
