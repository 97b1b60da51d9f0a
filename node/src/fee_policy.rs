//! How far a peer's fee rate may differ from ours: the dust-exposure policy.
//!
//! LDK counts as "dust exposure" what we could lose to miners if a channel closed now: every
//! HTLC too small to claim on chain, plus, on the counterparty's commitment, the fees above
//! a "highest honest fee rate" (LDK's `MaximumFeeEstimate`). When the exposure would pass the
//! channel's limit, LDK force-closes on the peer's `update_fee` or refuses every incoming HTLC.
//! Implementations estimate fees very differently (some use fixed rates on test networks), so
//! the two numbers are chosen here, deliberately:
//!
//! - the **peer fee-rate ceiling**, the highest commitment fee rate we treat as honest, is
//!   [`PEER_FEE_RATE_TOLERANCE`] times our highest estimate, at least
//!   [`MIN_PEER_FEE_RATE_CEILING_SAT_PER_KW`] (10 sat/vB), and at least
//!   [`TEST_NETWORK_PEER_FEE_RATE_CEILING_SAT_PER_KW`] off mainnet; or a configured value;
//! - the **limit** is LDK's fee-rate multiplier applied to that ceiling (10,000 by default:
//!   10,000 × 2,500 sat/kW = 25,000 sat), or a fixed amount.
//!
//! A peer whose `open_channel` fee rate is above the ceiling is refused at once, with the
//! reason, instead of being accepted and force-closed later; and a channel whose exposure
//! leaves no room for one more incoming HTLC is not reported usable ([`receive_blocked`]).

use bitcoin::Network;
use lightning::ln::chan_utils::{htlc_success_tx_weight, htlc_timeout_tx_weight};
use lightning::ln::channel_state::ChannelDetails;
use lightning::types::features::ChannelTypeFeatures;
use lightning::util::config::MaxDustHTLCExposure;

/// A peer may use this many times our highest fee estimate without counting as dishonest.
pub const PEER_FEE_RATE_TOLERANCE: u32 = 4;
/// The ceiling is never below 10 sat/vB: below that, estimators disagree by more than the
/// fee itself.
pub const MIN_PEER_FEE_RATE_CEILING_SAT_PER_KW: u32 = 2_500;
/// Off mainnet bitcoind rarely has estimates, and other implementations then use fixed rates
/// (12,500 sat/kW is a common default; one was measured at 45,000 on regtest): tolerate
/// 50,000 sat/kW (200 sat/vB) there. Test coins have no value, so the larger limit costs
/// nothing.
pub const TEST_NETWORK_PEER_FEE_RATE_CEILING_SAT_PER_KW: u32 = 50_000;
/// LDK's own default multiplier.
pub const DEFAULT_DUST_EXPOSURE_MULTIPLIER: u64 = 10_000;
/// Weight of a commitment transaction without HTLC outputs (BOLT 3).
const COMMITMENT_BASE_WEIGHT: u64 = 724;
/// The same with anchor outputs.
const COMMITMENT_BASE_WEIGHT_ANCHORS: u64 = 1_124;
/// What each non-dust HTLC output adds to a commitment transaction.
const COMMITMENT_TX_WEIGHT_PER_HTLC: u64 = 172;

/// How large a channel's dust exposure may grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DustExposureLimit {
	/// The peer fee-rate ceiling (sat/kW) times this, in msat.
	FeeRateMultiplier(u64),
	/// A fixed amount, in msat.
	FixedMsat(u64),
}

/// The node's policy toward peers' fee rates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeePolicy {
	/// The dust-exposure limit of every channel.
	pub dust_exposure: DustExposureLimit,
	/// The highest commitment fee rate treated as honest, in sat per 1000 weight; `None`
	/// derives it from our estimates (see the module documentation).
	pub peer_fee_rate_ceiling_sat_per_kw: Option<u32>,
}

impl Default for FeePolicy {
	fn default() -> Self {
		FeePolicy {
			dust_exposure: DustExposureLimit::FeeRateMultiplier(DEFAULT_DUST_EXPOSURE_MULTIPLIER),
			peer_fee_rate_ceiling_sat_per_kw: None,
		}
	}
}

