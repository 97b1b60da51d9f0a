//! `fulgur bench channels`: a hub with many channels, restarted from disk.
//!
//! The hub (sled) opens `--channels` channels to `--peers` in-process peers (memory store),
//! one batch funding transaction per round of one channel to each peer (LDK allows a peer only
//! a few unfunded inbound channels at once), and bitcoind confirms them. The hub is stopped
//! and restarted from its directory in a child process, so its restart time and resident
//! memory are its own and not the peers'. The baseline, in the same run: an empty hub, set up
//! and restarted the same way. Per channel = (hub − empty hub) / channels.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use clap::Args;
use fulgur_node::{Node, NodeError, OpenChannelRequest, StoreKind};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::chain::Chain;
use super::measure::ProcSample;
use super::setup::{bounded, start_nodes, stop_nodes, wait_funded, ChildRpcArgs, NodeSpec};
use crate::progress::{self, Progress};
use crate::regtest::launch::{wait_until, RpcEndpoint};

/// Nodes started at once.
const START_BATCH: usize = 50;
/// Each batch's funding UTXO is its channels plus this, for the transaction's fee.
const BATCH_MARGIN_SAT: u64 = 100_000;
/// Batch opens retried (100 ms apart) while the hub has not seen every peer's connection.
const OPEN_ATTEMPTS: u32 = 100;
/// Payers connect to the hub and the hub opens over that connection: never dialled.
const CONNECTED_PEER_ADDRESS: &str = "127.0.0.1:9";
/// Times a failed batch is made again.
const BATCH_RETRIES: u32 = 3;
/// Restarts measured per hub (the median is reported).
const RESTARTS: usize = 3;
/// LDK gives every channel a random alias short channel id from the blocks between the segwit
/// height and a month (4,320 blocks) below the tip, 2,500 per block; a young regtest chain has
/// room for 2,500 channels per node, so the chain is grown past this height first.
const ALIAS_ROOM_HEIGHT: u64 = 4_320 + 40;
/// LDK refuses a fifth inbound channel from a peer while four are unconfirmed: a block is
/// mined after every this many rounds.
const ROUNDS_PER_BLOCK: usize = 4;

/// `fulgur bench channels`.
#[derive(Args, Debug, Clone)]
pub struct ChannelsArgs {
	/// Channels of the hub
	#[arg(long, default_value_t = 10_000)]
	pub channels: usize,
	/// In-process peers the channels are spread over
	#[arg(long, default_value_t = 100)]
	pub peers: usize,
	/// Capacity of each channel
	#[arg(long, default_value_t = 20_000)]
	pub channel_sat: u64,
	/// Store of the hub
	#[arg(long, default_value = "sled")]
	pub store: StoreKind,
	/// Where the results and the working files go
	#[command(flatten)]
	pub output: super::OutputArgs,
}

/// `fulgur bench restart-probe` (internal): starts a stopped node from its directory, prints
/// how long that took and the process's memory as one JSON line, stops it.
#[derive(Args, Debug, Clone)]
pub struct RestartProbeArgs {
	/// The node's data directory
	#[arg(long)]
	pub data_dir: PathBuf,
	/// Its store
	#[arg(long)]
	pub store: StoreKind,
	/// bitcoind
	#[command(flatten)]
	pub rpc: ChildRpcArgs,
}

/// What a restart probe prints.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RestartSample {
	/// From `Node::start` to its return: store opened, manager and monitors read, chain synced.
	pub start_ms: f64,
	/// Channels the restarted node has.
	pub channels: usize,
	/// Resident memory once started, kB.
	pub rss_kb: u64,
	/// Peak resident memory of the process, kB.
	pub peak_rss_kb: u64,
	/// Milliseconds per start-up step.
	pub steps_ms: Vec<(String, f64)>,
}

/// One hub: its size on disk and its restarts.
#[derive(Clone, Debug, Serialize)]
struct HubResult {
	channels: usize,
	setup_s: f64,
	disk_bytes: u64,
	restarts: Vec<RestartSample>,
}

impl HubResult {
	fn restart_ms(&self) -> f64 {
		median(self.restarts.iter().map(|r| r.start_ms).collect())
	}

	fn rss_kb(&self) -> f64 {
		median(self.restarts.iter().map(|r| r.rss_kb as f64).collect())
	}
}

