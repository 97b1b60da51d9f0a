//! What each channel and node looks like: capacities, fees, CLTV deltas and HTLC limits drawn
//! from spreads like the public network's, and node announcements.

use lightning::bitcoin::constants::ChainHash;
use lightning::ln::msgs::{SocketAddress, UnsignedChannelUpdate, UnsignedNodeAnnouncement};
use lightning::routing::gossip::{NodeAlias, NodeId};
use lightning::types::features::NodeFeatures;
use rand::rngs::StdRng;
use rand::Rng;

/// Median capacity of a channel between two small nodes, sat.
const CAPACITY_MEDIAN_SAT: f64 = 1_500_000.0;
/// Spread of ln(capacity): a factor of e^1.3 ≈ 3.7 per standard deviation.
const CAPACITY_SIGMA: f64 = 1.3;
/// Smallest and largest capacity, sat (20k sat .. 5 BTC).
const CAPACITY_RANGE_SAT: (u64, u64) = (20_000, 500_000_000);
/// Median proportional fee, ppm, and the spread of its logarithm.
const FEE_PPM_MEDIAN: f64 = 100.0;
const FEE_PPM_SIGMA: f64 = 1.4;
/// Largest proportional fee, ppm.
const FEE_PPM_MAX: f64 = 5_000.0;
/// CLTV deltas and how often each is announced (the implementations' defaults dominate:
/// CLN 34, LND 80, LDK 72, Eclair 144, and some operators' 40).
const CLTV_DELTAS: [(u16, u32); 6] = [(18, 2), (34, 15), (40, 20), (72, 5), (80, 25), (144, 33)];
/// Share of channel directions never announced (the peer's update is missing).
const MISSING_DIRECTION: f64 = 0.02;
/// Share of announced directions that are disabled.
const DISABLED_DIRECTION: f64 = 0.04;
/// Share of nodes with a node announcement.
const ANNOUNCED_NODES: f64 = 0.95;

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut StdRng) -> f64 {
	let u1: f64 = 1.0 - rng.gen::<f64>();
	let u2: f64 = rng.gen();
	(-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A log-normal draw with this median and spread of the logarithm.
fn log_normal(rng: &mut StdRng, median: f64, sigma: f64) -> f64 {
	median * (sigma * normal(rng)).exp()
}

/// A channel's capacity, sat. Channels between two big nodes are bigger: the median grows with
/// the fourth root of the smaller endpoint's weight (1 for most nodes).
pub(super) fn capacity_sat(rng: &mut StdRng, weight_a: f64, weight_b: f64) -> u64 {
	let median = CAPACITY_MEDIAN_SAT * weight_a.min(weight_b).max(1.0).powf(0.25);
	let (min, max) = CAPACITY_RANGE_SAT;
	(log_normal(rng, median, CAPACITY_SIGMA) as u64).clamp(min, max)
}

/// The channel update of one direction (`direction` 0: from node one, 1: from node two), or
/// `None` when that direction was never announced.
pub(super) fn channel_update(
	rng: &mut StdRng, chain_hash: ChainHash, short_channel_id: u64, timestamp: u32,
	capacity_sat: u64, direction: u8,
) -> Option<UnsignedChannelUpdate> {
	if rng.gen_bool(MISSING_DIRECTION) {
		return None;
	}
	let disabled = rng.gen_bool(DISABLED_DIRECTION);
	let capacity_msat = capacity_sat * 1000;
	// Most implementations announce (about) the capacity; some operators set a lower limit.
	let htlc_maximum_msat = if rng.gen_bool(0.7) {
		capacity_msat / 100 * 99
	} else {
		(capacity_msat as f64 * rng.gen_range(0.1..1.0)) as u64
	};
	let fee_base_msat = match rng.gen_range(0..100) {
		0..=54 => 1000,
		55..=89 => 0,
		_ => rng.gen_range(1..1000),
	};
	let fee_proportional_millionths = if rng.gen_bool(0.03) {
		0
	} else {
		log_normal(rng, FEE_PPM_MEDIAN, FEE_PPM_SIGMA).clamp(1.0, FEE_PPM_MAX) as u32
	};
	Some(UnsignedChannelUpdate {
		chain_hash,
		short_channel_id,
		timestamp,
		// Bit 0 must be one: htlc_maximum_msat is present.
		message_flags: 1,
		channel_flags: direction | if disabled { 2 } else { 0 },
		cltv_expiry_delta: cltv_delta(rng),
		htlc_minimum_msat: if rng.gen_bool(0.4) { 1 } else { 1000 },
		htlc_maximum_msat: htlc_maximum_msat.max(1000),
		fee_base_msat,
		fee_proportional_millionths,
		excess_data: Vec::new(),
	})
}

fn cltv_delta(rng: &mut StdRng) -> u16 {
	let total: u32 = CLTV_DELTAS.iter().map(|&(_, w)| w).sum();
	let mut pick = rng.gen_range(0..total);
	for &(delta, weight) in &CLTV_DELTAS {
		if pick < weight {
			return delta;
		}
		pick -= weight;
	}
	CLTV_DELTAS[CLTV_DELTAS.len() - 1].0
}

/// The features a current node announces.
fn node_features() -> NodeFeatures {
	let mut features = NodeFeatures::empty();
	features.set_data_loss_protect_optional();
	features.set_upfront_shutdown_script_optional();
	features.set_variable_length_onion_required();
	features.set_static_remote_key_required();
	features.set_payment_secret_required();
	features.set_basic_mpp_optional();
	features.set_wumbo_optional();
	features.set_anchors_zero_fee_htlc_tx_optional();
	features.set_shutdown_any_segwit_optional();
	features
}

/// The node announcement of node number `index`, or `None` for the nodes that never sent one.
pub(super) fn node_announcement(
	rng: &mut StdRng, node_id: NodeId, index: usize, timestamp: u32,
) -> Option<UnsignedNodeAnnouncement> {
	if !rng.gen_bool(ANNOUNCED_NODES) {
		return None;
	}
	let mut alias = [0u8; 32];
	let name = format!("synthetic-{index}");
	let len = name.len().min(alias.len());
	alias[..len].copy_from_slice(&name.as_bytes()[..len]);
	let mut addresses = Vec::new();
	let kind = rng.gen_range(0..10);
	if kind < 7 {
		addresses.push(SocketAddress::TcpIpV4 { addr: rng.gen(), port: 9735 });
	}
	if kind >= 5 {
		let ed25519_pubkey: [u8; 32] = rng.gen();
		addresses.push(SocketAddress::OnionV3 {
			ed25519_pubkey,
			checksum: rng.gen(),
			version: 3,
			port: 9735,
		});
	}
	Some(UnsignedNodeAnnouncement {
		features: node_features(),
		timestamp,
		node_id,
		rgb: rng.gen(),
		alias: NodeAlias(alias),
		addresses,
		excess_address_data: Vec::new(),
		excess_data: Vec::new(),
	})
}

#[cfg(test)]
mod tests {
	use super::*;
	use rand::SeedableRng;

	fn median(mut values: Vec<u64>) -> u64 {
		values.sort_unstable();
		values[values.len() / 2]
	}

	#[test]
	fn spreads_are_as_documented() {
		let mut rng = StdRng::seed_from_u64(3);
		let capacities: Vec<u64> = (0..4000).map(|_| capacity_sat(&mut rng, 1.0, 1.0)).collect();
		let (min, max) = CAPACITY_RANGE_SAT;
		assert!(capacities.iter().all(|c| (min..=max).contains(c)));
		assert!((1_200_000..1_900_000).contains(&median(capacities)));
		let chain = ChainHash::BITCOIN;
		let updates: Vec<UnsignedChannelUpdate> = (0..4000)
			.filter_map(|i| channel_update(&mut rng, chain, i, 1, 2_000_000, (i % 2) as u8))
			.collect();
		assert!(updates.len() > 3800 && updates.len() < 4000);
		let ppm =
			median(updates.iter().map(|u| u64::from(u.fee_proportional_millionths)).collect());
		assert!((70..140).contains(&ppm), "median ppm {ppm}");
		assert!(updates.iter().all(|u| u.fee_proportional_millionths <= 5000));
		assert!(updates.iter().all(|u| u.htlc_maximum_msat <= 2_000_000_000));
		assert!(updates.iter().all(|u| u.fee_base_msat <= 1000));
		let disabled = updates.iter().filter(|u| u.channel_flags & 2 != 0).count();
		assert!((80..260).contains(&disabled), "{disabled} disabled");
		assert!(updates.iter().all(|u| CLTV_DELTAS.iter().any(|&(d, _)| d == u.cltv_expiry_delta)));
	}
}
