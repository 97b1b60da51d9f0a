//! The nodes of one phase: a hub (the node under test) with N payers and, for two hops, a
//! merchant, each with channels the hub funded and bitcoind confirmed.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fulgur_node::config::Level;
use fulgur_node::{Node, NodeConfig, NodeError, OpenChannelRequest, StoreKind};
use tokio::task::JoinSet;

use super::chain::{fan_outs, Chain};
use crate::progress::Progress;
use crate::regtest::launch::{wait_until, RpcEndpoint};

/// Smallest payer channel.
const MIN_CHANNEL_SAT: u64 = 200_000;
/// LDK's largest channel without `option_support_large_channel`.
const MAX_CHANNEL_SAT: u64 = 16_777_215;
/// Each funding UTXO is the channel plus this, for the funding transaction's fee.
const UTXO_MARGIN_SAT: u64 = 30_000;
/// LDK accepts 50 HTLCs per channel by default; the merchant gets a channel per this many in
/// flight, and the hub forwards over whichever has room (LDK's non-strict forwarding).
const HTLCS_PER_MERCHANT_CHANNEL: usize = 40;
/// Nodes started (and stopped) at once.
const START_BATCH: usize = 50;
/// Channel opens in flight at once.
const OPEN_FAN_OUT: usize = 32;
/// `Node::open_channel` connects first, which is a no-op when the peer is already connected.
/// Payers have no listener, so they connect to the hub and the hub opens over that connection;
/// this address only satisfies the request's syntax and is never dialled.
const CONNECTED_PEER_ADDRESS: &str = "127.0.0.1:9";
/// Opens retried (50 ms apart) while the hub has not seen the payer's connection yet.
const OPEN_ATTEMPTS: u32 = 100;

/// How big the channels are, so that every payment of a phase fits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
	/// Payer nodes.
	pub payers: usize,
	/// Each hub → payer channel.
	pub payer_capacity_sat: u64,
	/// Pushed to the payer at opening: what it pays with.
	pub payer_push_msat: u64,
	/// Hub → merchant channels (0 for one hop).
	pub merchant_channels: usize,
	/// Each hub → merchant channel (nothing pushed: the hub forwards with it).
	pub merchant_capacity_sat: u64,
}

impl Plan {
	/// Channel sizes for `payments` payments (warm-up included) of at most `amount_max_sat`,
	/// spread over `payers`, with up to `max_concurrency` in flight.
	pub fn new(
		payers: usize, payments: u64, amount_max_sat: u64, hops: u8, max_concurrency: usize,
	) -> Result<Plan, String> {
		// Routing fees are at most 10% + 1 sat (see `max_fee_msat`), paid by the payer.
		let per_payment =
			if hops == 2 { amount_max_sat + amount_max_sat / 10 + 1 } else { amount_max_sat };
		let per_payer = payments.div_ceil(payers as u64) * per_payment;
		let payer_capacity_sat = (per_payer * 2 + 20_000).max(MIN_CHANNEL_SAT);
		if payer_capacity_sat > MAX_CHANNEL_SAT {
			return Err(format!(
				"{per_payer} sat per payer needs channels above LDK's {MAX_CHANNEL_SAT} sat: \
				 raise --channels or lower --payments"
			));
		}
		let (merchant_channels, merchant_capacity_sat) = if hops == 2 {
			let total = payments * amount_max_sat * 6 / 5;
			let by_htlcs = max_concurrency.div_ceil(HTLCS_PER_MERCHANT_CHANNEL);
			let by_size = usize::try_from(total.div_ceil(MAX_CHANNEL_SAT * 4 / 5)).unwrap_or(1);
			let count = by_htlcs.max(by_size).max(1);
			let each = total.div_ceil(count as u64) * 102 / 100 + 20_000;
			(count, each.max(MIN_CHANNEL_SAT))
		} else {
			(0, 0)
		};
		Ok(Plan {
			payers,
			payer_capacity_sat,
			payer_push_msat: payer_capacity_sat * 3 / 4 * 1000,
			merchant_channels,
			merchant_capacity_sat,
		})
	}

