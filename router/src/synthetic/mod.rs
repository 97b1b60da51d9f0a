//! A deterministic synthetic network graph with the shape of the public Lightning network, for
//! benchmarks and tests that need a mainnet-sized graph without downloading one.
//!
//! [`generate`] draws, from a seed, the gossip a node would have received: channel
//! announcements with capacities, one channel update per direction (fees, CLTV delta, HTLC
//! limits, some disabled, a few missing) and node announcements. [`SyntheticGraph::build`] feeds
//! that gossip into LDK's [`NetworkGraph`] through the same unsigned-gossip entry points rapid
//! gossip sync uses, so the graph is built by LDK's own code, not assembled behind its back.
//! The same [`Shape`] always gives the same gossip and the same graph ([`canonical_bytes`]).
//!
//! The shape (see `topology` and `policy`): heavy-tailed degrees (Pareto weights, preferential
//! attachment), log-normal capacities (median 1.5M sat, 20k sat .. 5 BTC), base fees mostly
//! 1000 or 0 msat, log-normal proportional fees (median 100 ppm, up to 5000), the common CLTV
//! deltas (18 .. 144).

mod payments;
mod policy;
#[cfg(test)]
mod tests;
mod topology;

use std::ops::Deref;

use lightning::bitcoin::constants::ChainHash;
use lightning::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lightning::bitcoin::Network;
use lightning::ln::msgs::{LightningError, UnsignedChannelUpdate, UnsignedNodeAnnouncement};
use lightning::routing::gossip::NodeId;
use lightning::types::features::ChannelFeatures;
use lightning::util::logger::Logger;
use lightning::util::ser::Writeable;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::NetworkGraph;

pub use payments::Payment;

/// Nodes with public channels on the public network (2024–2025).
pub const MAINNET_NODES: usize = 15_000;
/// Public channels on the public network (2024–2025).
pub const MAINNET_CHANNELS: usize = 50_000;
/// First block height of the synthetic short channel ids (channels open from here on).
const FIRST_BLOCK: u64 = 600_000;
/// Channels per synthetic block: the output index tells them apart.
const CHANNELS_PER_BLOCK: u64 = 4;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
	/// Nodes, each with at least one channel.
	pub nodes: usize,
	/// Channels (at least `nodes - 1`: a spanning tree connects every node).
	pub channels: usize,
	/// Seed of every random choice: the same shape gives the same graph.
	pub seed: u64,
	/// Timestamp of every announcement and update. LDK rejects channel updates more than two
	/// weeks old, so this must be recent when the graph is built (pass the current time).
	pub timestamp: u32,
	/// Chain the gossip is for.
	pub network: Network,
}

impl Shape {
	/// A graph the size of the public network, on mainnet's chain hash.
	pub fn mainnet(seed: u64, timestamp: u32) -> Shape {
		Shape {
			nodes: MAINNET_NODES,
			channels: MAINNET_CHANNELS,
			seed,
			timestamp,
			network: Network::Bitcoin,
		}
	}

	/// Rejects shapes that cannot be generated.
	pub fn check(&self) -> Result<(), String> {
		if self.nodes < 2 {
			return Err("a graph needs at least 2 nodes".into());
		}
		if self.channels < self.nodes - 1 {
			return Err(format!(
				"{} nodes need at least {} channels to be connected",
				self.nodes,
				self.nodes - 1
			));
		}
		if self.nodes > u32::MAX as usize / 4 || self.channels > u32::MAX as usize {
			return Err("too many nodes or channels".into());
		}
		Ok(())
	}
}

/// One generated channel: its announcement's content and the updates of its directions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntheticChannel {
	/// Short channel id (block height, transaction index, output index).
	pub short_channel_id: u64,
	/// The endpoint with the lesser node id, as in a channel announcement.
	pub node_one: NodeId,
	/// The other endpoint.
	pub node_two: NodeId,
	/// Capacity, sat.
	pub capacity_sat: u64,
	/// The channel updates of the announced directions (zero, one or two).
	pub updates: Vec<UnsignedChannelUpdate>,
}

/// The gossip of a synthetic network, ready to be fed to a [`NetworkGraph`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntheticGraph {
	network: Network,
	timestamp: u32,
	node_ids: Vec<PublicKey>,
	channels: Vec<SyntheticChannel>,
	announcements: Vec<UnsignedNodeAnnouncement>,
}

