//! The stock baseline: LDK's `FilesystemStore`, which fsyncs the file and then its directory on
//! every write and remove (what [`StoreStats::flushes`] counts here).
//!
//! Invariant: a write is acknowledged only once `FilesystemStore` has made it durable, and the
//! blocking file I/O of the async trait runs on the runtime's blocking threads (LDK's own
//! `tokio` implementation, which also keeps the writes to one key in call order), so a slow
//! disk stalls only this node's persistence and not the runtime's worker threads.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use lightning::io;
use lightning::util::async_poll::AsyncResult;
use lightning::util::persist::{KVStore, KVStoreSync};
use lightning_persister::fs_store::FilesystemStore;

use super::StoreStats;

/// fsyncs `FilesystemStore` issues per write or remove: the file, then its directory.
const FSYNCS_PER_CHANGE: u64 = 2;

/// What the store counts, shared with the futures of the async trait.
#[derive(Default)]
struct Counters {
	writes: AtomicU64,
	removes: AtomicU64,
	bytes_written: AtomicU64,
}

/// `FilesystemStore`, its async writes on blocking threads.
pub struct FsSyncStore {
	inner: FilesystemStore,
	counters: Arc<Counters>,
}

impl FsSyncStore {
	/// A store rooted at `dir`.
	pub fn new(dir: PathBuf) -> FsSyncStore {
		FsSyncStore { inner: FilesystemStore::new(dir), counters: Arc::default() }
	}

	/// Counters since creation.
	pub fn stats(&self) -> StoreStats {
		let writes = self.counters.writes.load(Ordering::Relaxed);
		let removes = self.counters.removes.load(Ordering::Relaxed);
		StoreStats {
			writes,
			removes,
			flushes: (writes + removes) * FSYNCS_PER_CHANGE,
			bytes_written: self.counters.bytes_written.load(Ordering::Relaxed),
		}
	}
}

impl Counters {
	fn wrote(&self, len: u64) {
		self.writes.fetch_add(1, Ordering::Relaxed);
		self.bytes_written.fetch_add(len, Ordering::Relaxed);
	}

	fn removed(&self) {
		self.removes.fetch_add(1, Ordering::Relaxed);
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
		self.counters.wrote(len);
		Ok(())
	}

	fn remove(
		&self, primary: &str, secondary: &str, key: &str, lazy: bool,
	) -> Result<(), io::Error> {
		KVStoreSync::remove(&self.inner, primary, secondary, key, lazy)?;
		self.counters.removed();
		Ok(())
	}

	fn list(&self, primary: &str, secondary: &str) -> Result<Vec<String>, io::Error> {
		KVStoreSync::list(&self.inner, primary, secondary)
	}
}

impl KVStore for FsSyncStore {
	fn read(
		&self, primary: &str, secondary: &str, key: &str,
	) -> AsyncResult<'static, Vec<u8>, io::Error> {
		KVStore::read(&self.inner, primary, secondary, key)
	}

	fn write(
		&self, primary: &str, secondary: &str, key: &str, buf: Vec<u8>,
	) -> AsyncResult<'static, (), io::Error> {
		let len = buf.len() as u64;
		// The version of the write is taken here, at the call: the order LDK relies on.
		let writing = KVStore::write(&self.inner, primary, secondary, key, buf);
		let counters = Arc::clone(&self.counters);
		Box::pin(async move {
			writing.await?;
			counters.wrote(len);
			Ok(())
		})
	}

	fn remove(
		&self, primary: &str, secondary: &str, key: &str, lazy: bool,
	) -> AsyncResult<'static, (), io::Error> {
		let removing = KVStore::remove(&self.inner, primary, secondary, key, lazy);
		let counters = Arc::clone(&self.counters);
		Box::pin(async move {
			removing.await?;
			counters.removed();
			Ok(())
		})
	}

	fn list(&self, primary: &str, secondary: &str) -> AsyncResult<'static, Vec<String>, io::Error> {
		KVStore::list(&self.inner, primary, secondary)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn temp_dir(name: &str) -> PathBuf {
		std::env::temp_dir().join(format!("fulgur-fs-sync-{name}-{}", std::process::id()))
	}

	/// The async write does no file I/O in the caller (it used to write inline, blocking the
	/// runtime's worker thread): nothing is on disk until the future runs, on a blocking
	/// thread, and once it has returned the value is durable (a new store over the directory
	/// reads it).
	#[tokio::test(flavor = "current_thread")]
	async fn async_writes_run_off_the_caller_and_are_durable() {
		let dir = temp_dir("deferred");
		let store = FsSyncStore::new(dir.clone());
		let writing = KVStore::write(&store, "ns", "", "key", vec![7]);
		assert!(
			KVStoreSync::read(&store, "ns", "", "key").is_err(),
			"the write was done inline, on the caller's thread"
		);
		writing.await.unwrap();
		let reopened = FsSyncStore::new(dir.clone());
		assert_eq!(KVStoreSync::read(&reopened, "ns", "", "key").unwrap(), vec![7]);
		let _ = std::fs::remove_dir_all(dir);
	}

	/// Two writes to one key started together end with the later call's value, whichever
	/// future is polled first; removes are counted and durable.
	#[tokio::test(flavor = "current_thread")]
	async fn async_writes_to_a_key_keep_call_order() {
		let dir = temp_dir("order");
		let store = FsSyncStore::new(dir.clone());
		let first = KVStore::write(&store, "ns", "", "key", vec![1]);
		let second = KVStore::write(&store, "ns", "", "key", vec![2]);
		second.await.unwrap();
		first.await.unwrap();
		assert_eq!(KVStore::read(&store, "ns", "", "key").await.unwrap(), vec![2]);
		KVStore::remove(&store, "ns", "", "key", false).await.unwrap();
		let reopened = FsSyncStore::new(dir.clone());
		assert!(KVStoreSync::read(&reopened, "ns", "", "key").is_err());
		let stats = store.stats();
		assert_eq!((stats.writes, stats.removes), (2, 1));
		let _ = std::fs::remove_dir_all(dir);
	}
}