impl FeePolicy {
	/// The ceiling, given our highest fee estimate (already at least our floor).
	pub fn peer_fee_rate_ceiling(&self, network: Network, our_highest_sat_per_kw: u32) -> u32 {
		if let Some(ceiling) = self.peer_fee_rate_ceiling_sat_per_kw {
			return ceiling.max(lightning::chain::chaininterface::FEERATE_FLOOR_SATS_PER_KW);
		}
		let network_minimum = match network {
			Network::Bitcoin => MIN_PEER_FEE_RATE_CEILING_SAT_PER_KW,
			_ => TEST_NETWORK_PEER_FEE_RATE_CEILING_SAT_PER_KW,
		};
		our_highest_sat_per_kw.saturating_mul(PEER_FEE_RATE_TOLERANCE).max(network_minimum)
	}

	/// The limit as LDK's channel configuration takes it.
	pub fn ldk_limit(&self) -> MaxDustHTLCExposure {
		match self.dust_exposure {
			DustExposureLimit::FeeRateMultiplier(m) => MaxDustHTLCExposure::FeeRateMultiplier(m),
			DustExposureLimit::FixedMsat(msat) => MaxDustHTLCExposure::FixedLimitMsat(msat),
		}
	}

	/// The limit in msat with the ceiling at `ceiling_sat_per_kw`.
	pub fn limit_msat(&self, ceiling_sat_per_kw: u32) -> u64 {
		match self.dust_exposure {
			DustExposureLimit::FeeRateMultiplier(m) => {
				u64::from(ceiling_sat_per_kw).saturating_mul(m)
			}
			DustExposureLimit::FixedMsat(msat) => msat,
		}
	}

	/// Whether to accept a peer's `open_channel` with this commitment fee rate: an error
	/// saying why not (sent to the peer and logged).
	pub fn check_open(
		&self, feerate_sat_per_kw: u32, ceiling_sat_per_kw: u32,
	) -> Result<(), String> {
		if feerate_sat_per_kw > ceiling_sat_per_kw {
			return Err(format!(
				"commitment fee rate {feerate_sat_per_kw} sat/kW is above the {ceiling_sat_per_kw} \
				 sat/kW we accept from peers; the channel would be force-closed or unable to receive"
			));
		}
		Ok(())
	}
}

/// One HTLC in flight, as the exposure sees it.
#[derive(Clone, Copy, Debug)]
pub struct HtlcInFlight {
	/// Its amount.
	pub amount_msat: u64,
	/// Too small to be claimed on chain.
	pub is_dust: bool,
	/// Offered to us (on the counterparty's commitment, claimed by their HTLC-timeout).
	pub inbound: bool,
}

/// The counterparty-commitment part of LDK's dust exposure: dust HTLCs in full, plus the fees
/// above `ceiling` of the commitment and of the HTLC transactions of non-dust HTLCs. `extra`
/// adds one incoming non-dust HTLC (what a new payment to us would need).
pub fn counterparty_exposure_msat(
	feerate_sat_per_kw: u32, ceiling_sat_per_kw: u32, anchors: bool, htlcs: &[HtlcInFlight],
	extra_inbound_htlc: bool,
) -> u64 {
	let dust: u64 = htlcs.iter().filter(|h| h.is_dust).map(|h| h.amount_msat).sum();
	let excess = u64::from(feerate_sat_per_kw.saturating_sub(ceiling_sat_per_kw));
	if excess == 0 {
		return dust;
	}
	let channel_type = channel_type(anchors);
	let nondust = htlcs.iter().filter(|h| !h.is_dust);
	let mut inbound = nondust.clone().filter(|h| h.inbound).count() as u64;
	let outbound = nondust.filter(|h| !h.inbound).count() as u64;
	if extra_inbound_htlc {
		inbound += 1;
	}
	let base = if anchors { COMMITMENT_BASE_WEIGHT_ANCHORS } else { COMMITMENT_BASE_WEIGHT };
	let commitment_fee =
		excess * (base + COMMITMENT_TX_WEIGHT_PER_HTLC * (inbound + outbound)) / 1000;
	// On their commitment, what they offered us is claimed by their HTLC-timeout, what we
	// offered by our HTLC-success; anchor channels carry those fees elsewhere.
	let htlc_fees = if anchors {
		0
	} else {
		inbound * (excess * htlc_timeout_tx_weight(&channel_type) / 1000)
			+ outbound * (excess * htlc_success_tx_weight(&channel_type) / 1000)
	};
	dust.saturating_add((commitment_fee + htlc_fees) * 1000)
}

fn channel_type(anchors: bool) -> ChannelTypeFeatures {
	if anchors {
		ChannelTypeFeatures::anchors_zero_htlc_fee_and_dependencies()
	} else {
		ChannelTypeFeatures::only_static_remote_key()
	}
}

