//! The event log: every [`NodeEvent`] gets the next index and is written durably to the node's
//! store *before* anyone hears of it. Readers (the events API, the SSE stream, webhook
//! delivery) read from the store after the last index they saw and only wake up on the
//! in-memory signal, so a slow or disconnected reader never misses an event: nothing is kept
//! only in memory.
//!
//! Ordering: the index is assigned and the write applied to the store under one lock, so the
//! store receives entries in index order. With the group-commit store a flush covers
//! everything applied before it, so when entry `n` is durable every entry before it is too;
//! the stores without group commit finish each write inside the call. That is what lets the
//! journal announce "durable up to `n`" and readers read everything up to `n`.
//!
//! Events that must be recorded once however often their cause is handled (LDK replays an
//! event after a failed step or a restart) carry a key ([`NodeEvent::once_key`]); the key is
//! stored with the event, in the same flush, and a second append with it is a no-op, unless
//! the first one's event write failed (then the second records it).
//!
//! Old events are removed by the retention policy (`retention.rs`), oldest first and never
//! one a reader still needs; reads start at the oldest event left.
//!
//! On disk an event is its stored form (`stored.rs`), versioned like every record (see
//! `records::version`): appends write the current version, reads read every older one, and a
//! log whose newest event is of a newer version than this binary knows is not opened.

mod event;
mod retention;
mod stored;

pub use event::{kind_readable_by, EventRecord, NodeEvent, EVENT_KINDS, INVOICE_SCOPE_KINDS};
pub use retention::{EventReader, MAX_READERS};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use lightning::events::ReplayEvent;
use lightning::util::async_poll::AsyncResult;
use lightning::util::persist::{KVStore, KVStoreSync};
use tokio::sync::watch;

use crate::api_keys::ApiScope;
use crate::logger::FulgurLogger;
use crate::records::version::{self, StoredRecord};
use crate::store::DynStore;
use crate::NodeError;
use stored::StoredEvent;

/// Where events live, keyed by their zero-padded index so keys sort like indexes.
const EVENTS_NAMESPACE: &str = "fulgur_events";
/// Keys of events recorded at most once, each mapping to its event's index.
const ONCE_NAMESPACE: &str = "fulgur_event_once";
/// Digits of `u64::MAX`.
const INDEX_DIGITS: usize = 20;
/// Indexes one filtered read looks at, at most: a reader that may see only some kinds gets a
/// short (even empty) page and where to go on, instead of one request walking the whole log.
pub const MAX_SCAN: usize = 10_000;

/// One page of the log as a reader sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventPage {
	/// The events the reader may see, oldest first.
	pub events: Vec<EventRecord>,
	/// The highest index looked at (or the `after` asked for, when nothing was): the next
	/// page starts after it. `latest` or more once the page reached the head of the log.
	pub scanned_to: u64,
	/// The head of the log when the page was read.
	pub latest: u64,
}

/// The node's event log.
pub struct Journal {
	store: Arc<DynStore>,
	/// The last index handed out; held while the entry is applied to the store.
	last_assigned: Mutex<u64>,
	/// The highest index known durable; readers read up to it and wait for it to move.
	durable: watch::Sender<u64>,
	/// Events stored.
	count: AtomicU64,
	/// No event is stored below this index (compaction moves it up).
	oldest: AtomicU64,
	/// Serialises the "already recorded?" check with the append of keyed events.
	once: tokio::sync::Mutex<()>,
	/// Where the open readers are, so compaction keeps what they have not passed.
	readers: retention::Readers,
	/// One compaction at a time.
	compacting: Mutex<()>,
}

type Write = AsyncResult<'static, (), lightning::io::Error>;

