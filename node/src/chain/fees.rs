//! Fee estimates, cached per confirmation target and never below a configured floor; the
//! highest one LDK asks for (`MaximumFeeEstimate`) is the peer fee-rate ceiling of the
//! node's [`FeePolicy`], since LDK uses it to judge peers' fee rates.

use std::sync::atomic::{AtomicU32, Ordering};

use bitcoin::Network;
use lightning::chain::chaininterface::{ConfirmationTarget, FEERATE_FLOOR_SATS_PER_KW};

use crate::fee_policy::FeePolicy;

/// Which `estimatesmartfee` query answers which LDK target.
pub(super) const ESTIMATE_TARGETS: &[(ConfirmationTarget, u16, &str)] = &[
	(ConfirmationTarget::MaximumFeeEstimate, 1, "CONSERVATIVE"),
	(ConfirmationTarget::UrgentOnChainSweep, 6, "CONSERVATIVE"),
	(ConfirmationTarget::MinAllowedAnchorChannelRemoteFee, 1008, "ECONOMICAL"),
	(ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee, 144, "ECONOMICAL"),
	(ConfirmationTarget::AnchorChannelFee, 1008, "ECONOMICAL"),
	(ConfirmationTarget::NonAnchorChannelFee, 12, "ECONOMICAL"),
	(ConfirmationTarget::ChannelCloseMinimum, 144, "ECONOMICAL"),
	(ConfirmationTarget::OutputSpendingFee, 12, "ECONOMICAL"),
];

/// The latest estimate for each target, in sat per 1000 weight units.
pub struct FeeCache {
	floor: u32,
	rates: [AtomicU32; 8],
	network: Network,
	policy: FeePolicy,
}

impl FeeCache {
	/// All targets start at the floor.
	pub fn new(floor_sat_per_kw: u32, network: Network, policy: FeePolicy) -> FeeCache {
		let floor = floor_sat_per_kw.max(FEERATE_FLOOR_SATS_PER_KW);
		FeeCache { floor, rates: std::array::from_fn(|_| AtomicU32::new(floor)), network, policy }
	}

	/// The highest commitment fee rate we treat as honest from a peer, sat per 1000 weight.
	pub fn peer_fee_rate_ceiling(&self) -> u32 {
		let highest =
			self.rates[index(ConfirmationTarget::MaximumFeeEstimate)].load(Ordering::Relaxed);
		self.policy.peer_fee_rate_ceiling(self.network, highest)
	}

	/// Records an estimate (`None`: no data, use the floor).
	pub fn set(&self, target: ConfirmationTarget, estimate: Option<u32>) {
		let rate = match target {
			// What we tolerate from peers must not be raised by our floor, or a peer on
			// another fee policy gets its channels force-closed.
			ConfirmationTarget::MinAllowedAnchorChannelRemoteFee
			| ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee => {
				estimate.unwrap_or(FEERATE_FLOOR_SATS_PER_KW).max(FEERATE_FLOOR_SATS_PER_KW)
			}
			_ => estimate.unwrap_or(self.floor).max(self.floor),
		};
		self.rates[index(target)].store(rate, Ordering::Relaxed);
	}

	/// The current rate for a target.
	pub fn get(&self, target: ConfirmationTarget) -> u32 {
		match target {
			ConfirmationTarget::MinAllowedAnchorChannelRemoteFee
			| ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee => FEERATE_FLOOR_SATS_PER_KW,
			// LDK judges peers' fee rates (dust exposure) against this one.
			ConfirmationTarget::MaximumFeeEstimate => self.peer_fee_rate_ceiling(),
			_ => self.rates[index(target)].load(Ordering::Relaxed),
		}
	}
}

fn index(target: ConfirmationTarget) -> usize {
	match target {
		ConfirmationTarget::MaximumFeeEstimate => 0,
		ConfirmationTarget::UrgentOnChainSweep => 1,
		ConfirmationTarget::MinAllowedAnchorChannelRemoteFee => 2,
		ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee => 3,
		ConfirmationTarget::AnchorChannelFee => 4,
		ConfirmationTarget::NonAnchorChannelFee => 5,
		ConfirmationTarget::ChannelCloseMinimum => 6,
		ConfirmationTarget::OutputSpendingFee => 7,
	}
}

/// bitcoind answers in BTC per 1000 virtual bytes; LDK wants sat per 1000 weight units.
pub(super) fn btc_per_kvb_to_sat_per_kw(btc_per_kvb: f64) -> u32 {
	let sat_per_kvb = btc_per_kvb * 100_000_000.0;
	(sat_per_kvb / 4.0).round().clamp(0.0, u32::MAX as f64) as u32
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn floor_applies_to_own_targets_but_not_to_peer_tolerance() {
		let cache = FeeCache::new(500, Network::Regtest, FeePolicy::default());
		cache.set(ConfirmationTarget::NonAnchorChannelFee, None);
		cache.set(ConfirmationTarget::MinAllowedAnchorChannelRemoteFee, None);
		assert_eq!(cache.get(ConfirmationTarget::NonAnchorChannelFee), 500);
		assert_eq!(cache.get(ConfirmationTarget::MinAllowedAnchorChannelRemoteFee), 253);
		cache.set(ConfirmationTarget::NonAnchorChannelFee, Some(2000));
		assert_eq!(cache.get(ConfirmationTarget::NonAnchorChannelFee), 2000);
		cache.set(ConfirmationTarget::NonAnchorChannelFee, Some(10));
		assert_eq!(cache.get(ConfirmationTarget::NonAnchorChannelFee), 500);
	}

	#[test]
	fn the_highest_estimate_is_the_peer_ceiling() {
		let cache = FeeCache::new(500, Network::Bitcoin, FeePolicy::default());
		assert_eq!(cache.get(ConfirmationTarget::MaximumFeeEstimate), 2_500);
		cache.set(ConfirmationTarget::MaximumFeeEstimate, Some(5_000));
		assert_eq!(cache.get(ConfirmationTarget::MaximumFeeEstimate), 20_000);
		let regtest = FeeCache::new(500, Network::Regtest, FeePolicy::default());
		assert_eq!(regtest.get(ConfirmationTarget::MaximumFeeEstimate), 50_000);
		// Our own fee rates keep the floor.
		assert_eq!(regtest.get(ConfirmationTarget::NonAnchorChannelFee), 500);
	}

	#[test]
	fn converts_btc_per_kvb() {
		// 0.0001 BTC/kvB = 10 sat/vB = 2500 sat/kw.
		assert_eq!(btc_per_kvb_to_sat_per_kw(0.0001), 2500);
	}
}
