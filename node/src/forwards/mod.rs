//! Forwarding records: one durable [`ForwardRecord`] per HTLC we forwarded, settled or failed,
//! and its journal event (`payment_forwarded`, `forward_failed`), each recorded once.
//!
//! LDK hands an event over again in two cases only: after our handler returned `ReplayEvent`
//! (the event stays at the head of its queue and comes next), and at a restart, for what the
//! channel manager on disk still held (events handled after its last write: the last ones of
//! the previous run, handed over at once). LDK's forward events carry no HTLC id nor payment
//! hash, but a replayed event is the very event LDK stored, so its serialisation is the same
//! bytes ([`ForwardSeen::digest`]). So a digest is a replay when we asked for one (a step
//! failed after the record's id was chosen: the replay reuses that id), or, in the pass over
//! the events the manager on disk held that the node makes at start before anything else
//! handles events (no new forward can happen before it: the background processor, which
//! forwards HTLCs, starts after it), when a record of the previous run's last
//! [`FORWARD_REPLAY_WINDOW_SECS`] has it (each such record stands for one replay at most).
//! Any other event is a new forward, even one alike in every field (two payments of the same
//! amount over the same channels). LDK may also report a forward settled on chain more than
//! once (then it knows no fee): such a digest is a replay whenever it was recorded before.
//!
//! Invariants: the record is durable before its journal event is appended, and both before
//! the handler returns `Ok` (a failure returns `ReplayEvent`, and the replay finishes what
//! is missing, once). Settled forwards are all kept; failed ones, which any peer can cause,
//! are kept up to [`MAX_FAILED_FORWARDS`], the oldest removed first, and their events are
//! unkeyed in the journal (its keys are never removed) and at most
//! [`MAX_FAILED_FORWARD_EVENTS_PER_HOUR`] an hour, so nothing a peer repeats grows the store
//! beyond those bounds and the journal's retention.

pub mod query;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
use lightning::events::ReplayEvent;

use crate::config::{
	FORWARD_REPLAY_WINDOW_SECS, MAX_FAILED_FORWARDS, MAX_FAILED_FORWARD_EVENTS_PER_HOUR,
};
use crate::journal::{Journal, NodeEvent};
use crate::logger::FulgurLogger;
use crate::model::{ForwardRecord, ForwardStatus};
use crate::records::RecordStore;
use crate::store::DynStore;
use crate::NodeError;

/// Where forwarding records live, by id.
pub const FORWARDS_NAMESPACE: &str = "fulgur_forwards";
/// Hex digits of the event digest in a record's id: 64 bits.
const DIGEST_HEX: usize = 16;

/// A forward as an LDK event reports it, before it is recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardSeen {
	/// Digest of the LDK event's serialisation: the same for every hand-over of one event.
	pub digest: [u8; 32],
	/// The channel it came in on.
	pub in_channel_id: Option<String>,
	/// The channel it went out on.
	pub out_channel_id: Option<String>,
	/// The peer that sent it.
	pub in_peer_node_id: Option<String>,
	/// The peer it went to.
	pub out_peer_node_id: Option<String>,
	/// What went out.
	pub out_amount_msat: Option<u64>,
	/// What we earned.
	pub fee_msat: Option<u64>,
	/// Settled or failed.
	pub status: ForwardStatus,
	/// Why it failed.
	pub failure_reason: Option<String>,
}

impl ForwardSeen {
	/// The digest of an event's serialisation.
	pub fn digest(serialised: &[u8]) -> [u8; 32] {
		sha256::Hash::hash(serialised).to_byte_array()
	}

	fn digest_hex(&self) -> String {
		self.digest[..DIGEST_HEX / 2].to_lower_hex_string()
	}

	/// The record, with the id `<timestamp>_<sequence in that second>_<digest>`: ids sort in
	/// the order forwards were recorded, also within one second.
	fn into_record(self, timestamp: u64, sequence: u32) -> ForwardRecord {
		let id = format!("{timestamp:012}_{sequence:06}_{}", self.digest_hex());
		let in_amount_msat = match (self.out_amount_msat, self.fee_msat) {
			(Some(out), Some(fee)) => out.checked_add(fee),
			_ => None,
		};
		ForwardRecord {
			id,
			timestamp,
			in_channel_id: self.in_channel_id,
			out_channel_id: self.out_channel_id,
			in_peer_node_id: self.in_peer_node_id,
			out_peer_node_id: self.out_peer_node_id,
			in_amount_msat,
			out_amount_msat: self.out_amount_msat,
			fee_msat: self.fee_msat,
			status: self.status,
			failure_reason: self.failure_reason,
		}
	}
}