impl Journal {
	/// Opens the log in `store`, continuing after the highest stored index; fails when the
	/// newest event is of a version newer than this binary reads (a newer fulgur wrote the
	/// log). Blocking: call at start-up.
	pub fn open(store: Arc<DynStore>) -> Result<Arc<Journal>, NodeError> {
		let keys = KVStoreSync::list(&*store, EVENTS_NAMESPACE, "")
			.map_err(|e| NodeError::Persistence(format!("listing events: {e}")))?;
		let indexes: Vec<u64> = keys.iter().filter_map(|k| k.parse().ok()).collect();
		let last = indexes.iter().copied().max().unwrap_or(0);
		if last > 0 {
			refuse_newer(&*store, last)?;
		}
		let oldest = indexes.iter().copied().min().unwrap_or(last + 1);
		let (durable, _) = watch::channel(last);
		Ok(Arc::new(Journal {
			store,
			last_assigned: Mutex::new(last),
			durable,
			count: AtomicU64::new(indexes.len() as u64),
			oldest: AtomicU64::new(oldest),
			once: tokio::sync::Mutex::new(()),
			readers: retention::Readers::default(),
			compacting: Mutex::new(()),
		}))
	}

	/// [`Journal::append`] for an LDK event handler: if the append fails, the handler returns
	/// `ReplayEvent` and LDK hands the event over again (recorded once however often it is
	/// handled).
	pub async fn append_or_replay(
		&self, event: NodeEvent, logger: &FulgurLogger,
	) -> Result<(), ReplayEvent> {
		match self.append(event).await {
			Ok(_) => Ok(()),
			Err(e) => {
				crate::error!(logger, "event not recorded, will be replayed: {e}");
				Err(ReplayEvent())
			}
		}
	}

	/// Records `event`; returns its index once it is durable and announced, or `None` when
	/// an event with the same [`NodeEvent::once_key`] is already recorded.
	pub async fn append(&self, event: NodeEvent) -> Result<Option<u64>, NodeError> {
		let Some(key) = event.once_key() else {
			let (index, writes) = self.issue(event, None)?;
			self.finish(index, writes).await?;
			return Ok(Some(index));
		};
		let guard = self.once.lock().await;
		match KVStore::read(&*self.store, ONCE_NAMESPACE, "", &key).await {
			Ok(index) if self.holds(&index).await? => return Ok(None),
			// The key outlived its event's failed write: record the event now.
			Ok(_) => {}
			Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => {}
			Err(e) => return Err(NodeError::Persistence(format!("reading event key {key}: {e}"))),
		}
		// Once applied, the key is visible to the next check: no need to hold the lock
		// while waiting for the disk, so concurrent appends still share a flush.
		let (index, writes) = self.issue(event, Some(&key))?;
		drop(guard);
		self.finish(index, writes).await?;
		Ok(Some(index))
	}

	/// Whether a once key's value (its event's index) stands for a recorded event: one that is
	/// stored, or that retention removed. The key and its event are written together, and
	/// when the event's write fails the key's may still succeed; such a key must not stop the
	/// replay of the event from recording it (the event would be lost), nor a key that does
	/// not decode (a duplicate at worst).
	async fn holds(&self, index: &[u8]) -> Result<bool, NodeError> {
		let Some(index) = std::str::from_utf8(index).ok().and_then(|i| i.parse::<u64>().ok())
		else {
			return Ok(false);
		};
		if index < self.oldest() {
			return Ok(true);
		}
		match KVStore::read(&*self.store, EVENTS_NAMESPACE, "", &key(index)).await {
			Ok(_) => Ok(true),
			Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => Ok(false),
			Err(e) => Err(NodeError::Persistence(format!("reading event {index}: {e}"))),
		}
	}

	/// Assigns the next index and applies the writes, in index order.
	fn issue(&self, event: NodeEvent, once: Option<&str>) -> Result<(u64, Vec<Write>), NodeError> {
		let mut last = self.last_assigned.lock().unwrap_or_else(|e| e.into_inner());
		let index = *last + 1;
		let record = EventRecord { index, timestamp: fulgur_base::clock::unix_now(), event };
		let bytes = version::encode(&StoredEvent::from(&record))
			.map_err(|e| NodeError::Internal(format!("encoding event: {e}")))?;
		let mut writes =
			vec![KVStore::write(&*self.store, EVENTS_NAMESPACE, "", &key(index), bytes)];
		if let Some(once) = once {
			let value = index.to_string().into_bytes();
			writes.push(KVStore::write(&*self.store, ONCE_NAMESPACE, "", once, value));
		}
		*last = index;
		Ok((index, writes))
	}

