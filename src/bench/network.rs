//! The nodes of one phase of `bench payments`: the hub (the node under test) in a process of
//! its own, the payers and, for two hops, the merchant in this one, with the channels the hub
//! funded ([`Plan`]) and bitcoind confirmed.
//!
//! Invariant: a phase starts only with every channel usable on both sides; on any failure
//! every node started is stopped again.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fulgur_node::{Node, StoreKind};

use super::chain::Chain;
use super::channels::confirm_round;
use super::hub::protocol::ChannelOpen;
use super::hub::{HubLaunch, RemoteHub};
use super::plan::{Peer, Plan, SPARE_ROUNDS};
use super::setup::{bounded, start_nodes, stop_nodes, NodeSpec, START_BATCH};
use crate::progress::{self, Progress};
use crate::regtest::launch::wait_until;

/// LDK refuses a fifth inbound channel from a peer while four are unconfirmed: a block is
/// mined after every this many rounds.
const ROUNDS_PER_BLOCK: usize = 4;

/// The nodes of one phase.
pub struct Network {
	/// The node under test, in its own process.
	pub hub: Arc<RemoteHub>,
	/// The load generators.
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

	/// Payers and merchant.
	fn peers(&self) -> Vec<Node> {
		self.payers.iter().cloned().chain(self.merchant.clone()).collect()
	}
}

/// Starts the hub process (on `store`, accepting peers) and the payers and merchant (memory
/// store, connecting out only, in this process), in `dir`, and connects them to the hub.
///
/// `postgres_url` is the hub's database when `store` is [`StoreKind::Postgres`].
pub async fn start_network(
	chain: &Chain, dir: &Path, store: StoreKind, postgres_url: Option<String>, plan: &Plan,
	towers: &[String], receive_delay: crate::daemon::ReceiveDelayArg,
) -> Result<Network, String> {
	let port = crate::bitcoind::free_port().map_err(|e| e.to_string())?;
	std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
	let hub = RemoteHub::start(HubLaunch {
		data_dir: &dir.join("hub"),
		store,
		port,
		rpc: &chain.rpc,
		towers,
		postgres_url,
		receive_delay,
	})
	.await?;
	let spec = |name: String| NodeSpec {
		name,
		dir,
		rpc: &chain.rpc,
		store: StoreKind::Memory,
		listen_port: None,
	};
	let mut configs = Vec::with_capacity(plan.payers + 1);
	for i in 0..plan.payers {
		configs.push(spec(format!("payer{i:04}")).config()?);
	}
	if plan.merchant_channels > 0 {
		configs.push(spec("merchant".into()).config()?);
	}
	let mut others = match start_nodes(configs, START_BATCH).await {
		Ok(nodes) => nodes,
		Err(e) => {
			hub.stop().await;
			return Err(e);
		}
	};
	let merchant = if plan.merchant_channels > 0 { others.pop() } else { None };
	let network = Network { hub, payers: Arc::new(others), merchant };
	let (hub_id, hub_addr) = (network.hub.node_id(), network.hub.listen_addr().to_string());
	let connected = bounded(network.peers(), START_BATCH, |peer| {
		let hub_addr = hub_addr.clone();
		async move { peer.connect_peer(hub_id, &hub_addr).await.map_err(|e| e.to_string()) }
	})
	.await;
	if let Some(Err(e)) = connected.into_iter().find(Result::is_err) {
		network.stop().await;
		return Err(format!("connecting to the hub: {e}"));
	}
	Ok(network)
}

/// Funds the hub, opens every channel of `plan` in rounds, confirms them and waits until all
/// are usable on both sides.
pub async fn open_channels(
	chain: &mut Chain, network: &Network, plan: &Plan,
) -> Result<(), String> {
	let hub = &network.hub;
	let outputs = plan.funding_outputs();
	let address = hub.new_address().await?;
	chain.fund(&address, &outputs).await?;
	let funded: u64 = outputs.iter().sum();
	wait_until("the hub's wallet sees its funding", Duration::from_secs(120), || async {
		hub.confirmed_balance_sat().await.unwrap_or(0) >= funded
	})
	.await?;
	let rounds = plan.rounds();
	let peers = network.peers();
	let channels = plan.channels + plan.merchant_channels;
	let progress = Progress::start("opening channels", channels as u64, "channels");
	let (mut retries, mut since_block) = (0, 0);
	for (r, round) in rounds.iter().enumerate() {
		let opens = round
			.iter()
			.map(|open| {
				let node = match open.peer {
					Peer::Payer(p) => network.payers.get(p),
					Peer::Merchant => network.merchant.as_ref(),
				};
				Ok(ChannelOpen {
					node_id: node.ok_or("the plan names a node not started")?.node_id().to_string(),
					amount_sat: open.amount_sat,
					push_msat: open.push_msat,
				})
			})
			.collect::<Result<Vec<ChannelOpen>, String>>()?;
		while let Err(e) = hub.open_batch(opens.clone()).await {
			// Under load a hub serialising a big channel manager answers pings late and
			// peers drop; they reconnect within seconds. A spare UTXO pays for the retry.
			if retries == SPARE_ROUNDS {
				return Err(format!("opening round {r}: {e}"));
			}
			retries += 1;
			progress::line(&format!("round {r} failed ({e}); again in 10 s"));
			tokio::time::sleep(Duration::from_secs(10)).await;
		}
		since_block += 1;
		if since_block == ROUNDS_PER_BLOCK && r + 1 < rounds.len() {
			confirm_round(chain, &peers, since_block).await?;
			since_block = 0;
		}
		progress.add(round.len() as u64);
	}
	drop(progress);
	eprintln!("opened {channels} channels in {} rounds", rounds.len());
	let last_round: &Chain = chain;
	wait_until(
		"the last funding transactions are in the mempool",
		Duration::from_secs(300),
		|| async move { last_round.mempool_size().await >= since_block },
	)
	.await?;
	chain.confirm().await?;
	let timeout = Duration::from_secs(120) + Duration::from_millis(100) * channels as u32;
	let usable = |node: &Node| node.list_channels().iter().filter(|c| c.is_usable).count();
	wait_until("every channel is usable on both sides", timeout, || async {
		let payers_ready = network
			.payers
			.iter()
			.enumerate()
			.all(|(p, payer)| usable(payer) >= plan.channels_of(p));
		let merchant_ready = network.merchant.as_ref().map(usable).unwrap_or(0);
		let ready = payers_ready
			&& merchant_ready == plan.merchant_channels
			&& hub.usable_channels().await.unwrap_or(0) == channels as u64;
		if !ready {
			tokio::time::sleep(Duration::from_millis(400)).await;
		}
		ready
	})
	.await
}
