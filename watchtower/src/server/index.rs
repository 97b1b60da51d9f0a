//! The in-memory locator index: 8 bytes per watched locator, so scanning a block asks sled
//! only about transactions that may be breaches, not about all 3,000 of them.
//!
//! A hit is confirmed in sled (8 bytes can collide; the lookup is by the full locator), a
//! miss is final. Keyed with std's random SipHash: users choose locators, and an unkeyed
//! hash would let them build collision chains.

use std::collections::HashSet;
use std::sync::{RwLock, RwLockReadGuard};

use crate::locator::Locator;

/// The first 8 bytes of a locator.
pub(crate) fn prefix(locator: &Locator) -> u64 {
	let mut bytes = [0u8; 8];
	bytes.copy_from_slice(&locator.as_bytes()[..8]);
	u64::from_le_bytes(bytes)
}

/// Prefixes of every watched locator.
#[derive(Default)]
pub(crate) struct LocatorIndex {
	prefixes: RwLock<HashSet<u64>>,
}

impl LocatorIndex {
	pub(crate) fn read(&self) -> RwLockReadGuard<'_, HashSet<u64>> {
		// Inserts and removes cannot leave the set half-updated, so a poisoned lock is usable.
		self.prefixes.read().unwrap_or_else(|e| e.into_inner())
	}

	pub(crate) fn insert(&self, locator: &Locator) {
		self.prefixes.write().unwrap_or_else(|e| e.into_inner()).insert(prefix(locator));
	}

	pub(crate) fn remove(&self, prefix: u64) {
		self.prefixes.write().unwrap_or_else(|e| e.into_inner()).remove(&prefix);
	}

	pub(crate) fn len(&self) -> usize {
		self.read().len()
	}
}
