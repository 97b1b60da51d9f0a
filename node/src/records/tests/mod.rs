//! Tests of the record store and its migration: the store's own behaviour, a store written
//! by main `4253d99` read back field for field, the current layouts pinned byte for byte,
//! newer versions refused and an interrupted migration finished.

mod closed_channels;
mod expected_4253d99;
mod main_4253d99;
mod migration;
mod store;

use serde::{Deserialize, Serialize};

use crate::records::version::StoredRecord;
use crate::records::Record;

/// A number's stored form, for tests of the store itself.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredNumber {
	value: u64,
}

impl StoredRecord for StoredNumber {
	const VERSION: u32 = 2;
}

impl Record for u64 {
	type Stored = StoredNumber;

	fn to_stored(&self) -> StoredNumber {
		StoredNumber { value: *self }
	}

	fn from_stored(stored: StoredNumber) -> u64 {
		stored.value
	}
}
