//! How big `bench payments`' channels are and how they are opened: the hub's channels spread
//! over at most `--payers` load-generator nodes (several channels each), and for two hops a
//! merchant, opened in rounds of one channel per peer, each round one funding transaction.
//!
//! Invariant: every funding UTXO is the same size and covers the largest round, so whichever
//! UTXO the wallet's coin selection draws for a round, it spends exactly one (different sizes
//! let a big channel draw many small UTXOs, starving the opens after it of funds).

use super::chain::fan_outs;

/// Smallest channel.
const MIN_CHANNEL_SAT: u64 = 200_000;
/// LDK's largest channel without `option_support_large_channel`.
const MAX_CHANNEL_SAT: u64 = 16_777_215;
/// Each round's UTXO is its channels plus this, for the funding transaction's fee.
const ROUND_MARGIN_SAT: u64 = 100_000;
/// UTXOs beyond one per round, for rounds that fail (a peer dropped) and are made again.
pub const SPARE_ROUNDS: usize = 3;
/// LDK accepts 50 HTLCs per channel by default; the merchant gets a channel per this many in
/// flight, and the hub forwards over whichever has room (LDK's non-strict forwarding).
const HTLCS_PER_MERCHANT_CHANNEL: usize = 40;

/// Who a channel of a round goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
	/// Payer number `n`.
	Payer(usize),
	/// The merchant.
	Merchant,
}

/// One channel of a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Open {
	/// Its counterparty.
	pub peer: Peer,
	/// Capacity.
	pub amount_sat: u64,
	/// Given to the counterparty at opening.
	pub push_msat: u64,
}

