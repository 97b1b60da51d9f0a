//! Forwarding records: one durable [`ForwardRecord`] per HTLC we forwarded, settled or failed,
//! and its journal event (`payment_forwarded`, `forward_failed`), each recorded once.
//!
//! LDK hands an event over again when its handling failed, and at a restart it hands over
//! what the channel manager on disk still held. LDK's forward events carry no HTLC id nor
//! payment hash, but a replayed event is the very event LDK stored, so its serialisation is
//! the same bytes: the record's key is a digest of them ([`ForwardSeen::digest`]). Two
//! different forwards can have the same content (same channels, same amounts), so a digest
//! alone would merge them; an event is taken for a replay when a record with its digest was
//! made less than [`FORWARD_REPLAY_WINDOW_SECS`] ago, or, in the first such window after a
//! start, when that record was among the last ones of the previous run. LDK replays within
//! that time: a failed step is retried at the next event pass, and once a forward is handled
//! the monitor update it releases makes the channel manager on disk forget it.
//!
//! Invariants: the record is durable before its journal event is appended, and both before
//! the handler returns `Ok` (a failure returns `ReplayEvent`, and the replay finishes what
//! is missing, once). Settled forwards are all kept; failed ones, which any peer can cause,
//! are kept up to [`MAX_FAILED_FORWARDS`], the oldest removed first.

pub mod query;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
use lightning::events::ReplayEvent;

use crate::config::{FORWARD_REPLAY_WINDOW_SECS, MAX_FAILED_FORWARDS};
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

	fn into_record(self, timestamp: u64) -> ForwardRecord {
		let id = format!("{timestamp:012}_{}", self.digest_hex());
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
	/// The newest record of each digest made within the replay window: (id, timestamp).
	by_digest: HashMap<String, (String, u64)>,
	/// Ids of the failed records kept, oldest first (ids sort by time).
	failed: BTreeSet<String>,
	/// When this run started.
	started_at: u64,
	/// The newest record's time when this run started.
	last_before_start: u64,
}

impl Recent {
	/// Whether a record with `digest` made at `recorded` stands for the event seen `now`.
	fn is_replay(&self, recorded: u64, now: u64) -> bool {
		let window = FORWARD_REPLAY_WINDOW_SECS;
		let recent = now.saturating_sub(recorded) < window;
		let before_restart = recorded < self.started_at
			&& recorded.saturating_add(window) >= self.last_before_start
			&& now < self.started_at.saturating_add(window);
		recent || before_restart
	}

	/// Drops digests no event can be a replay of any more.
	fn prune(&mut self, now: u64) {
		let (started_at, last) = (self.started_at, self.last_before_start);
		let window = FORWARD_REPLAY_WINDOW_SECS;
		self.by_digest.retain(|_, (_, recorded)| {
			now.saturating_sub(*recorded) < window
				|| (now < started_at.saturating_add(window)
					&& recorded.saturating_add(window) >= last)
		});
	}
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
		Ok(Forwards::with_records(
			records,
			journal,
			logger,
			fulgur_base::clock::unix_now(),
			MAX_FAILED_FORWARDS,
		))
	}

	fn with_records(
		records: Arc<RecordStore<ForwardRecord>>, journal: Arc<Journal>, logger: Arc<FulgurLogger>,
		started_at: u64, max_failed: usize,
	) -> Forwards {
		let all = records.all();
		let last_before_start = all.iter().map(|f| f.timestamp).max().unwrap_or(0);
		let mut recent = Recent {
			by_digest: HashMap::new(),
			failed: BTreeSet::new(),
			started_at,
			last_before_start,
		};
		for forward in all {
			if forward.status == ForwardStatus::Failed {
				recent.failed.insert(forward.id.clone());
			}
			let Some((_, digest)) = forward.id.split_once('_') else { continue };
			if forward.timestamp.saturating_add(FORWARD_REPLAY_WINDOW_SECS) >= last_before_start {
				let newer = recent
					.by_digest
					.get(digest)
					.is_some_and(|(_, recorded)| *recorded > forward.timestamp);
				if !newer {
					recent
						.by_digest
						.insert(digest.to_string(), (forward.id.clone(), forward.timestamp));
				}
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

	/// [`Forwards::on_forward`] at time `now`; returns the record (`None` for the replay of
	/// a failed forward removed since).
	pub(crate) async fn record_at(
		&self, seen: ForwardSeen, now: u64,
	) -> Result<Option<ForwardRecord>, NodeError> {
		let digest = seen.digest_hex();
		// Held to the end: event handling is sequential anyway, and the check, the write and
		// the index update must be one step.
		let mut recent = self.recent.lock().await;
		let replayed = recent
			.by_digest
			.get(&digest)
			.filter(|(_, recorded)| recent.is_replay(*recorded, now))
			.map(|(id, _)| id.clone());
		let record = match replayed {
			Some(id) => match self.records.get(&id) {
				Some(record) => record,
				None => return Ok(None),
			},
			None => {
				let record = seen.into_record(now);
				self.records.put(&record.id, record.clone()).await?;
				recent.prune(now);
				recent.by_digest.insert(digest, (record.id.clone(), now));
				if record.status == ForwardStatus::Failed {
					self.failed_total.fetch_add(1, Ordering::Relaxed);
					recent.failed.insert(record.id.clone());
					self.trim_failed(&mut recent).await?;
				}
				record
			}
		};
		drop(recent);
		let event = match record.status {
			ForwardStatus::Settled => NodeEvent::PaymentForwarded { forward: record.clone() },
			ForwardStatus::Failed => NodeEvent::ForwardFailed { forward: record.clone() },
		};
		self.journal.append(event).await?;
		Ok(Some(record))
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
			if let Some((_, digest)) = oldest.split_once('_') {
				if recent.by_digest.get(digest).is_some_and(|(id, _)| *id == oldest) {
					recent.by_digest.remove(digest);
				}
			}
			self.records.remove(&oldest).await?;
		}
		Ok(())
	}
}
