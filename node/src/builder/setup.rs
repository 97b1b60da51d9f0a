//! What the start-up steps use: the seed, the store, LDK's channel defaults, the start-up
//! clock and the snapshot a starting node shows.

use lightning::util::config::UserConfig;

use crate::config::{NodeConfig, STORE_OPEN_ATTEMPTS, STORE_OPEN_RETRY_DELAY};
use crate::model::NodeInfo;
use crate::private_files;
use crate::store::SledStore;
use crate::types::ChannelManager;
use crate::NodeError;

/// How long each start-up step took, for the log and `Node::startup_timings`.
pub(super) struct StartupClock {
	last: std::time::Instant,
	pub(super) laps: Vec<(&'static str, std::time::Duration)>,
}

impl StartupClock {
	pub(super) fn new() -> Self {
		StartupClock { last: std::time::Instant::now(), laps: Vec::new() }
	}

	pub(super) fn lap(&mut self, step: &'static str) {
		let now = std::time::Instant::now();
		self.laps.push((step, now - self.last));
		self.last = now;
	}

	pub(super) fn summary(&self) -> String {
		let steps: Vec<String> =
			self.laps.iter().map(|(s, d)| format!("{s} {} ms", d.as_millis())).collect();
		steps.join(", ")
	}
}

/// What the node can truthfully say of itself before it runs: no peers, no monitor updates.
pub(super) fn starting_info(
	config: &NodeConfig, manager: &ChannelManager, graph: &crate::types::NetworkGraph,
) -> NodeInfo {
	let best = manager.current_best_block();
	let channels = manager.list_channels();
	let graph = crate::routing::graph::summary(graph);
	NodeInfo {
		node_id: manager.get_our_node_id().to_string(),
		network: config.network.to_string(),
		block_height: best.height,
		block_hash: best.block_hash.to_string(),
		synced: false,
		sync_status: String::new(),
		num_peers: 0,
		num_channels: channels.len(),
		num_usable_channels: 0,
		listening_addresses: vec![config.listen_addr.to_string()],
		graph_nodes: graph.node_count,
		graph_channels: graph.channel_count_both_directions,
		monitor_updates_in_flight: 0,
		monitor_updates_done: 0,
		last_persist_latency_us: None,
	}
}

/// Channel defaults: anchor channels (unless configured off), inbound ones accepted by our
/// handler (which checks the peer's fee rate against our policy), the policy's dust-exposure
/// limit, up to BOLT 2's 483 HTLCs in flight, forwarding to private channels allowed (route
/// hints), the configured forwarding policy.
pub(super) fn user_config(node: &NodeConfig) -> UserConfig {
	let mut config = UserConfig::default();
	config.channel_handshake_config.negotiate_anchors_zero_fee_htlc_tx = node.anchor_channels;
	config.channel_config.max_dust_htlc_exposure = node.fee_policy.ldk_limit();
	config.channel_config.forwarding_fee_base_msat = node.forwarding.fee_base_msat;
	config.channel_config.forwarding_fee_proportional_millionths = node.forwarding.fee_ppm;
	config.channel_config.cltv_expiry_delta = node.forwarding.cltv_expiry_delta;
	config.channel_handshake_config.max_inbound_htlc_value_in_flight_percent_of_channel = 100;
	config.channel_handshake_config.our_max_accepted_htlcs = crate::config::MAX_ACCEPTED_HTLCS;
	config.channel_handshake_limits.force_announced_channel_preference = false;
	config.manually_accept_inbound_channels = true;
	config.accept_forwards_to_priv_channels = true;
	config
}

/// Opens the store, waiting a little if it is still locked: a node stopped and started again
/// in one process may have connection tasks still letting go of the previous instance.
pub(super) async fn open_sled(path: &std::path::Path) -> Result<SledStore, NodeError> {
	let mut attempts = 0;
	loop {
		match SledStore::open(path) {
			Ok(store) => return Ok(store),
			Err(_) if attempts < STORE_OPEN_ATTEMPTS => {
				attempts += 1;
				tokio::time::sleep(STORE_OPEN_RETRY_DELAY).await;
			}
			Err(e) => {
				return Err(NodeError::Persistence(format!(
					"opening store {} (is another node using it?): {e}",
					path.display()
				)))
			}
		}
	}
}

pub(super) fn read_or_create_seed(path: &std::path::Path) -> Result<[u8; 32], NodeError> {
	use std::io::Write;
	use std::os::unix::fs::OpenOptionsExt;
	match std::fs::read(path) {
		Ok(bytes) => bytes.as_slice().try_into().map_err(|_| {
			NodeError::Persistence(format!("{} is not a 32-byte seed", path.display()))
		}),
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
			let seed: [u8; 32] = rand::random();
			let mut file = std::fs::OpenOptions::new()
				.write(true)
				.create_new(true)
				.mode(0o600)
				.open(path)
				.map_err(|e| NodeError::Persistence(format!("creating seed: {e}")))?;
			file.write_all(&seed)
				.and_then(|()| file.sync_all())
				.map_err(|e| NodeError::Persistence(format!("writing seed: {e}")))?;
			// The seed's directory entry must be as durable as its bytes.
			let dir = path.parent().unwrap_or_else(|| std::path::Path::new("."));
			private_files::sync_dir(dir)
				.map_err(|e| NodeError::Persistence(format!("syncing seed directory: {e}")))?;
			Ok(seed)
		}
		Err(e) => Err(NodeError::Persistence(format!("reading seed: {e}"))),
	}
}
