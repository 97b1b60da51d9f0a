//! The route hints our BOLT11 invoices carry, from a snapshot of the channels taken at most
//! every [`ROUTE_HINT_REFRESH`] instead of on every invoice.
//!
//! LDK's `create_bolt11_invoice` lists every channel (a `ChannelDetails` built under the
//! channel locks for each) to choose at most three hints: with a thousand channels that is
//! most of an invoice's cost. Here the list is taken once per refresh (or after a channel
//! opened or closed, see [`RouteHintCache::invalidate`]) into compact candidates, and each
//! invoice chooses among them by LDK's rules (`invoice_utils::sort_and_filter_channels`):
//! no hints when a public channel is in the graph; otherwise per peer the channel LDK would
//! prefer, then those with the inbound capacity for the amount and a connected peer, the
//! smallest sufficient first (the largest first when none suffices), three at most. One
//! departure from LDK: an announced channel is hinted by its own short channel id, not its
//! alias (see [`hint_scid`]).
//!
//! Invariant: a hint is at most [`ROUTE_HINT_REFRESH`] older than the channel it describes;
//! what it may get wrong in that time (a peer that just went offline, capacity a payment
//! just used) is what hints are anyway: advice to the payer's router, which tries others.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitcoin::secp256k1::PublicKey;
use lightning::ln::channel_state::ChannelDetails;
use lightning::routing::gossip::RoutingFees;
use lightning::routing::router::{RouteHint, RouteHintHop};

use crate::types::ChannelManager;

/// How long a snapshot of the channels serves invoices.
pub const ROUTE_HINT_REFRESH: Duration = Duration::from_secs(1);

/// Most hints an invoice carries (LDK's own limit).
const MAX_CHANNEL_HINTS: usize = 3;

/// What a channel offers as a hint.
#[derive(Clone, Debug)]
struct Candidate {
	peer: PublicKey,
	hint: RouteHint,
	inbound_capacity_msat: u64,
	is_usable: bool,
	is_announced: bool,
}

/// The channels as the last snapshot saw them.
#[derive(Debug, Default)]
struct Snapshot {
	candidates: Vec<Candidate>,
	/// A public channel is confirmed enough to be in the graph: no hints at all.
	public_in_graph: bool,
	/// A public channel is too young for the graph: hints only for public channels.
	public_unconfirmed: bool,
}

impl Snapshot {
	fn of(channels: Vec<ChannelDetails>) -> Snapshot {
		let mut snapshot = Snapshot::default();
		for channel in channels.into_iter().filter(|c| c.is_channel_ready) {
			let scid = hint_scid(
				channel.is_announced,
				channel.short_channel_id,
				channel.inbound_scid_alias,
			);
			let (Some(scid), Some(forwarding)) =
				(scid, channel.counterparty.forwarding_info.as_ref())
			else {
				continue;
			};
			if channel.is_announced {
				if channel.confirmations.is_some_and(|c| c < 7) {
					snapshot.public_unconfirmed = true;
				} else {
					snapshot.public_in_graph = true;
					snapshot.candidates.clear();
					return snapshot;
				}
			}
			let hint = RouteHint(vec![RouteHintHop {
				src_node_id: channel.counterparty.node_id,
				short_channel_id: scid,
				fees: RoutingFees {
					base_msat: forwarding.fee_base_msat,
					proportional_millionths: forwarding.fee_proportional_millionths,
				},
				cltv_expiry_delta: forwarding.cltv_expiry_delta,
				htlc_minimum_msat: channel.inbound_htlc_minimum_msat,
				htlc_maximum_msat: channel.inbound_htlc_maximum_msat,
			}]);
			snapshot.candidates.push(Candidate {
				peer: channel.counterparty.node_id,
				hint,
				inbound_capacity_msat: channel.inbound_capacity_msat,
				is_usable: channel.is_usable,
				is_announced: channel.is_announced,
			});
		}
		snapshot
	}

	/// The hints for an invoice of `amount_msat`, by LDK's rules (see the module).
	fn hints(&self, amount_msat: Option<u64>) -> Vec<RouteHint> {
		if self.public_in_graph {
			return Vec::new();
		}
		let min_inbound = amount_msat.unwrap_or(0);
		let (mut min_capacity_exists, mut online_exists, mut online_min_capacity_exists) =
			(false, false, false);
		let mut per_peer: BTreeMap<PublicKey, &Candidate> = BTreeMap::new();
		for candidate in &self.candidates {
			if candidate.inbound_capacity_msat >= min_inbound {
				min_capacity_exists = true;
				online_min_capacity_exists |= candidate.is_usable;
			}
			online_exists |= candidate.is_usable;
			per_peer
				.entry(candidate.peer)
				.and_modify(|current| {
					let now_public = candidate.is_announced && !current.is_announced;
					let preferable = candidate.is_announced == current.is_announced
						&& !prefer_current(
							amount_msat,
							current.inbound_capacity_msat,
							candidate.inbound_capacity_msat,
						);
					if now_public || preferable {
						*current = candidate;
					}
				})
				.or_insert(candidate);
		}
		let mut eligible: Vec<&Candidate> = per_peer
			.into_values()
			.filter(|c| {
				let enough = c.inbound_capacity_msat >= min_inbound;
				if self.public_unconfirmed {
					c.is_announced
				} else if online_min_capacity_exists {
					enough && c.is_usable
				} else if min_capacity_exists {
					enough
				} else if online_exists {
					c.is_usable
				} else {
					true
				}
			})
			.collect();
		if online_min_capacity_exists {
			eligible.sort_unstable_by_key(|c| c.inbound_capacity_msat);
		} else {
			eligible.sort_unstable_by_key(|c| std::cmp::Reverse(c.inbound_capacity_msat));
		}
		eligible.into_iter().take(MAX_CHANNEL_HINTS).map(|c| c.hint.clone()).collect()
	}
}

