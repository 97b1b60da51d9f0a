//! `--receive-delay`: whether an HTLC paying this node waits for LDK's random hold.
//!
//! LDK holds every HTLC it has committed for a random delay before it decodes the onion and
//! forwards or receives it (`process_pending_htlc_forwards`, called by the background
//! processor on a random schedule, median about 50 ms). The hold batches HTLCs and blurs the
//! timing an observer of several hops could correlate. With [`ReceiveDelay::None`] a merchant
//! gives up that blur for its own receives: the node calls `process_pending_htlc_forwards` as
//! soon as HTLCs are pending and every one of them ends here.
//!
//! The background processor calls `process_pending_htlc_forwards` when its timer, drawn
//! anew after each call, has run out: an HTLC committed while the timer runs waits for it,
//! so under load every HTLC waits part of a delay. The early call here is made inline, right
//! after the message or the monitor completion that made an HTLC ready, before the processor
//! looks at its timer.
//!
//! Invariant: the early call never runs while an HTLC this node is to forward is on its way
//! through (from its `update_add_htlc` until the HTLC leaves on the next channel, is failed
//! back, or [`FORWARD_TRACKING_LIMIT`] has passed): forwards keep LDK's hold, and a receive
//! arriving with a forward waits for it too. Which HTLCs are forwards is read from their
//! onion as they arrive ([`ChannelHandler`], wrapped around the channel manager).

mod handler;

pub use handler::ChannelHandler;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::types::ChannelManager;
use lightning::ln::types::ChannelId;
use lightning::types::payment::PaymentHash;

/// A forward not seen leaving within this time is no longer counted as on its way through
/// (an HTLC of a channel that closed, or one LDK holds for other reasons): the tracking cannot
/// keep the fast path off for good.
pub const FORWARD_TRACKING_LIMIT: Duration = Duration::from_secs(30);

/// Forwards tracked at most; past this the fast path is off until tracked ones leave or
/// expire (a stranger's HTLCs cannot grow the map without bound).
pub const MAX_TRACKED_FORWARDS: usize = 100_000;

pub use crate::config::ReceiveDelay;

/// An HTLC to forward, from when it arrived.
struct TrackedForward {
	channel_id: ChannelId,
	htlc_id: u64,
	arrived: Instant,
}

/// The forwards on their way through, by payment hash (an outgoing `update_add_htlc` names
/// only its hash).
#[derive(Default)]
struct Forwards {
	by_hash: HashMap<PaymentHash, Vec<TrackedForward>>,
	count: usize,
	/// Set when a forward could not be tracked (the map was full): no fast path before this.
	untracked_until: Option<Instant>,
}

impl Forwards {
	fn arrived(&mut self, hash: PaymentHash, channel_id: ChannelId, htlc_id: u64, now: Instant) {
		if self.count >= MAX_TRACKED_FORWARDS {
			self.untracked_until = Some(now + FORWARD_TRACKING_LIMIT);
			return;
		}
		let same = self.by_hash.entry(hash).or_default();
		// A peer resends uncommitted updates after a reconnection: one entry per HTLC.
		if same.iter().any(|f| f.channel_id == channel_id && f.htlc_id == htlc_id) {
			return;
		}
		same.push(TrackedForward { channel_id, htlc_id, arrived: now });
		self.count += 1;
	}

	/// One forward with this hash left on its next channel.
	fn left(&mut self, hash: &PaymentHash) {
		if let Some(same) = self.by_hash.get_mut(hash) {
			same.remove(0);
			self.count -= 1;
			if same.is_empty() {
				self.by_hash.remove(hash);
			}
		}
	}

	/// The HTLC `htlc_id` of `channel_id` was failed back.
	fn failed_back(&mut self, channel_id: ChannelId, htlc_id: u64) {
		let mut emptied = None;
		for (hash, same) in self.by_hash.iter_mut() {
			if let Some(at) =
				same.iter().position(|f| f.channel_id == channel_id && f.htlc_id == htlc_id)
			{
				same.remove(at);
				self.count -= 1;
				if same.is_empty() {
					emptied = Some(*hash);
				}
				break;
			}
		}
		if let Some(hash) = emptied {
			self.by_hash.remove(&hash);
		}
	}