	async fn finish(&self, index: u64, writes: Vec<Write>) -> Result<(), NodeError> {
		for write in writes {
			write
				.await
				.map_err(|e| NodeError::Persistence(format!("writing event {index}: {e}")))?;
		}
		self.count.fetch_add(1, Ordering::Relaxed);
		self.durable.send_if_modified(|durable| {
			let moved = index > *durable;
			if moved {
				*durable = index;
			}
			moved
		});
		Ok(())
	}

	/// The highest durable index (0 before the first event).
	pub fn latest(&self) -> u64 {
		*self.durable.borrow()
	}

	/// Events stored.
	pub fn total(&self) -> u64 {
		self.count.load(Ordering::Relaxed)
	}

	/// Follows [`Journal::latest`]: wakes up when events were appended.
	pub fn subscribe(&self) -> watch::Receiver<u64> {
		self.durable.subscribe()
	}

	/// Up to `limit` events with an index above `after`, oldest first. Blocking (store reads).
	pub fn read(&self, after: u64, limit: usize) -> Result<Vec<EventRecord>, NodeError> {
		self.scan(after, limit, usize::MAX, |_| true).map(|page| page.events)
	}

	/// Up to `limit` events with an index above `after` that `wanted` accepts, oldest first,
	/// looking at no more than [`MAX_SCAN`] indexes. Blocking (store reads).
	pub fn read_where(
		&self, after: u64, limit: usize, wanted: impl Fn(&NodeEvent) -> bool,
	) -> Result<EventPage, NodeError> {
		self.scan(after, limit, MAX_SCAN, wanted)
	}

	fn scan(
		&self, after: u64, limit: usize, max_scan: usize, wanted: impl Fn(&NodeEvent) -> bool,
	) -> Result<EventPage, NodeError> {
		let latest = self.latest();
		let mut events = Vec::new();
		// Removed events are not walked over.
		let mut index = after.max(self.oldest.load(Ordering::Acquire).saturating_sub(1));
		let mut scanned = 0;
		while index < latest && events.len() < limit && scanned < max_scan {
			index += 1;
			scanned += 1;
			match KVStoreSync::read(&*self.store, EVENTS_NAMESPACE, "", &key(index)) {
				Ok(bytes) => {
					let record = decode(index, &bytes)?;
					if wanted(&record.event) {
						events.push(record);
					}
				}
				// An append whose write failed leaves its index unused.
				Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => {}
				Err(e) => {
					return Err(NodeError::Persistence(format!("reading event {index}: {e}")))
				}
			}
		}
		Ok(EventPage { events, scanned_to: index, latest })
	}

	/// The event recorded under `event`'s [`NodeEvent::once_key`], if there is one: how a
	/// caller learns whether (and how) something was already recorded. Blocking (store reads).
	pub fn recorded(&self, event: &NodeEvent) -> Result<Option<EventRecord>, NodeError> {
		let Some(once) = event.once_key() else { return Ok(None) };
		let index = match KVStoreSync::read(&*self.store, ONCE_NAMESPACE, "", &once) {
			Ok(bytes) => String::from_utf8(bytes).ok().and_then(|i| i.parse::<u64>().ok()),
			Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => return Ok(None),
			Err(e) => return Err(NodeError::Persistence(format!("reading event key {once}: {e}"))),
		};
		let Some(index) = index else {
			return Err(NodeError::Persistence(format!("event key {once} is corrupt")));
		};
		match KVStoreSync::read(&*self.store, EVENTS_NAMESPACE, "", &key(index)) {
			Ok(bytes) => decode(index, &bytes).map(Some),
			Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => Ok(None),
			Err(e) => Err(NodeError::Persistence(format!("reading event {index}: {e}"))),
		}
	}