/// The short channel id a hint names. An announced channel's own: LDK's router takes the
/// graph's entry for a hinted id it knows, so a payer that has heard the peer's latest
/// `channel_update` pays by it, not by the fee this snapshot (and this node's last view of its
/// peer) carried; under the alias, which no graph knows, a hint a moment old undercut a fee
/// just raised and the peer accepted the old fee for LDK's grace period. An unannounced
/// channel is named by its alias (the id the peer forwards by that does not reveal the
/// funding output), as LDK's `get_inbound_payment_scid` does.
fn hint_scid(is_announced: bool, real: Option<u64>, alias: Option<u64>) -> Option<u64> {
	if is_announced {
		real.or(alias)
	} else {
		alias.or(real)
	}
}

/// Between two channels with one peer, whether the current one stays (LDK's rule: with an
/// amount, the smallest channel with 10% to spare over it, else the largest).
fn prefer_current(amount_msat: Option<u64>, current: u64, candidate: u64) -> bool {
	let Some(amount) = amount_msat else { return current > candidate };
	let scaled = u128::from(amount) * 110;
	let sufficient = |capacity: u64| u128::from(capacity) * 100 >= scaled;
	match (sufficient(current), sufficient(candidate)) {
		(true, true) => current < candidate,
		(true, false) => true,
		(false, true) => false,
		(false, false) => current > candidate,
	}
}

/// The snapshot and when it was taken.
#[derive(Default)]
pub(crate) struct RouteHintCache {
	snapshot: Mutex<Option<(Instant, Arc<Snapshot>)>>,
}

impl RouteHintCache {
	/// The hints for an invoice of `amount_msat`, from a snapshot at most
	/// [`ROUTE_HINT_REFRESH`] old (taken now if there is none that recent).
	pub(crate) fn hints(
		&self, channel_manager: &ChannelManager, amount_msat: Option<u64>,
	) -> Vec<RouteHint> {
		let fresh = {
			let held = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
			held.as_ref()
				.filter(|(at, _)| at.elapsed() < ROUTE_HINT_REFRESH)
				.map(|(_, snapshot)| Arc::clone(snapshot))
		};
		let snapshot = match fresh {
			Some(snapshot) => snapshot,
			None => {
				let snapshot = Arc::new(Snapshot::of(channel_manager.list_channels()));
				*self.snapshot.lock().unwrap_or_else(|e| e.into_inner()) =
					Some((Instant::now(), Arc::clone(&snapshot)));
				snapshot
			}
		};
		snapshot.hints(amount_msat)
	}

	/// Forgets the snapshot: a channel opened or closed, the next invoice lists them again.
	pub(crate) fn invalidate(&self) {
		*self.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = None;
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use bitcoin::secp256k1::{Secp256k1, SecretKey};

	fn peer(byte: u8) -> PublicKey {
		PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[byte; 32]).unwrap())
	}

	fn candidate(peer_byte: u8, scid: u64, inbound_msat: u64, usable: bool) -> Candidate {
		Candidate {
			peer: peer(peer_byte),
			hint: RouteHint(vec![RouteHintHop {
				src_node_id: peer(peer_byte),
				short_channel_id: scid,
				fees: RoutingFees { base_msat: 1000, proportional_millionths: 1 },
				cltv_expiry_delta: 72,
				htlc_minimum_msat: None,
				htlc_maximum_msat: None,
			}]),
			inbound_capacity_msat: inbound_msat,
			is_usable: usable,
			is_announced: false,
		}
	}

	#[test]
	fn an_announced_channel_is_hinted_by_its_own_id_an_unannounced_one_by_its_alias() {
		assert_eq!(hint_scid(true, Some(7), Some(42)), Some(7));
		assert_eq!(hint_scid(true, None, Some(42)), Some(42));
		assert_eq!(hint_scid(false, Some(7), Some(42)), Some(42));
		assert_eq!(hint_scid(false, Some(7), None), Some(7));
		assert_eq!(hint_scid(false, None, None), None);
	}

	fn scids(hints: &[RouteHint]) -> Vec<u64> {
		hints.iter().map(|h| h.0[0].short_channel_id).collect()
	}

	#[test]
	fn three_hints_at_most_smallest_sufficient_online_first() {
		let snapshot = Snapshot {
			candidates: vec![
				candidate(1, 10, 5_000, true),
				candidate(2, 20, 900, true),
				candidate(3, 30, 3_000, true),
				candidate(4, 40, 2_000, true),
				candidate(5, 50, 9_000, false),
				candidate(6, 60, 8_000, true),
			],
			..Snapshot::default()
		};
		assert_eq!(scids(&snapshot.hints(Some(1_000))), vec![40, 30, 10]);
		// Nothing suffices: the largest online channels first (LDK's rule).
		assert_eq!(scids(&snapshot.hints(Some(100_000))), vec![60, 10, 30]);
	}

	#[test]
	fn one_channel_per_peer_and_none_with_a_public_channel_in_the_graph() {
		let mut snapshot = Snapshot {
			candidates: vec![candidate(1, 10, 5_000, true), candidate(1, 11, 2_000, true)],
			..Snapshot::default()
		};
		assert_eq!(scids(&snapshot.hints(Some(1_000))), vec![11], "the smallest sufficient");
		assert_eq!(scids(&snapshot.hints(None)), vec![10], "without an amount, the largest");
		snapshot.public_in_graph = true;
		assert!(snapshot.hints(Some(1_000)).is_empty());
	}
}
