//! The PostgreSQL store's changes not yet committed: what makes its ordering and its reads
//! match sled's.
//!
//! A change is applied here, under one lock, at the moment the store is called (before any
//! future exists), as the latest state of its key: a later change to a key replaces an earlier
//! one that is still waiting, so one batch holds at most one change per key and it is the one
//! issued last. The flusher moves everything waiting into the batch it commits ("in flight");
//! changes arriving meanwhile wait for the next batch, which is only taken after this one
//! committed. So a change can never land before one issued earlier to the same key.
//!
//! Reads look here first (waiting, then in flight), then in the database: a read issued after
//! a write sees it even before it committed, as with sled's in-memory state. The look-up
//! happens when the read is issued, before the database is asked, so a change that commits and
//! leaves this overlay in between is found in the database instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// `(primary namespace, secondary namespace, key)`.
pub(super) type FullKey = (String, String, String);

/// The latest state of a key: a value, or `None` once removed.
pub(super) type Change = Option<Arc<[u8]>>;

/// What a look-up in the overlay found.
pub(super) enum Overlay {
	/// The key's newest uncommitted state.
	Changed(Change),
	/// Nothing uncommitted: the database has the key's state.
	Unchanged,
}

#[derive(Default)]
struct State {
	waiting: HashMap<FullKey, Change>,
	in_flight: HashMap<FullKey, Change>,
}

/// Changes applied but not yet committed; shared by the store's callers and its flusher.
#[derive(Default)]
pub(super) struct Pending {
	state: Mutex<State>,
}

impl Pending {
	fn lock(&self) -> MutexGuard<'_, State> {
		// Every critical section is a map update with no panicking call in between.
		self.state.lock().unwrap_or_else(PoisonError::into_inner)
	}

	/// Records `change` as the newest state of `key`, for the next batch.
	pub(super) fn apply(&self, key: FullKey, change: Change) {
		self.lock().waiting.insert(key, change);
	}

	/// Records every change of `changes`, in order, under one lock: the flusher takes all
	/// of them into one batch (one transaction), never some.
	pub(super) fn apply_all(&self, changes: Vec<(FullKey, Change)>) {
		let mut state = self.lock();
		for (key, change) in changes {
			state.waiting.insert(key, change);
		}
	}

	/// The newest uncommitted state of `key`, if any.
	pub(super) fn look_up(&self, key: &FullKey) -> Overlay {
		let state = self.lock();
		match state.waiting.get(key).or_else(|| state.in_flight.get(key)) {
			Some(change) => Overlay::Changed(change.clone()),
			None => Overlay::Unchanged,
		}
	}

	/// Every uncommitted key state under a namespace (`None`: all namespaces), newest first
	/// wins: `key → present?`.
	pub(super) fn namespace(&self, namespace: Option<(&str, &str)>) -> HashMap<FullKey, bool> {
		let state = self.lock();
		let mut found = HashMap::new();
		// In flight first, so that waiting (newer) states overwrite them.
		for (key, change) in state.in_flight.iter().chain(state.waiting.iter()) {
			let inside = namespace.is_none_or(|(p, s)| key.0 == p && key.1 == s);
			if inside {
				found.insert(key.clone(), change.is_some());
			}
		}
		found
	}

	/// Moves every waiting change into the batch in flight and returns it; empty when nothing
	/// waits. Only the flusher calls this, and only after the previous batch was settled.
	pub(super) fn take_batch(&self) -> Vec<(FullKey, Change)> {
		let mut state = self.lock();
		let batch = std::mem::take(&mut state.waiting);
		let copy = batch.iter().map(|(key, change)| (key.clone(), change.clone())).collect();
		state.in_flight = batch;
		copy
	}

	/// The batch in flight committed (or was given up): reads go to the database again for
	/// its keys, unless a newer change waits.
	pub(super) fn settle_batch(&self) {
		self.lock().in_flight.clear();
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn key(k: &str) -> FullKey {
		("ns".to_owned(), String::new(), k.to_owned())
	}

	fn value(v: u8) -> Change {
		Some(Arc::from(vec![v]))
	}

	#[test]
	fn the_newest_change_wins_until_it_settles() {
		let pending = Pending::default();
		pending.apply(key("a"), value(1));
		pending.apply(key("a"), value(2));
		pending.apply(key("b"), value(3));
		let mut batch = pending.take_batch();
		batch.sort_by(|x, y| x.0.cmp(&y.0));
		assert_eq!(batch, vec![(key("a"), value(2)), (key("b"), value(3))]);
		// In flight: still visible; a newer change waits for the next batch and wins reads.
		pending.apply(key("a"), None);
		assert!(matches!(pending.look_up(&key("a")), Overlay::Changed(None)));
		assert!(matches!(pending.look_up(&key("b")), Overlay::Changed(Some(_))));
		let namespace = pending.namespace(Some(("ns", "")));
		assert_eq!(namespace.get(&key("a")), Some(&false));
		assert_eq!(namespace.get(&key("b")), Some(&true));
		assert!(pending.namespace(Some(("other", ""))).is_empty());
		pending.settle_batch();
		assert!(matches!(pending.look_up(&key("b")), Overlay::Unchanged));
		assert_eq!(pending.take_batch(), vec![(key("a"), None)]);
		pending.settle_batch();
		assert!(pending.take_batch().is_empty());
	}
}