	/// [`Journal::read`] off the async workers.
	pub async fn read_async(
		self: &Arc<Self>, after: u64, limit: usize,
	) -> Result<Vec<EventRecord>, NodeError> {
		let journal = Arc::clone(self);
		tokio::task::spawn_blocking(move || journal.read(after, limit))
			.await
			.map_err(|e| NodeError::Internal(format!("event read task: {e}")))?
	}

	/// A page of what a key with `scope` may read ([`NodeEvent::readable_by`]), off the async
	/// workers.
	pub async fn read_for(
		self: &Arc<Self>, scope: ApiScope, after: u64, limit: usize,
	) -> Result<EventPage, NodeError> {
		let journal = Arc::clone(self);
		tokio::task::spawn_blocking(move || {
			journal.read_where(after, limit, |event| event.readable_by(scope))
		})
		.await
		.map_err(|e| NodeError::Internal(format!("event read task: {e}")))?
	}
}

fn key(index: u64) -> String {
	format!("{index:0INDEX_DIGITS$}")
}

/// The bytes `record` is stored as: for tests that pin the layout.
#[cfg(test)]
pub(crate) fn stored_form(record: &EventRecord) -> Vec<u8> {
	version::encode(&StoredEvent::from(record)).expect("encode")
}

/// The event stored at `index`, of any version this binary reads.
fn decode(index: u64, bytes: &[u8]) -> Result<EventRecord, NodeError> {
	version::decode::<StoredEvent>(bytes)
		.map(|read| read.record.into())
		.map_err(|e| NodeError::Persistence(format!("event {index}: {e}")))
}