/// The channels of one phase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
	/// Hub ↔ payer channels.
	pub channels: usize,
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
	/// Channel sizes for `payments` payments (warm-up included) of at most `amount_max_sat`
	/// over `channels` channels on at most `max_payers` payers, with up to `max_concurrency`
	/// in flight.
	pub fn new(
		channels: usize, max_payers: usize, payments: u64, amount_max_sat: u64, hops: u8,
		max_concurrency: usize,
	) -> Result<Plan, String> {
		let payers = channels.min(max_payers).max(1);
		// Routing fees are at most 10% + 1 sat (see `max_fee_msat`), paid by the payer.
		let per_payment =
			if hops == 2 { amount_max_sat + amount_max_sat / 10 + 1 } else { amount_max_sat };
		let per_payer = payments.div_ceil(payers as u64) * per_payment;
		// The router picks among a payer's channels by their balance: together they carry
		// twice what the payer pays.
		let per_channel = per_payer.div_ceil(channels.div_ceil(payers) as u64);
		let payer_capacity_sat = (per_channel * 2 + 20_000).max(MIN_CHANNEL_SAT);
		if payer_capacity_sat > MAX_CHANNEL_SAT {
			return Err(format!(
				"{per_channel} sat per channel needs channels above LDK's {MAX_CHANNEL_SAT} sat: \
				 raise --channels or --payers, or lower --payments"
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
			channels,
			payers,
			payer_capacity_sat,
			payer_push_msat: payer_capacity_sat * 3 / 4 * 1000,
			merchant_channels,
			merchant_capacity_sat,
		})
	}

	/// Channels of payer `n`: the channels spread evenly, the first payers one more.
	pub fn channels_of(&self, payer: usize) -> usize {
		self.channels / self.payers + usize::from(payer < self.channels % self.payers)
	}

	/// The opening rounds: round `r` opens one channel to every peer that needs more than `r`.
	pub fn rounds(&self) -> Vec<Vec<Open>> {
		let count = self.channels.div_ceil(self.payers).max(self.merchant_channels);
		(0..count)
			.map(|round| {
				let merchant = (round < self.merchant_channels).then_some(Open {
					peer: Peer::Merchant,
					amount_sat: self.merchant_capacity_sat,
					push_msat: 0,
				});
				let payers =
					(0..self.payers).filter(|&p| self.channels_of(p) > round).map(|p| Open {
						peer: Peer::Payer(p),
						amount_sat: self.payer_capacity_sat,
						push_msat: self.payer_push_msat,
					});
				merchant.into_iter().chain(payers).collect()
			})
			.collect()
	}

	/// The hub's funding UTXOs: one per round and [`SPARE_ROUNDS`] more, all the size of the
	/// largest round.
	pub fn funding_outputs(&self) -> Vec<u64> {
		let rounds = self.rounds();
		let largest =
			rounds.iter().map(|r| r.iter().map(|o| o.amount_sat).sum::<u64>()).max().unwrap_or(0);
		vec![largest + ROUND_MARGIN_SAT; rounds.len() + SPARE_ROUNDS]
	}

	/// Fan-out transactions (so coinbases) one phase needs.
	pub fn fan_outs(&self) -> usize {
		fan_outs(&self.funding_outputs())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn plans_fit_the_payments() {
		let plan = Plan::new(1000, 1000, 101_001, 10, 1, 64).unwrap();
		assert_eq!((plan.payers, plan.payer_capacity_sat), (1000, MIN_CHANNEL_SAT));
		assert_eq!(plan.merchant_channels, 0);
		assert_eq!(plan.rounds().len(), 1);
		// Few payers, many payments: bigger channels, the push covering what each pays.
		let plan = Plan::new(10, 100, 100_000, 10, 1, 64).unwrap();
		assert!(plan.payer_push_msat / 1000 > 10_000 * 10 + plan.payer_capacity_sat / 100);
		assert!(Plan::new(1, 100, 10_000_000, 10, 1, 64).is_err());
		// Two hops: a merchant channel per 40 HTLCs in flight, together carrying every payment.
		let plan = Plan::new(100, 100, 100_000, 10, 2, 256).unwrap();
		assert_eq!(plan.merchant_channels, 7);
		assert!(plan.merchant_capacity_sat * 7 >= 100_000 * 10);
	}

	#[test]
	fn channels_spread_over_payers_in_rounds() {
		let plan = Plan::new(5_000, 100, 10_000, 10_000, 2, 64).unwrap();
		assert_eq!(plan.payers, 100);
		assert_eq!((0..100).map(|p| plan.channels_of(p)).sum::<usize>(), 5_000);
		let rounds = plan.rounds();
		assert_eq!(rounds.len(), 50);
		let payer_opens = rounds.iter().flatten().filter(|o| o.peer != Peer::Merchant).count();
		assert_eq!(payer_opens, 5_000);
		let merchant = rounds.iter().flatten().filter(|o| o.peer == Peer::Merchant).count();
		assert_eq!(merchant, plan.merchant_channels);
		// Every round has each peer at most once (LDK opens one channel per peer and batch).
		for round in &rounds {
			for (i, open) in round.iter().enumerate() {
				assert!(!round[..i].iter().any(|o| o.peer == open.peer));
			}
		}
		// An uneven count: the first payers get one more.
		let plan = Plan::new(1_050, 100, 1_000, 10, 1, 64).unwrap();
		assert_eq!((plan.channels_of(0), plan.channels_of(49), plan.channels_of(50)), (11, 11, 10));
		assert_eq!(plan.rounds().len(), 11);
		assert_eq!(plan.rounds()[10].len(), 50);
	}

	/// The funding bug of issue 14: a forwarding plan with non-dust amounts had a few big
	/// merchant UTXOs among small payer ones, and coin selection drew small ones for the
	/// merchant channels. Now every UTXO covers any round, so each round spends one.
	#[test]
	fn every_funding_utxo_covers_any_round() {
		let plan = Plan::new(100, 100, 2_101, 5_000, 2, 64).unwrap();
		let outputs = plan.funding_outputs();
		let rounds = plan.rounds();
		assert_eq!(outputs.len(), rounds.len() + SPARE_ROUNDS);
		assert!(outputs.windows(2).all(|w| w[0] == w[1]));
		for round in rounds {
			let needed: u64 = round.iter().map(|o| o.amount_sat).sum();
			assert!(needed + ROUND_MARGIN_SAT <= outputs[0]);
		}
		assert!(plan.fan_outs() >= 1);
	}
}