	/// The hub's funding UTXOs, one per channel: merchant channels first, then payers.
	pub fn funding_outputs(&self) -> Vec<u64> {
		let merchant = std::iter::repeat_n(self.merchant_capacity_sat, self.merchant_channels);
		let payers = std::iter::repeat_n(self.payer_capacity_sat, self.payers);
		merchant.chain(payers).map(|sat| sat + UTXO_MARGIN_SAT).collect()
	}

	/// Fan-out transactions (so coinbases) one phase needs.
	pub fn fan_outs(&self) -> usize {
		fan_outs(&self.funding_outputs())
	}
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
/// The nodes of one phase.
pub struct Network {
	/// The node under test.
	pub hub: Node,
	/// The load generators, one channel each to the hub.
	pub payers: Arc<Vec<Node>>,
	/// The payee of two-hop payments.
	pub merchant: Option<Node>,
}

impl Network {
	/// Stops every node: payers and merchant, then the hub.
	pub async fn stop(self) {
		let mut nodes: Vec<Node> = self.payers.iter().cloned().collect();
		nodes.extend(self.merchant);
		stop_nodes(nodes, START_BATCH).await;
		self.hub.stop().await;
	}
}
/// Starts the hub (on `store`, accepting peers) and the payers and merchant (memory store,
/// connecting out only), in `dir`.
///
/// `postgres_url` is the hub's database when `store` is [`StoreKind::Postgres`].
pub async fn start_network(
	chain: &Chain, dir: &Path, store: StoreKind, postgres_url: Option<String>, plan: &Plan,
	towers: &[String],
) -> Result<Network, String> {
	let port = crate::bitcoind::free_port().map_err(|e| e.to_string())?;
	let spec = |name: String, store, listen_port| NodeSpec {
		name,
		dir,
		rpc: &chain.rpc,
		store,
		listen_port,
	};
	let mut hub_config = spec("hub".into(), store, Some(port)).config()?;
	hub_config.towers = towers.to_vec();
	hub_config.postgres_url = postgres_url;
	let mut configs = Vec::with_capacity(plan.payers + 1);
	for i in 0..plan.payers {
		configs.push(spec(format!("payer{i:04}"), StoreKind::Memory, None).config()?);
	}
	if plan.merchant_channels > 0 {
		configs.push(spec("merchant".into(), StoreKind::Memory, None).config()?);
	}
	let hub = start_nodes(vec![hub_config], 1).await?;
	let mut others = match start_nodes(configs, START_BATCH).await {
		Ok(nodes) => nodes,
		Err(e) => {
			stop_nodes(hub, 1).await;
			return Err(e);
		}
	};
	let merchant = if plan.merchant_channels > 0 { others.pop() } else { None };
	let hub = hub.into_iter().next().ok_or("the hub did not start")?;
	Ok(Network { hub, payers: Arc::new(others), merchant })
}

/// Funds the hub, opens every channel from it, confirms them and waits until all are usable.
pub async fn open_channels(
	chain: &mut Chain, network: &Network, plan: &Plan,
) -> Result<(), String> {
	let hub = &network.hub;
	let outputs = plan.funding_outputs();
	let address = hub.new_onchain_address().map_err(|e| e.to_string())?;
	chain.fund(&address, &outputs).await?;
	wait_funded(hub, outputs.iter().sum()).await?;
	let (hub_id, hub_addr) = (hub.node_id(), hub.listen_addr().to_string());
	let open = |peer: Node, amount_sat: u64, push_msat: u64| {
		let (hub, hub_addr) = (hub.clone(), hub_addr.clone());
		async move {
			peer.connect_peer(hub_id, &hub_addr).await.map_err(|e| format!("connect: {e}"))?;
			let request = OpenChannelRequest {
				node_id: peer.node_id(),
				address: CONNECTED_PEER_ADDRESS.to_string(),
				amount_sat,
				push_msat: Some(push_msat),
				announce: Some(false),
			};
			// The payer's side of the handshake may finish before the hub's: until the hub
			// lists the payer, it tries to dial the placeholder address and is refused.
			let mut attempts = 0;
			loop {
				match hub.open_channel(request.clone()).await {
					Ok(_) => return Ok(()),
					Err(NodeError::PeerUnreachable(_)) if attempts < OPEN_ATTEMPTS => {
						attempts += 1;
						tokio::time::sleep(Duration::from_millis(50)).await;
					}
					Err(e) => return Err(format!("open: {e}")),
				}
			}
		}
	};
	if let Some(merchant) = &network.merchant {
		for _ in 0..plan.merchant_channels {
			open(merchant.clone(), plan.merchant_capacity_sat, 0).await?;
		}
	}
	let payers: Vec<Node> = network.payers.iter().cloned().collect();
	let progress = Arc::new(Progress::start("opening channels", plan.payers as u64, "channels"));
	let opened = bounded(payers, OPEN_FAN_OUT, |payer| {
		let (opening, progress) =
			(open(payer, plan.payer_capacity_sat, plan.payer_push_msat), Arc::clone(&progress));
		async move {
			let opened = opening.await;
			progress.add(1);
			opened
		}
	})
	.await;
	drop(progress);
	eprintln!("opened {} channels", plan.payers);
	let failed: Vec<&String> = opened.iter().filter_map(|r| r.as_ref().err()).collect();
	if let Some(first) = failed.first() {
		return Err(format!(
			"{} of {} channel opens failed, first: {first}",
			failed.len(),
			plan.payers
		));
	}
	let channels = plan.payers + plan.merchant_channels;
	wait_until("every funding transaction is in the mempool", Duration::from_secs(120), || async {
		chain.mempool_size().await >= channels
	})
	.await?;
	chain.confirm().await?;
	let timeout = Duration::from_secs(120) + Duration::from_millis(100) * channels as u32;
	let usable = |node: &Node| node.list_channels().iter().filter(|c| c.is_usable).count();
	wait_until("every channel is usable on both sides", timeout, || async {
		let payers_ready = network.payers.iter().filter(|p| usable(p) >= 1).count();
		let merchant_ready = network.merchant.as_ref().map(usable).unwrap_or(0);
		let ready = usable(hub) == channels
			&& payers_ready == plan.payers
			&& merchant_ready == plan.merchant_channels;
		if !ready {
			tokio::time::sleep(Duration::from_millis(400)).await;
		}
		ready
	})
	.await
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn plans_fit_the_payments() {
		let plan = Plan::new(1000, 101_001, 10, 1, 64).unwrap();
		assert_eq!(plan.payer_capacity_sat, MIN_CHANNEL_SAT);
		assert_eq!(plan.merchant_channels, 0);
		assert_eq!(plan.funding_outputs().len(), 1000);
		assert_eq!(plan.fan_outs(), 2);
		// Few payers, many payments: bigger channels, the push covering what each pays.
		let plan = Plan::new(10, 100_000, 10, 1, 64).unwrap();
		assert!(plan.payer_push_msat / 1000 > 10_000 * 10 + plan.payer_capacity_sat / 100);
		assert!(Plan::new(1, 10_000_000, 10, 1, 64).is_err());
		// Two hops: a merchant channel per 40 HTLCs in flight, together carrying every payment.
		let plan = Plan::new(100, 100_000, 10, 2, 256).unwrap();
		assert_eq!(plan.merchant_channels, 7);
		assert!(plan.merchant_capacity_sat * 7 >= 100_000 * 10);
		assert_eq!(plan.funding_outputs()[0], plan.merchant_capacity_sat + UTXO_MARGIN_SAT);
	}
}