/// Fails when the event at `index` is of a version newer than this binary reads: the events
/// a newer fulgur appended come last, so the newest event tells. A damaged event is left for
/// the read that meets it.
fn refuse_newer(store: &DynStore, index: u64) -> Result<(), NodeError> {
	let bytes = KVStoreSync::read(store, EVENTS_NAMESPACE, "", &key(index))
		.map_err(|e| NodeError::Persistence(format!("reading event {index}: {e}")))?;
	match version::version_of(&bytes) {
		Ok(v) if v > StoredEvent::VERSION => {
			let newer = version::RecordError::Newer { version: v, known: StoredEvent::VERSION };
			Err(NodeError::Persistence(format!("event log (newest event, {index}): {newer}")))
		}
		_ => Ok(()),
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::model::{InvoiceRecord, InvoiceStatus};
	use crate::store::{MemoryStore, SledStore};

	fn peer(n: u8) -> NodeEvent {
		NodeEvent::PeerConnected { node_id: format!("02{n:02x}"), inbound: n.is_multiple_of(2) }
	}

	fn invoice_paid(hash: &str) -> NodeEvent {
		NodeEvent::InvoicePaid {
			invoice: InvoiceRecord {
				payment_hash: hash.into(),
				bolt11: "lnbcrt1".into(),
				description: "coffee".into(),
				amount_msat: Some(1000),
				amount_received_msat: Some(1000),
				created_at: 1,
				expires_at: 2,
				paid_at: Some(2),
				preimage: None,
				status: InvoiceStatus::Paid,
				hold: false,
				claim_deadline: None,
				add_index: 0,
				settle_index: None,
			},
		}
	}

	#[tokio::test]
	async fn indexes_stay_monotonic_across_restarts() {
		let dir = tempfile::tempdir().expect("tempdir");
		{
			let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("open"));
			let journal = Journal::open(store).expect("journal");
			assert_eq!(journal.latest(), 0);
			for n in 1..=3 {
				assert_eq!(journal.append(peer(n)).await.expect("append"), Some(u64::from(n)));
			}
			assert_eq!(journal.append(invoice_paid("aa")).await.expect("append"), Some(4));
		}
		let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("reopen"));
		let journal = Journal::open(store).expect("journal");
		assert_eq!((journal.latest(), journal.total()), (4, 4));
		// Recorded once, even across a restart.
		assert_eq!(journal.append(invoice_paid("aa")).await.expect("append"), None);
		assert_eq!(journal.append(peer(9)).await.expect("append"), Some(5));
		let all = journal.read(0, 100).expect("read");
		assert_eq!(all.iter().map(|e| e.index).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
		assert_eq!(all[0].event, peer(1));
		assert_eq!(all[3].event.kind(), "invoice_paid");
		let page = journal.read(2, 2).expect("read");
		assert_eq!(page.iter().map(|e| e.index).collect::<Vec<_>>(), vec![3, 4]);
		assert!(journal.read(5, 10).expect("read").is_empty());
	}

	#[tokio::test]
	async fn scoped_reads_see_their_kinds_and_say_where_to_go_on() {
		// In memory: ten thousand appends, each waiting for a flush, would make a slow test.
		let store: Arc<DynStore> = Arc::new(MemoryStore::new());
		let journal = Journal::open(store).expect("journal");
		journal.append(invoice_paid("aa")).await.expect("append");
		for n in 0..(MAX_SCAN + 5) {
			journal.append(peer(n as u8)).await.expect("append");
		}
		journal.append(invoice_paid("bb")).await.expect("append");
		let latest = journal.latest();
		let all = journal.read_for(ApiScope::Readonly, 0, 3).await.expect("read");
		assert_eq!(all.events.iter().map(|e| e.index).collect::<Vec<_>>(), vec![1, 2, 3]);
		assert_eq!((all.scanned_to, all.latest), (3, latest));
		// An invoice key: the first invoice, then a page cut short by the scan limit, then the
		// last invoice at the head.
		let first = journal.read_for(ApiScope::Invoice, 0, 10).await.expect("read");
		assert_eq!(first.events.iter().map(|e| e.index).collect::<Vec<_>>(), vec![1]);
		assert_eq!(first.scanned_to, MAX_SCAN as u64);
		let second = journal.read_for(ApiScope::Invoice, first.scanned_to, 10).await.expect("read");
		assert_eq!(second.events.iter().map(|e| e.index).collect::<Vec<_>>(), vec![latest]);
		assert_eq!(second.events[0].event, invoice_paid("bb"));
		assert_eq!(second.scanned_to, latest);
		// Past the head: nothing, and no going back.
		let past = journal.read_for(ApiScope::Invoice, latest + 5, 10).await.expect("read");
		assert_eq!((past.events.len(), past.scanned_to), (0, latest + 5));
	}

	#[tokio::test]
	async fn concurrent_appends_get_distinct_indexes_and_wake_subscribers() {
		let dir = tempfile::tempdir().expect("tempdir");
		let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("open"));
		let journal = Journal::open(store).expect("journal");
		let mut updates = journal.subscribe();
		let mut tasks = Vec::new();
		for n in 0..50u8 {
			let journal = Arc::clone(&journal);
			tasks.push(tokio::spawn(async move {
				let key = format!("{n:064x}");
				// Every event twice: the keyed ones must land once.
				let first = journal.append(invoice_paid(&key)).await.expect("append");
				let second = journal.append(invoice_paid(&key)).await.expect("append");
				assert!(first.is_some() && second.is_none());
				journal.append(peer(n)).await.expect("append")
			}));
		}
		for task in tasks {
			task.await.expect("task");
		}
		updates.changed().await.expect("woken");
		assert_eq!(journal.latest(), 100);
		let all = journal.read_async(0, 1000).await.expect("read");
		let indexes: Vec<u64> = all.iter().map(|e| e.index).collect();
		assert_eq!(indexes, (1..=100).collect::<Vec<_>>());
		assert_eq!(all.iter().filter(|e| e.event.kind() == "invoice_paid").count(), 50);
	}
}
