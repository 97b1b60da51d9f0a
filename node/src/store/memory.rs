//! A store in memory only: the benchmark's CPU-limit baseline and the store of load-generating
//! nodes. Nothing survives the process.

use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use lightning::io;
use lightning::util::persist::KVStoreSync;

use super::StoreStats;

/// LDK's storage traits over a concurrent map.
#[derive(Default)]
pub struct MemoryStore {
	entries: DashMap<String, Vec<u8>>,
	writes: AtomicU64,
	removes: AtomicU64,
	bytes_written: AtomicU64,
}

fn composite(primary: &str, secondary: &str, key: &str) -> String {
	format!("{primary}\0{secondary}\0{key}")
}

impl MemoryStore {
	/// An empty store.
	pub fn new() -> MemoryStore {
		MemoryStore::default()
	}

	/// Counters since creation; there are never flushes.
	pub fn stats(&self) -> StoreStats {
		StoreStats {
			writes: self.writes.load(Ordering::Relaxed),
			removes: self.removes.load(Ordering::Relaxed),
			flushes: 0,
			bytes_written: self.bytes_written.load(Ordering::Relaxed),
		}
	}
}

impl KVStoreSync for MemoryStore {
	fn read(&self, primary: &str, secondary: &str, key: &str) -> Result<Vec<u8>, io::Error> {
		self.entries
			.get(&composite(primary, secondary, key))
			.map(|v| v.value().clone())
			.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such key"))
	}

	fn write(
		&self, primary: &str, secondary: &str, key: &str, buf: Vec<u8>,
	) -> Result<(), io::Error> {
		self.writes.fetch_add(1, Ordering::Relaxed);
		self.bytes_written.fetch_add(buf.len() as u64, Ordering::Relaxed);
		self.entries.insert(composite(primary, secondary, key), buf);
		Ok(())
	}

	fn remove(
		&self, primary: &str, secondary: &str, key: &str, _lazy: bool,
	) -> Result<(), io::Error> {
		self.removes.fetch_add(1, Ordering::Relaxed);
		self.entries.remove(&composite(primary, secondary, key));
		Ok(())
	}

	fn list(&self, primary: &str, secondary: &str) -> Result<Vec<String>, io::Error> {
		let prefix = composite(primary, secondary, "");
		Ok(self
			.entries
			.iter()
			.filter_map(|e| e.key().strip_prefix(&prefix).map(str::to_string))
			.filter(|k| !k.contains('\0'))
			.collect())
	}
}

super::kvstore_inline_from_sync!(MemoryStore);