/// What tells a replay from a new forward, and which failed records go first.
struct Recent {
	/// Records whose handling failed after their id was chosen, by digest: LDK hands their
	/// event over next, and the replay finishes them under the same id.
	awaiting_replay: HashMap<String, ForwardRecord>,
	/// Ids of the previous run's last records, by digest, each standing for one replay at
	/// most, in the start-up pass (emptied at its end).
	before_restart: HashMap<String, Vec<String>>,
	/// True until the start-up pass over the manager's stored events is over.
	starting: bool,
	/// Digests of forwards settled on chain (no fee known), which LDK may report again.
	settled_on_chain: HashSet<String>,
	/// Ids of the failed records kept, oldest first (ids sort by time).
	failed: BTreeSet<String>,
	/// Failed records whose `forward_failed` event is still to be appended (its append
	/// failed; LDK's replay appends it). Failed forwards have no journal key (see above).
	failed_unjournaled: HashSet<String>,
	/// The hour (`unix / 3600`) `failed_events` counts in, and the `forward_failed` events
	/// appended in it.
	failed_events: (u64, usize),
	/// The second of the last new record, and how many were recorded in it.
	last_second: (u64, u32),
}

impl Recent {
	/// The sequence number of a new record at `now` within its second.
	fn next_in_second(&mut self, now: u64) -> u32 {
		let (second, count) = &mut self.last_second;
		if *second != now {
			*second = now;
			*count = 0;
		}
		*count = count.saturating_add(1);
		*count - 1
	}

	/// The record an event with `digest` is a replay of, if any (taken: a record stands for
	/// one replay).
	fn replay_of(&mut self, digest: &str, records: &RecordStore<ForwardRecord>) -> Replay {
		if let Some(record) = self.awaiting_replay.remove(digest) {
			return Replay::Unfinished(record);
		}
		if self.starting {
			if let Some(ids) = self.before_restart.get_mut(digest) {
				let id = ids.pop();
				if ids.is_empty() {
					self.before_restart.remove(digest);
				}
				if let Some(record) = id.and_then(|id| records.get(&id)) {
					return Replay::Done(record);
				}
			}
		}
		if self.settled_on_chain.contains(digest) {
			let earlier =
				records.all().into_iter().find(|r| r.id.split('_').nth(2) == Some(digest));
			if let Some(record) = earlier {
				return Replay::Done(record);
			}
		}
		Replay::New
	}

	/// Whether one more `forward_failed` event may be appended at `now` this hour; logs the
	/// first one refused in an hour.
	fn failed_event_allowed(&mut self, now: u64, logger: &FulgurLogger) -> bool {
		let hour = now / 3600;
		if self.failed_events.0 != hour {
			self.failed_events = (hour, 0);
		}
		let allowed = self.failed_events.1 < MAX_FAILED_FORWARD_EVENTS_PER_HOUR;
		if !allowed && self.failed_events.1 == MAX_FAILED_FORWARD_EVENTS_PER_HOUR {
			crate::warn!(
				logger,
				"more than {MAX_FAILED_FORWARD_EVENTS_PER_HOUR} failed forwards this hour: the \
				 rest are recorded without a forward_failed event until the next hour"
			);
		}
		self.failed_events.1 = self.failed_events.1.saturating_add(1);
		allowed
	}
}

/// What an event is to the records.
enum Replay {
	/// A new forward.
	New,
	/// The replay of one whose handling failed: write it again, then its event.
	Unfinished(ForwardRecord),
	/// The replay of one recorded before a restart: its event is appended once at most.
	Done(ForwardRecord),
}

/// The forwards handle: the records and the journal their events go to.
#[derive(Clone)]
pub(crate) struct Forwards {
	/// The records, by id.
	pub(crate) records: Arc<RecordStore<ForwardRecord>>,
	/// The event log.
	pub(crate) journal: Arc<Journal>,
	/// Log.
	pub(crate) logger: Arc<FulgurLogger>,
	recent: Arc<tokio::sync::Mutex<Recent>>,
	max_failed: usize,
	/// Failed forwards: those kept at start, and every one recorded since (removals of the
	/// oldest do not count down: this is a counter).
	failed_total: Arc<AtomicU64>,
}

impl Forwards {
	/// Loads the records (blocking store reads: call at start-up).
	pub(crate) async fn load(
		store: Arc<DynStore>, journal: Arc<Journal>, logger: Arc<FulgurLogger>,
	) -> Result<Forwards, NodeError> {
		let records = RecordStore::load(store, FORWARDS_NAMESPACE).await?;
		Ok(Forwards::with_records(records, journal, logger, MAX_FAILED_FORWARDS))
	}

	fn with_records(
		records: Arc<RecordStore<ForwardRecord>>, journal: Arc<Journal>, logger: Arc<FulgurLogger>,
		max_failed: usize,
	) -> Forwards {
		let all = records.all();
		let last_before_start = all.iter().map(|f| f.timestamp).max().unwrap_or(0);
		let mut recent = Recent {
			awaiting_replay: HashMap::new(),
			before_restart: HashMap::new(),
			settled_on_chain: HashSet::new(),
			failed: BTreeSet::new(),
			starting: true,
			failed_unjournaled: HashSet::new(),
			failed_events: (0, 0),
			last_second: (0, 0),
		};
		for forward in all {
			let Some(digest) = forward.id.split('_').nth(2) else { continue };
			if forward.status == ForwardStatus::Failed {
				recent.failed.insert(forward.id.clone());
			} else if forward.fee_msat.is_none() {
				recent.settled_on_chain.insert(digest.to_string());
			}
			if forward.timestamp.saturating_add(FORWARD_REPLAY_WINDOW_SECS) >= last_before_start {
				let ids = recent.before_restart.entry(digest.to_string()).or_default();
				ids.push(forward.id.clone());
			}
		}
		let failed_total = Arc::new(AtomicU64::new(recent.failed.len() as u64));
		Forwards {
			records,
			journal,
			logger,
			recent: Arc::new(tokio::sync::Mutex::new(recent)),
			max_failed,
			failed_total,
		}
	}