/// Runs the benchmark.
pub async fn run(args: ChannelsArgs) -> Result<(), String> {
	if args.channels == 0 || args.peers == 0 {
		return Err("--channels and --peers must be at least 1".into());
	}
	let dir = args.output.work_dir()?;
	eprintln!("bench channels: working in {}", dir.display());
	let batches = args.channels.div_ceil(args.peers);
	let mut chain = Chain::start(&dir.join("bitcoind"), batches.div_ceil(500) + 1).await?;
	if let Err(e) = grow_chain(&chain, args.channels).await {
		chain.stop().await;
		return Err(e);
	}
	let outcome = measure(&mut chain, &dir, &args).await;
	chain.stop().await;
	let (empty, hub) =
		outcome.map_err(|e| format!("{e} (working directory kept: {})", dir.display()))?;
	let report = report(&args, &empty, &hub);
	print!("{}", table(&report));
	super::write_json(args.output.json.as_deref(), &report)?;
	args.output.finish(&dir);
	Ok(())
}

async fn measure(
	chain: &mut Chain, dir: &Path, args: &ChannelsArgs,
) -> Result<(HubResult, HubResult), String> {
	let spec = |name: &str, store, listen_port| NodeSpec {
		name: name.to_string(),
		dir,
		rpc: &chain.rpc,
		store,
		listen_port,
	};
	// The baseline: a hub without channels.
	let empty_config = spec("empty", args.store, Some(free_port()?)).config()?;
	let empty = start_nodes(vec![empty_config.clone()], 1).await?;
	stop_nodes(empty, 1).await;
	let empty = HubResult {
		channels: 0,
		setup_s: 0.0,
		disk_bytes: dir_bytes(&empty_config.data_dir),
		restarts: restarts(&empty_config.data_dir, args.store, &chain.rpc).await?,
	};

	let hub_config = spec("hub", args.store, Some(free_port()?)).config()?;
	let hub_dir = hub_config.data_dir.clone();
	let mut configs = Vec::with_capacity(args.peers);
	for i in 0..args.peers {
		configs.push(spec(&format!("peer{i:04}"), StoreKind::Memory, None).config()?);
	}
	let hub = start_nodes(vec![hub_config], 1).await?.remove(0);
	let peers = match start_nodes(configs, START_BATCH).await {
		Ok(peers) => peers,
		Err(e) => {
			hub.stop().await;
			return Err(e);
		}
	};
	let started = Instant::now();
	let opened = open_all(chain, &hub, &peers, args).await;
	let setup_s = started.elapsed().as_secs_f64();
	stop_nodes(peers, START_BATCH).await;
	stop_nodes(vec![hub], 1).await;
	opened?;
	eprintln!("{} channels open and confirmed in {setup_s:.0} s", args.channels);
	let hub = HubResult {
		channels: args.channels,
		setup_s,
		disk_bytes: dir_bytes(&hub_dir),
		restarts: restarts(&hub_dir, args.store, &chain.rpc).await?,
	};
	Ok((empty, hub))
}

/// Funds the hub, opens every channel in batches of one per peer, confirms them.
async fn open_all(
	chain: &mut Chain, hub: &Node, peers: &[Node], args: &ChannelsArgs,
) -> Result<(), String> {
	let (hub_id, hub_addr) = (hub.node_id(), hub.listen_addr().to_string());
	bounded(peers.to_vec(), START_BATCH, |peer| {
		let hub_addr = hub_addr.clone();
		async move { peer.connect_peer(hub_id, &hub_addr).await.map_err(|e| e.to_string()) }
	})
	.await
	.into_iter()
	.collect::<Result<Vec<_>, _>>()?;
	let sizes: Vec<usize> = (0..args.channels.div_ceil(args.peers))
		.map(|b| (args.channels - b * args.peers).min(args.peers))
		.collect();
	let mut outputs: Vec<u64> =
		sizes.iter().map(|&n| n as u64 * args.channel_sat + BATCH_MARGIN_SAT).collect();
	// Spare UTXOs for batches that fail (a peer dropped mid-batch) and are made again.
	let batch_sat = args.peers.min(args.channels) as u64 * args.channel_sat + BATCH_MARGIN_SAT;
	outputs.extend(std::iter::repeat_n(batch_sat, BATCH_RETRIES as usize));
	let address = hub.new_onchain_address().map_err(|e| e.to_string())?;
	chain.fund(&address, &outputs).await?;
	wait_funded(hub, outputs.iter().sum()).await?;
	let started = Instant::now();
	let progress = Progress::start("opening channels", args.channels as u64, "channels");
	for (b, &size) in sizes.iter().enumerate() {
		let reqs: Vec<OpenChannelRequest> = peers[..size]
			.iter()
			.map(|peer| OpenChannelRequest {
				node_id: peer.node_id(),
				address: CONNECTED_PEER_ADDRESS.to_string(),
				amount_sat: args.channel_sat,
				push_msat: Some(0),
				announce: Some(false),
			})
			.collect();
		let mut retries = 0;
		while let Err(e) = open_batch(hub, reqs.clone()).await {
			// Under load a hub serialising a big channel manager answers pings late and
			// peers drop; they reconnect within seconds.
			if retries == BATCH_RETRIES {
				return Err(format!("batch {b}: {e}"));
			}
			retries += 1;
			progress::line(&format!("batch {b} failed ({e}); again in 10 s"));
			tokio::time::sleep(Duration::from_secs(10)).await;
		}
		if (b + 1) % ROUNDS_PER_BLOCK == 0 {
			confirm_round(chain, peers, ROUNDS_PER_BLOCK).await?;
		}
		progress.add(size as u64);
	}
	drop(progress);
	let rate = args.channels as f64 / started.elapsed().as_secs_f64();
	eprintln!("opened {} channels ({rate:.0}/s)", args.channels);
	wait_until(
		"the last funding transactions are in the mempool",
		Duration::from_secs(300),
		|| async { chain.mempool_size().await >= sizes.len() % ROUNDS_PER_BLOCK },
	)
	.await?;
	let timeout = Duration::from_secs(120) + Duration::from_millis(20) * args.channels as u32;
	chain.confirm().await?;
	wait_until("every channel is usable", timeout, || async {
		let usable = hub.list_channels().iter().filter(|c| c.is_usable).count();
		if usable < args.channels {
			tokio::time::sleep(Duration::from_secs(1)).await;
		}
		usable >= args.channels
	})
	.await
}

