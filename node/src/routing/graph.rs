//! What the gossiped graph says: counts, one node, one channel.

use bitcoin::secp256k1::PublicKey;
use lightning::routing::gossip::{ChannelUpdateInfo, NodeId};
use serde::{Deserialize, Serialize};

use crate::parse::format_scid;
use crate::types::NetworkGraph;

/// Size of the graph.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct GraphSummary {
	/// Nodes known (announced or seen as a channel end).
	pub node_count: usize,
	/// Channels known, announced and checked against the chain.
	pub channel_count: usize,
	/// Channels with an update in both directions (what routing can use both ways).
	pub channel_count_both_directions: usize,
	/// Sum of the capacities of the channels whose capacity is known.
	pub total_capacity_sat: u64,
}

/// One node of the graph.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct GraphNode {
	/// Its public key.
	pub node_id: String,
	/// Alias from its node announcement, if it sent one.
	pub alias: Option<String>,
	/// Addresses from its node announcement.
	pub addresses: Vec<String>,
	/// Unix time of its last node announcement.
	pub last_update: Option<u32>,
	/// Short channel ids of its channels (`BLOCKxTXxOUTPUT`).
	pub channels: Vec<String>,
}

/// One direction of a channel: the policy the node at its start charges to forward.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChannelPolicy {
	/// Whether this direction is enabled.
	pub enabled: bool,
	/// Fixed fee per forwarded HTLC.
	pub base_fee_msat: u32,
	/// Proportional fee, in millionths of the amount.
	pub fee_ppm: u32,
	/// Blocks added to the HTLC's expiry.
	pub cltv_expiry_delta: u16,
	/// Smallest HTLC forwarded.
	pub htlc_minimum_msat: u64,
	/// Largest HTLC forwarded.
	pub htlc_maximum_msat: u64,
	/// Unix time of this direction's last update.
	pub last_update: u32,
}

/// One channel of the graph.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct GraphChannel {
	/// `BLOCKxTXxOUTPUT`.
	pub short_channel_id: String,
	/// The same, as the number BOLT 7 sends on the wire.
	pub short_channel_id_u64: u64,
	/// The end with the lesser node id.
	pub node_one: String,
	/// The other end.
	pub node_two: String,
	/// Capacity, from the funding output.
	pub capacity_sat: Option<u64>,
	/// Policy from `node_one` towards `node_two`.
	pub one_to_two: Option<ChannelPolicy>,
	/// Policy from `node_two` towards `node_one`.
	pub two_to_one: Option<ChannelPolicy>,
}

/// Counts of the graph.
pub fn summary(graph: &crate::types::NetworkGraph) -> GraphSummary {
	let graph = graph.read_only();
	let (mut channel_count, mut both, mut capacity) = (0, 0, 0u64);
	for (_, channel) in graph.channels().unordered_iter() {
		channel_count += 1;
		if channel.one_to_two.is_some() && channel.two_to_one.is_some() {
			both += 1;
		}
		capacity = capacity.saturating_add(channel.capacity_sats.unwrap_or(0));
	}
	GraphSummary {
		node_count: graph.nodes().len(),
		channel_count,
		channel_count_both_directions: both,
		total_capacity_sat: capacity,
	}
}

/// The node `key`, if the graph knows it.
pub fn node(graph: &NetworkGraph, key: &PublicKey) -> Option<GraphNode> {
	let graph = graph.read_only();
	let info = graph.node(&NodeId::from_pubkey(key))?;
	let announcement = info.announcement_info.as_ref();
	Some(GraphNode {
		node_id: key.to_string(),
		alias: announcement.map(|a| a.alias().to_string()),
		addresses: announcement
			.map(|a| a.addresses().iter().map(ToString::to_string).collect())
			.unwrap_or_default(),
		last_update: announcement.map(|a| a.last_update()),
		channels: info.channels.iter().copied().map(format_scid).collect(),
	})
}

/// The channel `scid`, if the graph knows it.
pub fn channel(graph: &NetworkGraph, scid: u64) -> Option<GraphChannel> {
	let graph = graph.read_only();
	let info = graph.channel(scid)?;
	Some(GraphChannel {
		short_channel_id: format_scid(scid),
		short_channel_id_u64: scid,
		node_one: info.node_one.to_string(),
		node_two: info.node_two.to_string(),
		capacity_sat: info.capacity_sats,
		one_to_two: info.one_to_two.as_ref().map(policy),
		two_to_one: info.two_to_one.as_ref().map(policy),
	})
}

fn policy(update: &ChannelUpdateInfo) -> ChannelPolicy {
	ChannelPolicy {
		enabled: update.enabled,
		base_fee_msat: update.fees.base_msat,
		fee_ppm: update.fees.proportional_millionths,
		cltv_expiry_delta: update.cltv_expiry_delta,
		htlc_minimum_msat: update.htlc_minimum_msat,
		htlc_maximum_msat: update.htlc_maximum_msat,
		last_update: update.last_update,
	}
}