	/// The start-up pass over the events the channel manager on disk held is over: from now
	/// on, only an event whose handling failed is handed over again.
	pub(crate) async fn end_startup_replays(&self) {
		let mut recent = self.recent.lock().await;
		recent.starting = false;
		recent.before_restart = HashMap::new();
	}

	/// Records a forward LDK reported, for an LDK event handler: `ReplayEvent` when a write
	/// failed (the replay records what is missing, once).
	pub(crate) async fn on_forward(&self, seen: ForwardSeen) -> Result<(), ReplayEvent> {
		match self.record_at(seen, fulgur_base::clock::unix_now()).await {
			Ok(_) => Ok(()),
			Err(e) => {
				crate::error!(self.logger, "forward not recorded, will be replayed: {e}");
				Err(ReplayEvent())
			}
		}
	}

	/// [`Forwards::on_forward`] at time `now`; returns the record (the earlier one, for a
	/// replay).
	pub(crate) async fn record_at(
		&self, seen: ForwardSeen, now: u64,
	) -> Result<ForwardRecord, NodeError> {
		let digest = seen.digest_hex();
		let on_chain = seen.status == ForwardStatus::Settled && seen.fee_msat.is_none();
		// Held to the end: event handling is sequential anyway, and the check, the writes and
		// the index updates must be one step.
		let mut recent = self.recent.lock().await;
		let (record, write, journal_due) = match recent.replay_of(&digest, &self.records) {
			Replay::Done(record) => {
				let due = record.status == ForwardStatus::Settled
					|| recent.failed_unjournaled.contains(&record.id);
				(record, false, due)
			}
			// Written again: the failed write may have left it in the cache only.
			Replay::Unfinished(record) => {
				let due = record.status == ForwardStatus::Settled
					|| recent.failed_unjournaled.contains(&record.id);
				(record, true, due)
			}
			Replay::New => {
				let sequence = recent.next_in_second(now);
				let mut record = seen.into_record(now, sequence);
				// Forwards alike in the same second: `<time>_<digest>_2`, `_3`, ...
				let first_id = record.id.clone();
				let mut n = 2;
				while self.records.get(&record.id).is_some() {
					record.id = format!("{first_id}_{n}");
					n += 1;
				}
				let due = match record.status {
					ForwardStatus::Settled => true,
					ForwardStatus::Failed => recent.failed_event_allowed(now, &self.logger),
				};
				if record.status == ForwardStatus::Failed && due {
					recent.failed_unjournaled.insert(record.id.clone());
				}
				(record, true, due)
			}
		};
		// Until this returns Ok, LDK's next hand-over of the event is its replay.
		recent.awaiting_replay.insert(digest.clone(), record.clone());
		if write {
			self.records.put(&record.id, record.clone()).await?;
			if record.status == ForwardStatus::Failed && recent.failed.insert(record.id.clone()) {
				self.failed_total.fetch_add(1, Ordering::Relaxed);
				self.trim_failed(&mut recent).await?;
			}
		}
		if on_chain {
			recent.settled_on_chain.insert(digest.clone());
		}
		if journal_due {
			match record.status {
				// Keyed in the journal: appended once however often this runs.
				ForwardStatus::Settled => {
					let event = NodeEvent::PaymentForwarded { forward: record.clone() };
					self.journal.append(event).await?;
				}
				// Not keyed (keys are never removed, and any peer can fail HTLCs through us
				// at will): appended when the record is made, again only when that failed.
				ForwardStatus::Failed => {
					let event = NodeEvent::ForwardFailed { forward: record.clone() };
					self.journal.append(event).await?;
					recent.failed_unjournaled.remove(&record.id);
				}
			}
		}
		recent.awaiting_replay.remove(&digest);
		Ok(record)
	}

	/// Counters over every record; failed forwards as `failed_total` counts them.
	pub(crate) fn stats(&self) -> query::ForwardStats {
		let mut stats = query::stats(&self.records.all());
		stats.failed = self.failed_total.load(Ordering::Relaxed);
		stats
	}

	/// Removes the oldest failed records beyond the cap.
	async fn trim_failed(&self, recent: &mut Recent) -> Result<(), NodeError> {
		while recent.failed.len() > self.max_failed {
			let Some(oldest) = recent.failed.pop_first() else { break };
			recent.failed_unjournaled.remove(&oldest);
			self.records.remove(&oldest).await?;
		}
		Ok(())
	}
}