/// Draws the gossip of a network of this shape. Deterministic: the same shape gives the same
/// gossip.
pub fn generate(shape: &Shape) -> Result<SyntheticGraph, String> {
	shape.check()?;
	let mut rng = StdRng::seed_from_u64(shape.seed);
	let secp = Secp256k1::signing_only();
	let mut node_ids = Vec::with_capacity(shape.nodes);
	while node_ids.len() < shape.nodes {
		let secret: [u8; 32] = rng.gen();
		// Invalid secrets (zero or above the curve order) are astronomically rare: draw again.
		if let Ok(secret) = SecretKey::from_slice(&secret) {
			node_ids.push(PublicKey::from_secret_key(&secp, &secret));
		}
	}
	let node_keys: Vec<NodeId> = node_ids.iter().map(NodeId::from_pubkey).collect();
	let weights = topology::weights(&mut rng, shape.nodes);
	let pairs = topology::endpoints(&mut rng, &weights, shape.channels);
	let chain_hash = ChainHash::using_genesis_block(shape.network);
	let channels = pairs
		.into_iter()
		.enumerate()
		.map(|(i, (a, b))| {
			let i = i as u64;
			let short_channel_id = (FIRST_BLOCK + i / CHANNELS_PER_BLOCK) << 40
				| rng.gen_range(0..4000u64) << 16
				| (i % CHANNELS_PER_BLOCK);
			let capacity_sat = policy::capacity_sat(&mut rng, weights[a], weights[b]);
			let (one, two) = if node_keys[a] < node_keys[b] { (a, b) } else { (b, a) };
			let updates = (0..2)
				.filter_map(|direction| {
					policy::channel_update(
						&mut rng,
						chain_hash,
						short_channel_id,
						shape.timestamp,
						capacity_sat,
						direction,
					)
				})
				.collect();
			SyntheticChannel {
				short_channel_id,
				node_one: node_keys[one],
				node_two: node_keys[two],
				capacity_sat,
				updates,
			}
		})
		.collect();
	let announcements = node_keys
		.iter()
		.enumerate()
		.filter_map(|(i, &id)| policy::node_announcement(&mut rng, id, i, shape.timestamp))
		.collect();
	Ok(SyntheticGraph {
		network: shape.network,
		timestamp: shape.timestamp,
		node_ids,
		channels,
		announcements,
	})
}

impl SyntheticGraph {
	/// Every node, in generation order (payers and payees for benchmarks come from here).
	pub fn node_ids(&self) -> &[PublicKey] {
		&self.node_ids
	}

	/// Every channel, in generation order.
	pub fn channels(&self) -> &[SyntheticChannel] {
		&self.channels
	}

	/// Channel updates across all channels.
	pub fn update_count(&self) -> usize {
		self.channels.iter().map(|c| c.updates.len()).sum()
	}

	/// Node announcements.
	pub fn announcement_count(&self) -> usize {
		self.announcements.len()
	}

	/// Each node's number of channels, in the order of [`Self::node_ids`].
	pub fn degrees(&self) -> Vec<usize> {
		let index: std::collections::HashMap<NodeId, usize> =
			self.node_ids.iter().enumerate().map(|(i, pk)| (NodeId::from_pubkey(pk), i)).collect();
		let mut degrees = vec![0; self.node_ids.len()];
		for channel in &self.channels {
			for node in [&channel.node_one, &channel.node_two] {
				if let Some(&i) = index.get(node) {
					degrees[i] += 1;
				}
			}
		}
		degrees
	}

	/// Feeds the gossip into a new [`NetworkGraph`]: channel announcements (with capacity, as
	/// after a UTXO lookup), then channel updates, then node announcements. Signatures are not
	/// checked (there are none), everything else LDK checks on gossip is.
	pub fn build<L: Deref>(&self, logger: L) -> Result<NetworkGraph<L>, LightningError>
	where
		L::Target: Logger,
	{
		let graph = NetworkGraph::new(self.network, logger);
		for channel in &self.channels {
			graph.add_channel_from_partial_announcement(
				channel.short_channel_id,
				Some(channel.capacity_sat),
				u64::from(self.timestamp),
				ChannelFeatures::empty(),
				channel.node_one,
				channel.node_two,
			)?;
			for update in &channel.updates {
				graph.update_channel_unsigned(update)?;
			}
		}
		for announcement in &self.announcements {
			graph.update_node_from_unsigned_announcement(announcement)?;
		}
		Ok(graph)
	}
}

/// The graph's content in a canonical order (channels by short channel id, nodes by id), each
/// in LDK's serialization. LDK's own serialization ([`Writeable`] on the graph) walks hash maps
/// with a per-process random order, so equal graphs can serialize differently; these bytes are
/// equal exactly when the graphs hold the same channels, updates and nodes.
pub fn canonical_bytes<L: Deref>(graph: &NetworkGraph<L>) -> Vec<u8>
where
	L::Target: Logger,
{
	let graph = graph.read_only();
	let mut out = Vec::new();
	let mut scids: Vec<u64> = graph.channels().unordered_keys().copied().collect();
	scids.sort_unstable();
	for scid in scids {
		out.extend_from_slice(&scid.to_be_bytes());
		if let Some(channel) = graph.channel(scid) {
			out.extend(channel.encode());
		}
	}
	let mut nodes: Vec<NodeId> = graph.nodes().unordered_keys().copied().collect();
	nodes.sort_unstable();
	for node in nodes {
		out.extend_from_slice(node.as_slice());
		if let Some(info) = graph.node(&node) {
			out.extend(info.encode());
		}
	}
	out
}
