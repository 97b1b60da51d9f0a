//! Retention: the log drops events older than the configured number of days, oldest first,
//! but never one a reader still needs.
//!
//! Invariants: compaction removes a prefix of the log (it stops at the first event it must
//! keep), so what is left is contiguous from [`Journal::oldest`] and reads start there
//! instead of walking removed indexes; it never removes an event a reader registered when
//! the pass starts (an open event stream, see [`EventReader`]) has not passed, nor one at or
//! after the caller's bound (the oldest webhook cursor); it never removes the newest event, so the next
//! index after a restart is still above every index ever handed out (indexes are never
//! reused). The event count follows every removal. The keys of events recorded once stay:
//! they keep a replayed cause (an old on-chain receipt seen again by a wallet rescan) from
//! being recorded twice, and grow only with things that cost money or an operator's action.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use lightning::util::persist::KVStoreSync;

use super::{decode, key, Journal, EVENTS_NAMESPACE};
use crate::NodeError;

/// Readers (event streams) registered at once, at most: each holds a task and a buffer.
pub const MAX_READERS: usize = 100;

/// Positions of the registered readers: reader id → the last index it passed.
#[derive(Default)]
pub(super) struct Readers {
	positions: Mutex<HashMap<u64, u64>>,
	next_id: std::sync::atomic::AtomicU64,
}

impl Readers {
	fn positions(&self) -> std::sync::MutexGuard<'_, HashMap<u64, u64>> {
		self.positions.lock().unwrap_or_else(|e| e.into_inner())
	}

	/// The first index some reader has not passed yet (`u64::MAX` without readers).
	fn needed_from(&self) -> u64 {
		self.positions().values().min().map_or(u64::MAX, |passed| passed.saturating_add(1))
	}
}

/// A registered reader of the log: while it lives, compaction keeps every event after the
/// last index it passed. Dropping it unregisters it.
pub struct EventReader {
	journal: Arc<Journal>,
	id: u64,
}

impl EventReader {
	/// The reader has passed every event up to `index` (it moves forward only).
	pub fn advance(&self, index: u64) {
		if let Some(passed) = self.journal.readers.positions().get_mut(&self.id) {
			*passed = (*passed).max(index);
		}
	}
}

impl Drop for EventReader {
	fn drop(&mut self) {
		self.journal.readers.positions().remove(&self.id);
	}
}

impl Journal {
	/// Registers a reader that has passed every event up to `passed`; fails with `busy` when
	/// [`MAX_READERS`] are registered already.
	pub fn register_reader(self: &Arc<Self>, passed: u64) -> Result<EventReader, NodeError> {
		let mut positions = self.readers.positions();
		if positions.len() >= MAX_READERS {
			return Err(NodeError::Busy(format!(
				"{MAX_READERS} event streams are open already; close one or try again later"
			)));
		}
		let id = self.readers.next_id.fetch_add(1, Ordering::Relaxed);
		positions.insert(id, passed);
		drop(positions);
		Ok(EventReader { journal: Arc::clone(self), id })
	}

	/// The lowest index that may still be stored: everything below it was removed (0 when
	/// the log is empty).
	pub fn oldest(&self) -> u64 {
		if self.total() == 0 {
			0
		} else {
			self.oldest.load(Ordering::Acquire)
		}
	}

