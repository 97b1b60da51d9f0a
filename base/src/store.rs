//! A sled database whose changes become durable only through group commit: sled's periodic
//! background flush is off, so a change is on disk exactly when a flush that started after it
//! has completed, and whoever acknowledges a change waits for that ([`SledDb::wait_durable`],
//! [`SledDb::wait_durable_async`]). The node's LDK store and the tower's appointment store are
//! both built on it; each keeps its own trees and key layout.

use std::future::Future;
use std::io;
use std::path::Path;

use crate::group_commit::GroupCommit;

/// How long [`SledDb::open`] tries again while the database's lock is taken.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(500);
/// How often it tries.
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(10);

/// Whether opening failed on sled's lock of the database (taken by a live handle, or not yet
/// let go by sled's threads); sled says so only in words.
fn is_locked(e: &io::Error) -> bool {
	e.to_string().contains("could not acquire lock")
}

/// How to open a [`SledDb`].
#[derive(Clone, Copy, Debug)]
pub struct SledOptions<'a> {
	/// The flusher thread's name (see [`GroupCommit::start`]).
	pub flusher_name: &'a str,
	/// sled's page cache, in bytes; `None` keeps sled's default (1 GiB).
	pub cache_bytes: Option<u64>,
	/// Flushes start at least this far apart ([`GroupCommit::start_paced`]); zero flushes as
	/// soon as someone waits.
	pub flush_pace: std::time::Duration,
}

/// An open sled database and its group-commit flusher.
///
/// Dropping it stops the flusher after a final flush and joins it, then releases the
/// database: once every other handle on it (trees) is gone too, the same path opens again at
/// once.
pub struct SledDb {
	// Field order matters for drop: the flusher (which holds its own `Db` handle) is stopped and
	// joined before this handle goes away.
	commit: GroupCommit,
	db: sled::Db,
}

impl SledDb {
	/// Opens (creating) the database at `path`.
	///
	/// Fails if the database is already open, in this process or another one: sled holds an
	/// exclusive lock on it while any handle is alive. sled's own I/O threads can hold it a
	/// moment after the last handle of a closed database went, so a taken lock is tried again
	/// for up to [`LOCK_WAIT`] before that error is answered.
	pub fn open(path: &Path, options: SledOptions<'_>) -> io::Result<SledDb> {
		// `None` turns off sled's periodic background flush: it would not tell us *when* data
		// became durable, and extra fsyncs would only compete with ours.
		let mut config = sled::Config::new().path(path).flush_every_ms(None);
		if let Some(bytes) = options.cache_bytes {
			config = config.cache_capacity(bytes);
		}
		let started = std::time::Instant::now();
		let db = loop {
			match config.open().map_err(io::Error::from) {
				Ok(db) => break db,
				Err(e) if is_locked(&e) && started.elapsed() < LOCK_WAIT => {
					std::thread::sleep(LOCK_RETRY);
				}
				Err(e) => return Err(e),
			}
		};
		let commit =
			GroupCommit::start_paced(db.clone(), options.flusher_name, options.flush_pace)?;
		Ok(SledDb { commit, db })
	}

	/// The database, to read and to apply changes to (which are not durable until waited for).
	pub fn db(&self) -> &sled::Db {
		&self.db
	}

	/// Blocks until every change applied before this call is on disk, sharing the flush with
	/// every concurrent waiter.
	pub fn wait_durable(&self) -> io::Result<()> {
		self.commit.wait_blocking()
	}

	/// Resolves once every change applied before this *call* (not before the first poll) is on
	/// disk; never blocks a runtime thread.
	pub fn wait_durable_async(&self) -> impl Future<Output = io::Result<()>> + Send + 'static {
		self.commit.wait_async()
	}

	/// Flushes now in the calling thread, outside the group commit (for a thread that owns a
	/// batch of changes, such as the tower's chain thread once per block).
	pub fn flush_now(&self) -> io::Result<()> {
		self.db.flush().map(drop).map_err(io::Error::from)
	}

	/// Flushes done by the group commit so far.
	pub fn flushes(&self) -> u64 {
		self.commit.flushes()
	}

	/// Bytes the database takes on disk.
	pub fn size_on_disk(&self) -> io::Result<u64> {
		self.db.size_on_disk().map_err(io::Error::from)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const OPTIONS: SledOptions<'static> = SledOptions {
		flusher_name: "test-flush",
		cache_bytes: Some(1 << 20),
		flush_pace: std::time::Duration::ZERO,
	};

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn waited_changes_survive_reopening_at_once() {
		let dir = tempfile::tempdir().unwrap();
		{
			let store = SledDb::open(dir.path(), OPTIONS).unwrap();
			store.db().insert(b"sync", &b"one"[..]).unwrap();
			store.wait_durable().unwrap();
			let tree = store.db().open_tree("other").unwrap();
			tree.insert(b"async", &b"two"[..]).unwrap();
			store.wait_durable_async().await.unwrap();
			// Applied, never waited for: the final flush on drop still persists it.
			store.db().insert(b"late", &b"three"[..]).unwrap();
			assert!(store.flushes() >= 2);
			// A second open of a live database fails cleanly (after `LOCK_WAIT`) instead of
			// corrupting it, and says it is the lock.
			let second = SledDb::open(dir.path(), OPTIONS).err().expect("a second open fails");
			assert!(is_locked(&second), "{second}");
			store.flush_now().unwrap();
			assert!(store.size_on_disk().unwrap() > 0);
		}
		// Opening again right away proves the flusher released its handle on the database.
		let store = SledDb::open(dir.path(), OPTIONS).unwrap();
		assert_eq!(store.db().get(b"sync").unwrap().as_deref(), Some(&b"one"[..]));
		let tree = store.db().open_tree("other").unwrap();
		assert_eq!(tree.get(b"async").unwrap().as_deref(), Some(&b"two"[..]));
		assert_eq!(store.db().get(b"late").unwrap().as_deref(), Some(&b"three"[..]));
		assert_eq!(store.flushes(), 0);
	}
}