	/// Whether no forward is on its way through, forgetting those past the limit.
	fn none_pending(&mut self, now: Instant) -> bool {
		if self.untracked_until.is_some_and(|until| now < until) {
			return false;
		}
		self.untracked_until = None;
		if self.count > 0 {
			let mut count = 0;
			self.by_hash.retain(|_, same| {
				same.retain(|f| now.duration_since(f.arrived) < FORWARD_TRACKING_LIMIT);
				count += same.len();
				!same.is_empty()
			});
			self.count = count;
		}
		self.count == 0
	}
}

/// Decides, from what the peers send and what we send them, when pending HTLCs may be
/// processed at once, and does it (see the module's invariant).
pub struct ReceiveGate {
	mode: ReceiveDelay,
	channel_manager: Arc<ChannelManager>,
	forwards: Mutex<Forwards>,
	early_calls: AtomicU64,
}

impl ReceiveGate {
	/// A gate in `mode` for `channel_manager`.
	pub fn new(mode: ReceiveDelay, channel_manager: Arc<ChannelManager>) -> ReceiveGate {
		ReceiveGate {
			mode,
			channel_manager,
			forwards: Mutex::new(Forwards::default()),
			early_calls: AtomicU64::new(0),
		}
	}

	/// The mode.
	pub fn mode(&self) -> ReceiveDelay {
		self.mode
	}

	/// How many times pending HTLCs were processed at once, without LDK's hold.
	pub fn early_calls(&self) -> u64 {
		self.early_calls.load(Ordering::Relaxed)
	}

	fn forwards(&self) -> std::sync::MutexGuard<'_, Forwards> {
		self.forwards.lock().unwrap_or_else(|e| e.into_inner())
	}

	pub(crate) fn forward_arrived(&self, hash: PaymentHash, channel_id: ChannelId, htlc_id: u64) {
		self.forwards().arrived(hash, channel_id, htlc_id, Instant::now());
	}

	pub(crate) fn forward_left(&self, hash: &PaymentHash) {
		self.forwards().left(hash);
	}

	pub(crate) fn forward_failed_back(&self, channel_id: ChannelId, htlc_id: u64) {
		self.forwards().failed_back(channel_id, htlc_id);
	}

	/// Processes the pending HTLCs now if some wait and none is a forward: called after the
	/// messages and monitor completions that commit an HTLC, so a receive is processed the
	/// moment it can be, whatever LDK's timer says. Whether it did.
	pub(crate) fn process_if_only_receives(&self) -> bool {
		if self.mode != ReceiveDelay::None
			|| !self.channel_manager.needs_pending_htlc_processing()
			|| !self.forwards().none_pending(Instant::now())
		{
			return false;
		}
		self.early_calls.fetch_add(1, Ordering::Relaxed);
		self.channel_manager.process_pending_htlc_forwards();
		true
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn hash(byte: u8) -> PaymentHash {
		PaymentHash([byte; 32])
	}

	#[test]
	fn a_forward_is_pending_until_it_leaves_or_is_failed_back() {
		let (mut forwards, now) = (Forwards::default(), Instant::now());
		let channel = ChannelId([7; 32]);
		assert!(forwards.none_pending(now));
		forwards.arrived(hash(1), channel, 0, now);
		forwards.arrived(hash(1), channel, 0, now);
		forwards.arrived(hash(2), channel, 1, now);
		assert_eq!(forwards.count, 2, "a resent update_add_htlc is one HTLC");
		forwards.left(&hash(1));
		assert!(!forwards.none_pending(now));
		forwards.failed_back(channel, 1);
		assert!(forwards.none_pending(now));
		assert!(forwards.by_hash.is_empty());
	}

	#[test]
	fn a_forward_never_seen_leaving_stops_counting_after_the_limit() {
		let (mut forwards, now) = (Forwards::default(), Instant::now());
		forwards.arrived(hash(1), ChannelId([1; 32]), 0, now);
		assert!(!forwards.none_pending(now + FORWARD_TRACKING_LIMIT / 2));
		assert!(forwards.none_pending(now + FORWARD_TRACKING_LIMIT));
		assert_eq!(forwards.count, 0);
	}

	#[test]
	fn a_full_map_keeps_the_fast_path_off_instead_of_growing() {
		let (mut forwards, now) = (Forwards::default(), Instant::now());
		forwards.count = MAX_TRACKED_FORWARDS;
		forwards.arrived(hash(1), ChannelId([1; 32]), 0, now);
		assert!(forwards.by_hash.is_empty(), "nothing stored past the bound");
		forwards.count = 0;
		assert!(!forwards.none_pending(now), "an untracked forward keeps the hold");
		assert!(forwards.none_pending(now + FORWARD_TRACKING_LIMIT));
	}
}
