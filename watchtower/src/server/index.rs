//! The in-memory locator index: 8 bytes per watched locator, so scanning a block asks sled
//! only about transactions that may be breaches, not about all 3,000 of them.
//!
//! A hit is confirmed in sled (8 bytes can collide; the lookup is by the full locator), a
//! miss is final. The prefixes live in one sorted vector sized to its contents (8 bytes each,
//! where a hash set takes 9 to 18 as it doubles), with recent changes in two small keyed
//! sets merged into it once either holds [`MERGE_AT`] prefixes. The sets use std's random
//! SipHash: users choose locators, and an unkeyed hash would let them build collision chains.

use std::collections::HashSet;
use std::sync::{RwLock, RwLockReadGuard};

use crate::locator::Locator;

/// Changes held apart before they are merged into the sorted vector: a merge copies the whole
/// vector (8 MB at a million locators), so it happens once per this many changes.
const MERGE_AT: usize = 16 * 1024;

/// The first 8 bytes of a locator.
pub(crate) fn prefix(locator: &Locator) -> u64 {
	let mut bytes = [0u8; 8];
	bytes.copy_from_slice(&locator.as_bytes()[..8]);
	u64::from_le_bytes(bytes)
}

/// A set of prefixes: a sorted vector plus the changes since it was last rebuilt.
#[derive(Default)]
pub(crate) struct Prefixes {
	/// Sorted, without duplicates.
	sorted: Vec<u64>,
	/// In the set, not in `sorted`.
	added: HashSet<u64>,
	/// In `sorted`, not in the set.
	removed: HashSet<u64>,
}

impl Prefixes {
	/// Whether `prefix` is in the set.
	pub(crate) fn contains(&self, prefix: &u64) -> bool {
		if self.added.contains(prefix) {
			return true;
		}
		!self.removed.contains(prefix) && self.sorted.binary_search(prefix).is_ok()
	}

	fn insert(&mut self, prefix: u64) {
		if self.removed.remove(&prefix) || self.sorted.binary_search(&prefix).is_ok() {
			return;
		}
		self.added.insert(prefix);
		if self.added.len() >= MERGE_AT {
			self.merge();
		}
	}

	fn remove(&mut self, prefix: u64) {
		if self.added.remove(&prefix) {
			return;
		}
		let was_sorted = self.sorted.binary_search(&prefix).is_ok();
		if was_sorted && self.removed.insert(prefix) && self.removed.len() >= MERGE_AT {
			self.merge();
		}
	}

	/// Folds the changes into a new sorted vector of exactly the set's size.
	fn merge(&mut self) {
		let mut added: Vec<u64> = self.added.drain().collect();
		added.sort_unstable();
		let mut merged = Vec::with_capacity(self.sorted.len() + added.len() - self.removed.len());
		let mut added = added.into_iter().peekable();
		for &kept in self.sorted.iter().filter(|p| !self.removed.contains(p)) {
			while let Some(new) = added.next_if(|new| *new < kept) {
				merged.push(new);
			}
			merged.push(kept);
		}
		merged.extend(added);
		self.removed.clear();
		self.sorted = merged;
	}

	fn len(&self) -> usize {
		self.sorted.len() + self.added.len() - self.removed.len()
	}
}

/// Prefixes of every watched locator.
#[derive(Default)]
pub(crate) struct LocatorIndex {
	prefixes: RwLock<Prefixes>,
}

impl LocatorIndex {
	pub(crate) fn read(&self) -> RwLockReadGuard<'_, Prefixes> {
		// Inserts and removes cannot leave the set half-updated, so a poisoned lock is usable.
		self.prefixes.read().unwrap_or_else(|e| e.into_inner())
	}

	pub(crate) fn insert(&self, locator: &Locator) {
		self.prefixes.write().unwrap_or_else(|e| e.into_inner()).insert(prefix(locator));
	}

	/// Removes `prefix` unless `still_used` (asked while the index is locked) says an
	/// appointment still has it: an insert of that prefix made meanwhile, after its appointment
	/// was stored, waits for the lock, so it is never undone by a removal that looked before
	/// that appointment was there.
	pub(crate) fn remove_unless<E>(
		&self, prefix: u64, still_used: impl FnOnce() -> Result<bool, E>,
	) -> Result<(), E> {
		let mut prefixes = self.prefixes.write().unwrap_or_else(|e| e.into_inner());
		if !still_used()? {
			prefixes.remove(prefix);
		}
		Ok(())
	}

	pub(crate) fn len(&self) -> usize {
		self.read().len()
	}
}

#[cfg(test)]
mod tests {
	use std::collections::BTreeSet;

	use super::*;

	#[test]
	fn follows_a_plain_set_through_inserts_removes_and_merges() {
		let mut prefixes = Prefixes::default();
		let mut model = BTreeSet::new();
		// Small values so inserts and removes hit the same prefixes again, across merges.
		let mut state = 0x9e37_79b9_7f4a_7c15u64;
		for step in 0..(MERGE_AT * 6) {
			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
			let value = state % (MERGE_AT as u64 * 2);
			if step % 3 == 2 {
				prefixes.remove(value);
				model.remove(&value);
			} else {
				prefixes.insert(value);
				model.insert(value);
			}
			if step % 997 == 0 {
				for probe in value.saturating_sub(50)..value + 50 {
					assert_eq!(prefixes.contains(&probe), model.contains(&probe), "{probe}");
				}
			}
		}
		assert_eq!(prefixes.len(), model.len());
		prefixes.merge();
		assert_eq!(prefixes.sorted, model.iter().copied().collect::<Vec<_>>());
		assert_eq!(prefixes.sorted.capacity(), prefixes.sorted.len(), "sized to its contents");
	}
}
