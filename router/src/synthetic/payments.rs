//! Random payments over a synthetic graph: who pays whom, and how much.

use lightning::bitcoin::secp256k1::PublicKey;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::SyntheticGraph;

/// One payment to route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payment {
	/// The payer, a node of the graph.
	pub source: PublicKey,
	/// The payee, another node of the graph.
	pub destination: PublicKey,
	/// Amount, msat.
	pub amount_msat: u64,
}

impl SyntheticGraph {
	/// `count` payments between distinct nodes drawn uniformly, amounts log-uniform in
	/// `min_msat..=max_msat` (as many payments of 1k–10k sat as of 100k–1M sat). Deterministic
	/// in `seed` (independent of the graph's seed); empty when the range is empty or the graph
	/// has fewer than two nodes.
	pub fn payments(&self, seed: u64, count: usize, min_msat: u64, max_msat: u64) -> Vec<Payment> {
		let nodes = self.node_ids();
		if nodes.len() < 2 || min_msat == 0 || max_msat < min_msat {
			return Vec::new();
		}
		let mut rng = StdRng::seed_from_u64(seed);
		let (low, high) = ((min_msat as f64).ln(), (max_msat as f64).ln());
		(0..count)
			.map(|_| {
				let source = rng.gen_range(0..nodes.len());
				// Any node but the source.
				let destination = (source + 1 + rng.gen_range(0..nodes.len() - 1)) % nodes.len();
				let amount = rng.gen_range(low..=high).exp().round() as u64;
				Payment {
					source: nodes[source],
					destination: nodes[destination],
					amount_msat: amount.clamp(min_msat, max_msat),
				}
			})
			.collect()
	}
}
