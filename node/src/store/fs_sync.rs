//! The stock baseline: LDK's `FilesystemStore`, with every write done synchronously where LDK
//! asks for it (so monitor persistence blocks like LDK's synchronous persister does).
//! `FilesystemStore` fsyncs the file and then its directory on every write and remove, which is
//! what [`StoreStats::flushes`] counts here.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use lightning::io;
use lightning::util::persist::KVStoreSync;
use lightning_persister::fs_store::FilesystemStore;

use super::StoreStats;

/// fsyncs `FilesystemStore` issues per write or remove: the file, then its directory.
const FSYNCS_PER_CHANGE: u64 = 2;

/// `FilesystemStore`, synchronous even through the async trait.
pub struct FsSyncStore {
	inner: FilesystemStore,
	writes: AtomicU64,
	removes: AtomicU64,
	bytes_written: AtomicU64,
}

impl FsSyncStore {
	/// A store rooted at `dir`.
	pub fn new(dir: PathBuf) -> FsSyncStore {
		FsSyncStore {
			inner: FilesystemStore::new(dir),
			writes: AtomicU64::new(0),
			removes: AtomicU64::new(0),
			bytes_written: AtomicU64::new(0),
		}
	}

	/// Counters since creation.
	pub fn stats(&self) -> StoreStats {
		let writes = self.writes.load(Ordering::Relaxed);
		let removes = self.removes.load(Ordering::Relaxed);
		StoreStats {
			writes,
			removes,
			flushes: (writes + removes) * FSYNCS_PER_CHANGE,
			bytes_written: self.bytes_written.load(Ordering::Relaxed),
		}
	}
}

impl KVStoreSync for FsSyncStore {
	fn read(&self, primary: &str, secondary: &str, key: &str) -> Result<Vec<u8>, io::Error> {
		KVStoreSync::read(&self.inner, primary, secondary, key)
	}

	fn write(
		&self, primary: &str, secondary: &str, key: &str, buf: Vec<u8>,
	) -> Result<(), io::Error> {
		let len = buf.len() as u64;
		KVStoreSync::write(&self.inner, primary, secondary, key, buf)?;
		self.writes.fetch_add(1, Ordering::Relaxed);
		self.bytes_written.fetch_add(len, Ordering::Relaxed);
		Ok(())
	}

	fn remove(
		&self, primary: &str, secondary: &str, key: &str, lazy: bool,
	) -> Result<(), io::Error> {
		KVStoreSync::remove(&self.inner, primary, secondary, key, lazy)?;
		self.removes.fetch_add(1, Ordering::Relaxed);
		Ok(())
	}

	fn list(&self, primary: &str, secondary: &str) -> Result<Vec<String>, io::Error> {
		KVStoreSync::list(&self.inner, primary, secondary)
	}
}

super::kvstore_inline_from_sync!(FsSyncStore);