/// Why a channel cannot receive a payment now although LDK calls it usable, if it cannot:
/// one more incoming HTLC would pass its dust-exposure limit, so LDK would fail it.
pub fn receive_blocked(
	details: &ChannelDetails, policy: &FeePolicy, ceiling_sat_per_kw: u32,
) -> Option<String> {
	let feerate = details.feerate_sat_per_1000_weight?;
	let anchors =
		details.channel_type.as_ref().is_some_and(|t| t.supports_anchors_zero_fee_htlc_tx());
	let mut htlcs: Vec<HtlcInFlight> = details
		.pending_inbound_htlcs
		.iter()
		.map(|h| HtlcInFlight { amount_msat: h.amount_msat, is_dust: h.is_dust, inbound: true })
		.collect();
	htlcs.extend(details.pending_outbound_htlcs.iter().map(|h| HtlcInFlight {
		amount_msat: h.amount_msat,
		is_dust: h.is_dust,
		inbound: false,
	}));
	let exposure = counterparty_exposure_msat(feerate, ceiling_sat_per_kw, anchors, &htlcs, true);
	let limit = policy.limit_msat(ceiling_sat_per_kw);
	(exposure > limit).then(|| {
		format!(
			"cannot receive: at the commitment fee rate of {feerate} sat/kW one more incoming \
			 HTLC would bring the dust exposure to {exposure} msat, over the limit of {limit} msat"
		)
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn reproduces_ldks_figures_for_a_peer_at_90_times_our_fee() {
		// The figures LDK printed when a non-anchor peer at 45,000 sat/kW met a node whose
		// highest estimate was its 500 sat/kW floor (the ceiling before this policy).
		assert_eq!(counterparty_exposure_msat(45_001, 500, false, &[], false), 32_218_000);
		assert_eq!(counterparty_exposure_msat(45_000, 500, false, &[], true), 69_375_000);
		// Both far over LDK's limit then: 500 × 10,000.
		let old_limit = FeePolicy::default().limit_msat(500);
		assert_eq!(old_limit, 5_000_000);
	}

	#[test]
	fn the_ceiling_tolerates_other_implementations_on_test_networks() {
		let policy = FeePolicy::default();
		let ceiling = policy.peer_fee_rate_ceiling(Network::Regtest, 500);
		assert_eq!(ceiling, 50_000);
		assert!(policy.check_open(45_001, ceiling).is_ok());
		assert_eq!(counterparty_exposure_msat(45_001, ceiling, false, &[], true), 0);
		assert!(policy.check_open(50_001, ceiling).is_err());
		// Mainnet: four times our estimate, never below 10 sat/vB.
		assert_eq!(policy.peer_fee_rate_ceiling(Network::Bitcoin, 253), 2_500);
		assert_eq!(policy.peer_fee_rate_ceiling(Network::Bitcoin, 5_000), 20_000);
		let fixed = FeePolicy { peer_fee_rate_ceiling_sat_per_kw: Some(7_000), ..policy };
		assert_eq!(fixed.peer_fee_rate_ceiling(Network::Regtest, 500), 7_000);
	}

	#[test]
	fn dust_htlcs_count_in_full_and_anchor_channels_skip_htlc_fees() {
		let htlcs = [
			HtlcInFlight { amount_msat: 1_000_000, is_dust: true, inbound: true },
			HtlcInFlight { amount_msat: 50_000_000, is_dust: false, inbound: false },
		];
		assert_eq!(counterparty_exposure_msat(2_000, 2_500, true, &htlcs, true), 1_000_000);
		// 1,000 sat/kW above the ceiling: commitment with two non-dust HTLCs.
		let anchors = counterparty_exposure_msat(3_500, 2_500, true, &htlcs, true);
		assert_eq!(anchors, 1_000_000 + (1_124 + 2 * 172) * 1_000);
		let legacy = counterparty_exposure_msat(3_500, 2_500, false, &htlcs, true);
		assert_eq!(legacy, 1_000_000 + (724 + 2 * 172 + 663 + 703) * 1_000);
	}

	#[test]
	fn fixed_limits_ignore_the_ceiling() {
		let policy =
			FeePolicy { dust_exposure: DustExposureLimit::FixedMsat(7), ..Default::default() };
		assert_eq!(policy.limit_msat(50_000), 7);
		assert_eq!(policy.ldk_limit(), MaxDustHTLCExposure::FixedLimitMsat(7));
	}
}