	/// Removes, oldest first, the events recorded before `older_than` (UNIX seconds) with an
	/// index below `keep_from` (the first index a webhook has not passed), keeping every
	/// event a registered reader has not passed and the newest one. Returns how many were
	/// removed. Blocking (store reads and removes); one compaction runs at a time.
	pub fn compact(&self, older_than: u64, keep_from: u64) -> Result<u64, NodeError> {
		let _one_at_a_time = self.compacting.lock().unwrap_or_else(|e| e.into_inner());
		let keep_from = keep_from.min(self.readers.needed_from()).min(self.latest());
		let mut index = self.oldest.load(Ordering::Acquire);
		let mut removed = 0;
		while index < keep_from {
			match KVStoreSync::read(&*self.store, EVENTS_NAMESPACE, "", &key(index)) {
				Ok(bytes) => {
					let record = decode(index, &bytes)?;
					// Indexes and times grow together: the first young event ends the pass.
					if record.timestamp >= older_than {
						break;
					}
					// Lazy: a removal lost in a crash is done again by the next pass.
					KVStoreSync::remove(&*self.store, EVENTS_NAMESPACE, "", &key(index), true)
						.map_err(|e| {
							NodeError::Persistence(format!("removing event {index}: {e}"))
						})?;
					self.count.fetch_sub(1, Ordering::Relaxed);
					removed += 1;
				}
				// An index whose write failed.
				Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => {}
				Err(e) => {
					return Err(NodeError::Persistence(format!("reading event {index}: {e}")))
				}
			}
			index += 1;
			self.oldest.store(index, Ordering::Release);
		}
		Ok(removed)
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::journal::{EventRecord, NodeEvent};
	use crate::store::{DynStore, SledStore};

	const DAY: u64 = 24 * 3600;

	fn peer(n: u64) -> NodeEvent {
		NodeEvent::PeerDisconnected { node_id: format!("02{n:02x}") }
	}

	/// A store whose log starts with `old` events recorded `age` seconds ago, as a node that
	/// ran back then left them.
	fn store_with_old_events(dir: &std::path::Path, old: u64, age: u64) -> Arc<DynStore> {
		let store: Arc<DynStore> = Arc::new(SledStore::open(dir).expect("open"));
		let then = fulgur_base::clock::unix_now() - age;
		for index in 1..=old {
			let record = EventRecord { index, timestamp: then, event: peer(index) };
			let bytes = serde_json::to_vec(&record).expect("json");
			KVStoreSync::write(&*store, EVENTS_NAMESPACE, "", &key(index), bytes).expect("write");
		}
		store
	}

	fn indexes(journal: &Journal, after: u64) -> Vec<u64> {
		journal.read(after, 1000).expect("read").iter().map(|e| e.index).collect()
	}

	#[tokio::test]
	async fn old_events_go_young_ones_stay_and_indexes_are_not_reused() {
		let dir = tempfile::tempdir().expect("tempdir");
		{
			let journal =
				Journal::open(store_with_old_events(dir.path(), 5, 100 * DAY)).expect("journal");
			for n in 6..=8 {
				assert_eq!(journal.append(peer(n)).await.expect("append"), Some(n));
			}
			let cutoff = fulgur_base::clock::unix_now() - 90 * DAY;
			assert_eq!(journal.compact(cutoff, u64::MAX).expect("compact"), 5);
			assert_eq!((journal.total(), journal.oldest(), journal.latest()), (3, 6, 8));
			// Reading from the start gives what is left; the gap says what was removed.
			assert_eq!(indexes(&journal, 0), vec![6, 7, 8]);
			assert_eq!(indexes(&journal, 6), vec![7, 8]);
			// Nothing else is old enough.
			assert_eq!(journal.compact(cutoff, u64::MAX).expect("compact"), 0);
			// Everything is, but the newest stays.
			let later = fulgur_base::clock::unix_now() + 1;
			assert_eq!(journal.compact(later, u64::MAX).expect("compact"), 2);
			assert_eq!((journal.total(), journal.oldest()), (1, 8));
			assert_eq!(indexes(&journal, 0), vec![8]);
		}
		let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("reopen"));
		let journal = Journal::open(store).expect("journal");
		assert_eq!((journal.total(), journal.oldest(), journal.latest()), (1, 8, 8));
		assert_eq!(journal.append(peer(9)).await.expect("append"), Some(9));
		assert_eq!(indexes(&journal, 0), vec![8, 9]);
	}

	#[tokio::test]
	async fn readers_and_webhook_cursors_keep_what_they_have_not_passed() {
		let dir = tempfile::tempdir().expect("tempdir");
		let journal =
			Journal::open(store_with_old_events(dir.path(), 10, 100 * DAY)).expect("journal");
		let cutoff = fulgur_base::clock::unix_now() - 90 * DAY;
		let stream = journal.register_reader(3).expect("reader");
		// A webhook still has to deliver event 5: the stream (passed 3) holds more.
		assert_eq!(journal.compact(cutoff, 5).expect("compact"), 3);
		assert_eq!(indexes(&journal, 0), (4..=10).collect::<Vec<_>>());
		stream.advance(7);
		stream.advance(2);
		assert_eq!(journal.compact(cutoff, 5).expect("compact"), 1);
		assert_eq!(journal.oldest(), 5);
		assert_eq!(journal.compact(cutoff, u64::MAX).expect("compact"), 3);
		assert_eq!(indexes(&journal, 0), vec![8, 9, 10]);
		drop(stream);
		assert_eq!(journal.compact(cutoff, u64::MAX).expect("compact"), 2);
		assert_eq!((journal.total(), indexes(&journal, 0)), (1, vec![10]));
	}

	#[tokio::test]
	async fn readers_are_bounded() {
		let dir = tempfile::tempdir().expect("tempdir");
		let journal = Journal::open(store_with_old_events(dir.path(), 0, 0)).expect("journal");
		let readers: Vec<EventReader> =
			(0..MAX_READERS).map(|_| journal.register_reader(0).expect("reader")).collect();
		let refused = journal.register_reader(0).map(|_| ()).map_err(|e| e.code());
		assert_eq!(refused, Err("busy"));
		drop(readers);
		assert!(journal.register_reader(0).is_ok());
	}
}
