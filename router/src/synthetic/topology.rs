//! Who has channels with whom: a heavy-tailed degree distribution, as on the public network,
//! where a few hundred hubs hold most channels and a third of the nodes have a single one.
//!
//! Every node gets a Pareto-distributed weight. A preferential-attachment tree (each node opens
//! one channel to an earlier node chosen by weight) makes the graph connected; the remaining
//! channels join two nodes each chosen by weight (the Chung–Lu model), so a node's expected
//! degree is proportional to its weight.

use rand::rngs::StdRng;
use rand::Rng;

/// Tail index of the weights. With 0.9 (and the cap below), 15,000 nodes and 50,000 channels
/// come out as the public network looks: median degree 2, about a third of the nodes with one
/// channel, the top 1% holding over 40% of the channel ends, the biggest hubs near 1,500.
const PARETO_ALPHA: f64 = 0.9;
/// Largest weight, as a share of all (capped) weight: keeps the biggest hubs near the one or
/// two thousand channels the largest public nodes have, instead of one node holding a tenth.
const MAX_WEIGHT_SHARE: f64 = 0.015;
/// Rounds of the fixed-point search for the cap (it converges in a handful).
const CAP_ROUNDS: usize = 30;

/// Pareto weights (minimum 1), capped so that no node holds more than [`MAX_WEIGHT_SHARE`] of
/// the total.
pub(super) fn weights(rng: &mut StdRng, nodes: usize) -> Vec<f64> {
	let mut weights: Vec<f64> = (0..nodes)
		.map(|_| {
			// `1 - gen()` is in (0, 1], so the power is finite.
			let u: f64 = 1.0 - rng.gen::<f64>();
			u.powf(-1.0 / PARETO_ALPHA)
		})
		.collect();
	// The cap depends on the capped total: iterate cap = share × Σ min(w, cap) from above.
	let mut cap = weights.iter().sum::<f64>();
	for _ in 0..CAP_ROUNDS {
		cap = (MAX_WEIGHT_SHARE * weights.iter().map(|w| w.min(cap)).sum::<f64>()).max(1.0);
	}
	for weight in &mut weights {
		*weight = weight.min(cap);
	}
	weights
}

/// Picks nodes with probability proportional to their weight.
struct Sampler {
	cumulative: Vec<f64>,
}

impl Sampler {
	fn new(weights: &[f64]) -> Sampler {
		let mut total = 0.0;
		let cumulative = weights
			.iter()
			.map(|w| {
				total += w;
				total
			})
			.collect();
		Sampler { cumulative }
	}

	/// A node among the first `upto` (at least 1), by weight.
	fn pick(&self, rng: &mut StdRng, upto: usize) -> usize {
		let upto = upto.clamp(1, self.cumulative.len());
		let target = rng.gen::<f64>() * self.cumulative[upto - 1];
		self.cumulative[..upto].partition_point(|&c| c <= target).min(upto - 1)
	}
}

/// `channels` node pairs (never a node with itself) over nodes with these weights: first a
/// spanning tree, so every node has a channel and every node reaches every other, then
/// weight-proportional pairs. Parallel channels between two nodes happen, as on the real
/// network. Needs at least two nodes and `channels >= weights.len() - 1`.
pub(super) fn endpoints(rng: &mut StdRng, weights: &[f64], channels: usize) -> Vec<(usize, usize)> {
	let nodes = weights.len();
	let sampler = Sampler::new(weights);
	let mut pairs = Vec::with_capacity(channels);
	for node in 1..nodes {
		pairs.push((node, sampler.pick(rng, node)));
	}
	while pairs.len() < channels {
		let a = sampler.pick(rng, nodes);
		let mut b = sampler.pick(rng, nodes);
		if b == a {
			// A uniform other node: rare, and keeps the loop bounded.
			b = (a + 1 + rng.gen_range(0..nodes - 1)) % nodes;
		}
		pairs.push((a, b));
	}
	pairs
}

#[cfg(test)]
mod tests {
	use super::*;
	use rand::SeedableRng;

	#[test]
	fn sampler_follows_weights() {
		let mut rng = StdRng::seed_from_u64(7);
		let sampler = Sampler::new(&[1.0, 0.0, 3.0]);
		let mut counts = [0usize; 3];
		for _ in 0..4000 {
			counts[sampler.pick(&mut rng, 3)] += 1;
		}
		assert_eq!(counts[1], 0);
		assert!((2700..3300).contains(&counts[2]), "{counts:?}");
		assert_eq!(sampler.pick(&mut rng, 1), 0);
	}

	#[test]
	fn tree_first_then_no_self_channels() {
		let mut rng = StdRng::seed_from_u64(1);
		let weights = weights(&mut rng, 500);
		let pairs = endpoints(&mut rng, &weights, 1500);
		assert_eq!(pairs.len(), 1500);
		assert!(pairs.iter().all(|(a, b)| a != b));
		// The tree: node i's first channel goes to an earlier node.
		assert!(pairs[..499].iter().enumerate().all(|(i, &(a, b))| a == i + 1 && b < a));
	}
}
