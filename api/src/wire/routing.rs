//! `POST /v1/routes`, `POST /v1/probes`, `GET /v1/graph`, `GET /v1/graph/nodes/{node_id}`,
//! `GET /v1/graph/channels/{short_channel_id}`: routes as the node would take them and the
//! gossiped graph.

use serde::{Deserialize, Serialize};

use super::Validate;
use crate::error::ApiError;

/// `POST /v1/routes` and `POST /v1/probes` body: where to, how much.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RoutesRequest {
	/// Destination node (or give `invoice`).
	pub node_id: Option<String>,
	/// A BOLT11 invoice: destination, route hints and features come from it.
	pub invoice: Option<String>,
	/// Amount to deliver; required with `node_id` or an amountless invoice.
	pub amount_msat: Option<u64>,
	/// Upper bound on the fees of each route.
	pub max_fee_msat: Option<u64>,
	/// How many different routes to return (default 3, at most 10).
	pub max_routes: Option<usize>,
}

impl Validate for RoutesRequest {
	fn validate(&self) -> Result<(), ApiError> {
		if self.node_id.is_some() == self.invoice.is_some() {
			return Err(ApiError::invalid_request("give exactly one of node_id and invoice"));
		}
		super::nonzero(self.amount_msat, "amount_msat must be greater than zero")
	}
}

/// One hop: the channel taken and the node it reaches.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RouteHopInfo {
	/// The node this hop reaches.
	pub node_id: String,
	/// The channel taken to reach it.
	pub short_channel_id: String,
	/// Whether that channel is announced (a private channel comes from a route hint).
	pub announced: bool,
	/// Amount carried over this channel.
	pub amount_msat: u64,
	/// Fee this node keeps for forwarding (0 at the destination).
	pub fee_msat: u64,
	/// Blocks this hop adds to the expiry (at the destination: its final CLTV delta).
	pub cltv_expiry_delta: u32,
	/// The scorer's estimate that this channel carries the amount (1 for our own channels).
	pub success_probability: Option<f64>,
}

/// One path of a route.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RoutePathInfo {
	/// Amount delivered over this path.
	pub amount_msat: u64,
	/// Fees over this path.
	pub fee_msat: u64,
	/// Sum of the hops' CLTV deltas: how long the HTLC can be locked.
	pub total_cltv_expiry_delta: u32,
	/// Product of the hops' estimates.
	pub success_probability: f64,
	/// The hops, from our first channel to the destination.
	pub hops: Vec<RouteHopInfo>,
}

/// A candidate route: one path, or several when the amount is split (multi-path).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RouteInfo {
	/// Amount delivered.
	pub amount_msat: u64,
	/// Fees over every path.
	pub fee_msat: u64,
	/// The longest path's CLTV total.
	pub total_cltv_expiry_delta: u32,
	/// Estimate that every path succeeds.
	pub success_probability: f64,
	/// The paths.
	pub paths: Vec<RoutePathInfo>,
}

/// `POST /v1/routes` answer: candidate routes, best first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RoutesResponse {
	/// The destination.
	pub destination: String,
	/// The routes; each next one avoids the channels beyond our first hop of those before.
	pub routes: Vec<RouteInfo>,
}

/// `POST /v1/probes` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProbeResponse {
	/// Probes sent; their outcomes teach the scorer.
	pub probes_sent: usize,
}

/// `GET /v1/graph/nodes/{node_id}` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphNodeRequest {
	/// The node's public key (hex).
	pub node_id: String,
}

/// `GET /v1/graph/channels/{short_channel_id}` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphChannelRequest {
	/// `BLOCKxTXxOUTPUT` or the number.
	pub short_channel_id: String,
}

/// `GET /v1/graph` answer: the size of the graph.
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