/// Mines blocks until the chain has room for `channels` alias short channel ids (per node).
pub(crate) async fn grow_chain(chain: &Chain, channels: usize) -> Result<(), String> {
	let client = chain.bitcoind.client();
	let height = client.block_count().await.map_err(|e| e.to_string())?;
	let needed = ALIAS_ROOM_HEIGHT + channels as u64 / 500;
	if channels > 2_000 && height < needed {
		eprintln!("mining {} blocks so {channels} channels get alias ids", needed - height);
		for _ in 0..(needed - height).div_ceil(1000) {
			let left = needed - client.block_count().await.map_err(|e| e.to_string())?;
			client.mine_empty(left.min(1000)).await.map_err(|e| e.to_string())?;
		}
	}
	Ok(())
}

/// Mines a block over the last `batches` funding transactions and waits until every peer has
/// seen it (so their channels from the hub count as confirmed).
pub(crate) async fn confirm_round(
	chain: &Chain, peers: &[Node], batches: usize,
) -> Result<(), String> {
	wait_until(
		"the round's funding transactions are in the mempool",
		Duration::from_secs(120),
		|| async { chain.mempool_size().await >= batches },
	)
	.await?;
	let client = chain.bitcoind.client();
	client.mine_empty(1).await.map_err(|e| e.to_string())?;
	let height = client.block_count().await.map_err(|e| e.to_string())?;
	wait_until("every peer sees the block", Duration::from_secs(120), || async {
		let behind = peers.iter().any(|p| u64::from(p.info().block_height) < height);
		if behind {
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
		!behind
	})
	.await
}

/// Opens one batch, retrying while the hub has not yet registered a peer's connection.
async fn open_batch(hub: &Node, reqs: Vec<OpenChannelRequest>) -> Result<(), String> {
	let mut attempts = 0;
	loop {
		match hub.open_channels(reqs.clone()).await {
			Ok(_) => return Ok(()),
			Err(NodeError::PeerUnreachable(_)) if attempts < OPEN_ATTEMPTS => {
				attempts += 1;
				tokio::time::sleep(Duration::from_millis(100)).await;
			}
			Err(e) => return Err(e.to_string()),
		}
	}
}

/// Restarts the node in `data_dir` [`RESTARTS`] times, each in a fresh child process.
async fn restarts(
	data_dir: &Path, store: StoreKind, rpc: &RpcEndpoint,
) -> Result<Vec<RestartSample>, String> {
	let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
	let mut samples = Vec::with_capacity(RESTARTS);
	for _ in 0..RESTARTS {
		let output = tokio::process::Command::new(&exe)
			.args(["bench", "restart-probe", "--data-dir"])
			.arg(data_dir)
			.args(["--store", store.as_str()])
			.args(ChildRpcArgs::flags(rpc))
			.stdin(Stdio::null())
			.stderr(Stdio::piped())
			.output()
			.await
			.map_err(|e| format!("restart probe: {e}"))?;
		let stdout = String::from_utf8_lossy(&output.stdout);
		let line = stdout.lines().last().unwrap_or_default();
		let sample: RestartSample = serde_json::from_str(line).map_err(|e| {
			let stderr = String::from_utf8_lossy(&output.stderr);
			format!("restart probe failed ({e}, {}): {stdout} {stderr}", output.status)
		})?;
		let steps: Vec<String> =
			sample.steps_ms.iter().map(|(s, ms)| format!("{s} {ms:.0}")).collect();
		eprintln!(
			"restart of {}: {:.0} ms ({})",
			data_dir.display(),
			sample.start_ms,
			steps.join(", ")
		);
		samples.push(sample);
	}
	Ok(samples)
}

/// The child side of [`restarts`].
pub async fn restart_probe(args: RestartProbeArgs) -> Result<(), String> {
	let config =
		super::setup::child_node_config(&args.data_dir, args.store, &args.rpc, free_port()?)?;
	let started = Instant::now();
	let node = Node::start(config).await.map_err(|e| e.to_string())?;
	let start_ms = started.elapsed().as_secs_f64() * 1000.0;
	let proc = ProcSample::read();
	let sample = RestartSample {
		start_ms,
		channels: node.list_channels().len(),
		rss_kb: proc.rss_kb,
		peak_rss_kb: proc.peak_rss_kb,
		steps_ms: node
			.startup_timings()
			.into_iter()
			.map(|(step, took)| (step.to_string(), took.as_secs_f64() * 1000.0))
			.collect(),
	};
	node.stop().await;
	println!("{}", serde_json::to_string(&sample).map_err(|e| e.to_string())?);
	Ok(())
}

fn report(args: &ChannelsArgs, empty: &HubResult, hub: &HubResult) -> serde_json::Value {
	let n = hub.channels.max(1) as f64;
	json!({
		"config": { "channels": args.channels, "peers": args.peers, "channel_sat": args.channel_sat,
			"store": args.store.as_str(), "restarts": RESTARTS },
		"empty_hub": empty,
		"hub": hub,
		"restart_ms": hub.restart_ms(),
		"restart_ms_empty": empty.restart_ms(),
		"restart_ratio": hub.restart_ms() / empty.restart_ms().max(1e-9),
		"rss_bytes_per_channel": (hub.rss_kb() - empty.rss_kb()) * 1024.0 / n,
		"disk_bytes_per_channel": hub.disk_bytes.saturating_sub(empty.disk_bytes) as f64 / n,
		"setup_channels_per_s": hub.channels as f64 / hub.setup_s.max(1e-9),
	})
}

fn table(report: &serde_json::Value) -> String {
	let f = |key: &str| report[key].as_f64().unwrap_or(f64::NAN);
	let hub = &report["hub"];
	let empty = &report["empty_hub"];
	let mut out = String::new();
	out.push_str("hub            channels  restart ms (median)  RSS MB  disk MB\n");
	for (name, r, ms) in
		[("empty (base)", empty, f("restart_ms_empty")), ("hub", hub, f("restart_ms"))]
	{
		let rss = median(
			r["restarts"]
				.as_array()
				.map(|a| a.iter().filter_map(|s| s["rss_kb"].as_f64()).collect())
				.unwrap_or_default(),
		);
		out.push_str(&format!(
			"{name:<14} {:>8}  {ms:>19.0}  {:>6.1}  {:>7.1}\n",
			r["channels"].as_u64().unwrap_or(0),
			rss / 1024.0,
			r["disk_bytes"].as_f64().unwrap_or(0.0) / 1e6,
		));
	}
	out.push_str(&format!(
		"restart {:.2}x the empty hub; per channel: {:.0} bytes RSS, {:.0} bytes on disk; \
		 set up at {:.0} channels/s\n",
		f("restart_ratio"),
		f("rss_bytes_per_channel"),
		f("disk_bytes_per_channel"),
		f("setup_channels_per_s"),
	));
	out
}

fn median(mut values: Vec<f64>) -> f64 {
	if values.is_empty() {
		return f64::NAN;
	}
	values.sort_by(f64::total_cmp);
	values[values.len() / 2]
}

/// Bytes of every file under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
	let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
	entries
		.flatten()
		.map(|entry| match entry.metadata() {
			Ok(meta) if meta.is_dir() => dir_bytes(&entry.path()),
			Ok(meta) => meta.len(),
			Err(_) => 0,
		})
		.sum()
}

fn free_port() -> Result<u16, String> {
	crate::bitcoind::free_port().map_err(|e| e.to_string())
}
