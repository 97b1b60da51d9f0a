//! `GET /v1/info`, `GET /v1/balance`: the node's state and balances.

use serde::{Deserialize, Serialize};

/// Node-wide state.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeInfo {
	/// Our node id (hex public key).
	pub node_id: String,
	/// `regtest`, `signet`, `testnet` or `bitcoin`.
	pub network: String,
	/// Height of the best block the node has processed.
	pub block_height: u32,
	/// Hash of that block.
	pub block_hash: String,
	/// True once the node has caught up with bitcoind's tip.
	pub synced: bool,
	/// "synced", or what the node is waiting for (bitcoind behind the node's best block,
	/// bitcoind unreachable, catching up).
	#[serde(default)]
	pub sync_status: String,
	/// Connected peers.
	pub num_peers: usize,
	/// All channels, pending ones included.
	pub num_channels: usize,
	/// Channels that can carry payments now.
	pub num_usable_channels: usize,
	/// Addresses we accept peer connections on.
	pub listening_addresses: Vec<String>,
	/// Nodes in our view of the network graph.
	pub graph_nodes: usize,
	/// Channels in our view of the network graph with both directions' updates (routable).
	pub graph_channels: usize,
	/// Monitor updates issued and not yet durable, over all channels.
	pub monitor_updates_in_flight: u64,
	/// Monitor updates made durable since the node started, over all channels.
	pub monitor_updates_done: u64,
	/// Latency of the most recent monitor update, in microseconds.
	pub last_persist_latency_us: Option<u64>,
}

/// On-chain and Lightning balances.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Balance {
	/// Confirmed and spendable on-chain.
	pub onchain_confirmed_sat: u64,
	/// Unconfirmed, or immature coinbase.
	pub onchain_unconfirmed_sat: u64,
	/// What we can send over our channels.
	pub lightning_outbound_msat: u64,
	/// What we can receive over our channels.
	pub lightning_inbound_msat: u64,
	/// Funds in closing channels not yet back in the wallet.
	pub lightning_claimable_sat: u64,
	/// Funds of closed channels still to come back on-chain: claimable by their monitors or
	/// in sweeps not yet confirmed.
	#[serde(default)]
	pub onchain_claimable_sat: u64,
}
