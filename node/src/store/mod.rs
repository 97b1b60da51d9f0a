//! Durable sled-backed implementation of LDK's key-value storage traits.
//!
//! Everything LDK persists (channel manager, monitors, monitor updates, graph, scorer, sweeper)
//! lives in one sled tree under the composite key `primary \0 secondary \0 key`. `0x00` is not in
//! [`KVSTORE_NAMESPACE_KEY_ALPHABET`], so the separator can never be confused with a name, and
//! listing a namespace is a single prefix scan.
//!
//! Durability comes from our own flushes only: sled's periodic background flush is disabled, and
//! every write or non-lazy remove is acknowledged after a `flush()` that started after the change
//! was applied. Concurrent writers share one flush through the group commit of
//! [`fulgur_base::store::SledDb`], the sled core the tower's appointment store uses too.
//!
//! LDK's traits use `lightning::io::Error` (bitcoin-io's type, not `std::io::Error`); the trait
//! impls convert keeping the kind, so callers can still match on `NotFound` or `InvalidInput`.
//! Our inherent methods use `std::io::Error`.
#![deny(missing_docs)]

/// Implements LDK's async `KVStore` for a store whose work is all synchronous: each call is done
/// inline, in the caller's thread, and returns a ready future (what LDK's `KVStoreSyncWrapper`
/// does, on the store type itself so it can be both traits at once).
macro_rules! kvstore_inline_from_sync {
	($store:ty) => {
		impl lightning::util::persist::KVStore for $store {
			fn read(
				&self, primary: &str, secondary: &str, key: &str,
			) -> lightning::util::async_poll::AsyncResult<'static, Vec<u8>, lightning::io::Error> {
				let result = KVStoreSync::read(self, primary, secondary, key);
				Box::pin(async move { result })
			}

			fn write(
				&self, primary: &str, secondary: &str, key: &str, buf: Vec<u8>,
			) -> lightning::util::async_poll::AsyncResult<'static, (), lightning::io::Error> {
				let result = KVStoreSync::write(self, primary, secondary, key, buf);
				Box::pin(async move { result })
			}

			fn remove(
				&self, primary: &str, secondary: &str, key: &str, lazy: bool,
			) -> lightning::util::async_poll::AsyncResult<'static, (), lightning::io::Error> {
				let result = KVStoreSync::remove(self, primary, secondary, key, lazy);
				Box::pin(async move { result })
			}

			fn list(
				&self, primary: &str, secondary: &str,
			) -> lightning::util::async_poll::AsyncResult<'static, Vec<String>, lightning::io::Error>
			{
				let result = KVStoreSync::list(self, primary, secondary);
				Box::pin(async move { result })
			}
		}
	};
}
pub(crate) use kvstore_inline_from_sync;

mod fs_sync;
mod memory;
mod postgres;

pub use fs_sync::FsSyncStore;
pub use memory::MemoryStore;
pub use postgres::{lease_held, LeaseHeld, PostgresStore};

use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use lightning::io::{Error as LdkIoError, ErrorKind as LdkIoErrorKind};
use lightning::util::async_poll::AsyncResult;
use lightning::util::persist::{
	KVStore, KVStoreSync, MigratableKVStore, KVSTORE_NAMESPACE_KEY_ALPHABET,
	KVSTORE_NAMESPACE_KEY_MAX_LEN,
};

use fulgur_base::store::{SledDb, SledOptions};

/// Name of the sled tree holding LDK's data. A named tree (rather than sled's default one) leaves
/// the rest of the database free for the node's own records without any risk of key collisions.
const KV_TREE: &str = "ldk_kv";

/// Separates primary namespace, secondary namespace and key inside a composite sled key.
const SEP: u8 = 0;

/// Name of the store's flusher thread, so it is recognisable in `top -H`, debuggers and panics.
const FLUSHER_THREAD_NAME: &str = "fulgur-store-flush";

/// Counters since [`SledStore::open`], for benchmarks and diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
	/// Writes applied to the database (acknowledged or still waiting for their flush).
	pub writes: u64,
	/// Removes applied to the database, lazy or not.
	pub removes: u64,
	/// `flush()` calls made by the group-commit flusher; `flushes / writes` is the batching ratio.
	pub flushes: u64,
	/// Sum of the value sizes written (payload bytes, not sled's on-disk bytes).
	pub bytes_written: u64,
}

/// One write of [`NodeStore::write_all`]: primary namespace, secondary namespace, key, value.
pub type KeyWrite = (String, String, String, Vec<u8>);

/// What the node needs of a store: both of LDK's storage traits, and counters.
pub trait NodeStore: KVStore + KVStoreSync + Send + Sync {
	/// Counters since the store was opened.
	fn stats(&self) -> StoreStats;

	/// Every key of a namespace with its value, in key order: what a list then a read of each
	/// key answers, which a store that can (PostgreSQL) answers in one query instead of one per
	/// key (start-up reads the channel manager's thousands of chunks this way).
	fn read_namespace(
		&self, primary_namespace: &str, secondary_namespace: &str,
	) -> Result<Vec<(String, Vec<u8>)>, LdkIoError> {
		let keys = KVStoreSync::list(self, primary_namespace, secondary_namespace)?;
		let mut found = Vec::with_capacity(keys.len());
		for key in keys {
			match KVStoreSync::read(self, primary_namespace, secondary_namespace, &key) {
				Ok(value) => found.push((key, value)),
				// Removed since the list: as if listed a moment later.
				Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => {}
				Err(e) => return Err(e),
			}
		}
		found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
		Ok(found)
	}

	/// Writes `writes` in their order (issued before this returns, as a write is); the
	/// future resolves once all are durable, or with the first error. A store that can
	/// commits them as one unit, all or none (PostgreSQL: one transaction); the others
	/// issue them one by one, which keeps their contract (issue order, a durable prefix).
	fn write_all(&self, writes: Vec<KeyWrite>) -> AsyncResult<'static, (), LdkIoError> {
		let issued: Vec<_> = writes
			.into_iter()
			.map(|(p, s, k, buf)| KVStore::write(self, &p, &s, &k, buf))
			.collect();
		Box::pin(async move {
			let mut first_error = None;
			for write in issued {
				if let Err(e) = write.await {
					first_error.get_or_insert(e);
				}
			}
			first_error.map_or(Ok(()), Err)
		})
	}
}

/// The store a node runs on, chosen by configuration.
pub type DynStore = dyn NodeStore;

impl NodeStore for SledStore {
	fn stats(&self) -> StoreStats {
		SledStore::stats(self)
	}
}

impl NodeStore for MemoryStore {
	fn stats(&self) -> StoreStats {
		MemoryStore::stats(self)
	}
}

impl NodeStore for FsSyncStore {
	fn stats(&self) -> StoreStats {
		FsSyncStore::stats(self)
	}
}

/// A durable LDK key-value store backed by sled, with group commit.
///
/// Cloning is cheap and every clone shares the same database and flusher thread. When the last
/// clone is dropped, the flusher performs a final flush and exits, and the database is closed,
/// so the same path can be opened again right away.
#[derive(Clone)]
pub struct SledStore {
	inner: Arc<Inner>,
}

struct Inner {
	// Field order matters for drop: the flusher (which holds its own `Db` handle) is stopped and
	// joined before the remaining handles go away, so the database is closed once `Inner` is.
	db: SledDb,
	tree: sled::Tree,
	writes: AtomicU64,
	removes: AtomicU64,
	bytes_written: AtomicU64,
}

impl SledStore {
	/// Opens (creating) the sled database at `path`.
	///
	/// Fails if the database is already open, in this process or another one: sled holds an
	/// exclusive lock on it while any handle is alive.
	pub fn open(path: &Path) -> io::Result<SledStore> {
		let options = SledOptions {
			flusher_name: FLUSHER_THREAD_NAME,
			cache_bytes: None,
			flush_pace: std::time::Duration::ZERO,
		};
		let db = SledDb::open(path, options)?;
		let tree = db.db().open_tree(KV_TREE).map_err(io_err)?;
		Ok(SledStore {
			inner: Arc::new(Inner {
				db,
				tree,
				writes: AtomicU64::new(0),
				removes: AtomicU64::new(0),
				bytes_written: AtomicU64::new(0),
			}),
		})
	}

	/// Counters since open.
	pub fn stats(&self) -> StoreStats {
		let inner = &self.inner;
		StoreStats {
			writes: inner.writes.load(Ordering::Relaxed),
			removes: inner.removes.load(Ordering::Relaxed),
			flushes: inner.db.flushes(),
			bytes_written: inner.bytes_written.load(Ordering::Relaxed),
		}
	}

	/// Blocks until every change applied to the database before this call is on disk.
	///
	/// Joins the same group flush as concurrent LDK writes instead of issuing an fsync of its own.
	pub fn wait_durable(&self) -> io::Result<()> {
		self.inner.db.wait_durable()
	}

	/// Async version of [`SledStore::wait_durable`]; never blocks a runtime thread.
	///
	/// The changes to wait for are fixed when this is *called*, not when the future is polled.
	pub fn wait_durable_async(&self) -> impl Future<Output = io::Result<()>> + Send + 'static {
		self.inner.db.wait_durable_async()
	}

	/// Applies a write to sled's in-memory state without waiting for disk.
	///
	/// This is done synchronously by both traits, *before* any future is returned: sled applies
	/// inserts atomically in call order, so two writes to one key are ordered exactly as LDK
	/// issued them, whatever order their futures are later polled or completed in. Only the wait
	/// for the flush is asynchronous, and a flush makes everything applied before it durable, so
	/// a later write can never be overtaken by an earlier one either in memory or on disk.
	fn apply_write(
		&self, primary_namespace: &str, secondary_namespace: &str, key: &str, buf: Vec<u8>,
	) -> io::Result<()> {
		check_names("write", primary_namespace, secondary_namespace, Some(key))?;
		let len = buf.len() as u64;
		let composite = composite_key(primary_namespace, secondary_namespace, key);
		self.inner.tree.insert(composite, buf).map_err(io_err)?;
		self.inner.writes.fetch_add(1, Ordering::Relaxed);
		self.inner.bytes_written.fetch_add(len, Ordering::Relaxed);
		Ok(())
	}

	/// Applies a remove to sled's in-memory state; ordered with writes for the same reason as
	/// [`SledStore::apply_write`].
	fn apply_remove(
		&self, primary_namespace: &str, secondary_namespace: &str, key: &str,
	) -> io::Result<()> {
		check_names("remove", primary_namespace, secondary_namespace, Some(key))?;
		let composite = composite_key(primary_namespace, secondary_namespace, key);
		self.inner.tree.remove(composite).map_err(io_err)?;
		self.inner.removes.fetch_add(1, Ordering::Relaxed);
		Ok(())
	}

	fn read_now(
		&self, primary_namespace: &str, secondary_namespace: &str, key: &str,
	) -> io::Result<Vec<u8>> {
		check_names("read", primary_namespace, secondary_namespace, Some(key))?;
		let composite = composite_key(primary_namespace, secondary_namespace, key);
		match self.inner.tree.get(composite).map_err(io_err)? {
			Some(value) => Ok(value.to_vec()),
			// LDK tells "nothing stored yet" apart from real failures by this exact kind.
			None => Err(io::Error::new(
				io::ErrorKind::NotFound,
				format!("no value for {primary_namespace}/{secondary_namespace}/{key}"),
			)),
		}
	}

	fn list_now(
		&self, primary_namespace: &str, secondary_namespace: &str,
	) -> io::Result<Vec<String>> {
		check_names("list", primary_namespace, secondary_namespace, None)?;
		let prefix = namespace_prefix(primary_namespace, secondary_namespace);
		let mut keys = Vec::new();
		for entry in self.inner.tree.scan_prefix(&prefix).keys() {
			let composite = entry.map_err(io_err)?;
			keys.push(utf8(&composite[prefix.len()..])?);
		}
		Ok(keys)
	}

	fn list_all_now(&self) -> io::Result<Vec<(String, String, String)>> {
		let mut all = Vec::new();
		for entry in self.inner.tree.iter().keys() {
			let composite = entry.map_err(io_err)?;
			let mut parts = composite.splitn(3, |b| *b == SEP);
			match (parts.next(), parts.next(), parts.next()) {
				(Some(p), Some(s), Some(k)) => all.push((utf8(p)?, utf8(s)?, utf8(k)?)),
				_ => {
					return Err(io::Error::new(
						io::ErrorKind::InvalidData,
						format!("malformed composite key in store: {composite:?}"),
					))
				}
			}
		}
		Ok(all)
	}

	/// Runs a read-only operation off the async runtime's worker threads.
	///
	/// sled reads are usually served from its cache but may hit the disk, and blocking I/O must
	/// not run on a worker. Outside a tokio runtime there is no blocking pool to use, and the
	/// caller is evidently not a runtime worker either, so the operation runs inline.
	fn off_runtime<T, F>(&self, op: F) -> AsyncResult<'static, T, LdkIoError>
	where
		T: Send + 'static,
		F: FnOnce(&SledStore) -> io::Result<T> + Send + 'static,
	{
		match tokio::runtime::Handle::try_current() {
			Ok(handle) => {
				let store = self.clone();
				Box::pin(async move {
					match handle.spawn_blocking(move || op(&store)).await {
						Ok(res) => res.map_err(to_ldk),
						Err(e) => Err(LdkIoError::new(
							LdkIoErrorKind::Other,
							format!("store task failed: {e}"),
						)),
					}
				})
			}
			Err(_) => ready(op(self)),
		}
	}
}

impl KVStoreSync for SledStore {
	fn read(
		&self, primary_namespace: &str, secondary_namespace: &str, key: &str,
	) -> Result<Vec<u8>, LdkIoError> {
		self.read_now(primary_namespace, secondary_namespace, key).map_err(to_ldk)
	}

	fn write(
		&self, primary_namespace: &str, secondary_namespace: &str, key: &str, buf: Vec<u8>,
	) -> Result<(), LdkIoError> {
		self.apply_write(primary_namespace, secondary_namespace, key, buf).map_err(to_ldk)?;
		self.inner.db.wait_durable().map_err(to_ldk)
	}

	fn remove(
		&self, primary_namespace: &str, secondary_namespace: &str, key: &str, lazy: bool,
	) -> Result<(), LdkIoError> {
		self.apply_remove(primary_namespace, secondary_namespace, key).map_err(to_ldk)?;
		if lazy {
			// LDK only asks for lazy removes it can replay; the next group flush (or the final
			// one on drop) persists it without making this caller pay for an fsync.
			return Ok(());
		}
		self.inner.db.wait_durable().map_err(to_ldk)
	}

	fn list(
		&self, primary_namespace: &str, secondary_namespace: &str,
	) -> Result<Vec<String>, LdkIoError> {
		self.list_now(primary_namespace, secondary_namespace).map_err(to_ldk)
	}
}

impl KVStore for SledStore {
	fn read(
		&self, primary_namespace: &str, secondary_namespace: &str, key: &str,
	) -> AsyncResult<'static, Vec<u8>, LdkIoError> {
		let (p, s, k) = owned(primary_namespace, secondary_namespace, key);
		self.off_runtime(move |store| store.read_now(&p, &s, &k))
	}

	fn write(
		&self, primary_namespace: &str, secondary_namespace: &str, key: &str, buf: Vec<u8>,
	) -> AsyncResult<'static, (), LdkIoError> {
		// Applied before the future exists; see `apply_write` for why this gives LDK its
		// per-key ordering guarantee.
		if let Err(e) = self.apply_write(primary_namespace, secondary_namespace, key, buf) {
			return ready(Err(e));
		}
		durable(self.inner.db.wait_durable_async())
	}

	fn remove(
		&self, primary_namespace: &str, secondary_namespace: &str, key: &str, lazy: bool,
	) -> AsyncResult<'static, (), LdkIoError> {
		if let Err(e) = self.apply_remove(primary_namespace, secondary_namespace, key) {
			return ready(Err(e));
		}
		if lazy {
			return ready(Ok(()));
		}
		durable(self.inner.db.wait_durable_async())
	}

	fn list(
		&self, primary_namespace: &str, secondary_namespace: &str,
	) -> AsyncResult<'static, Vec<String>, LdkIoError> {
		let (p, s, _) = owned(primary_namespace, secondary_namespace, "");
		self.off_runtime(move |store| store.list_now(&p, &s))
	}
}

impl MigratableKVStore for SledStore {
	fn list_all_keys(&self) -> Result<Vec<(String, String, String)>, LdkIoError> {
		self.list_all_now().map_err(to_ldk)
	}
}

/// An already-computed result as LDK's boxed future type.
fn ready<T: Send + 'static>(res: io::Result<T>) -> AsyncResult<'static, T, LdkIoError> {
	Box::pin(std::future::ready(res.map_err(to_ldk)))
}

/// Boxes a wait for the group flush as LDK's future type. The inner future only holds a oneshot
/// receiver, which is what makes the result `Send + 'static` without borrowing the store.
fn durable(
	wait: impl Future<Output = io::Result<()>> + Send + 'static,
) -> AsyncResult<'static, (), LdkIoError> {
	Box::pin(async move { wait.await.map_err(to_ldk) })
}

/// Converts to LDK's error type, keeping kind and message.
///
/// `lightning::io::Error` is bitcoin-io's error, whose `From<std::io::Error>` only exists when
/// bitcoin-io's `std` feature happens to be enabled by some other dependency, so the conversion
/// is spelled out here to work either way.
fn to_ldk(e: io::Error) -> LdkIoError {
	use io::ErrorKind as K;
	use LdkIoErrorKind as L;
	let kind = match e.kind() {
		K::NotFound => L::NotFound,
		K::PermissionDenied => L::PermissionDenied,
		K::ConnectionRefused => L::ConnectionRefused,
		K::ConnectionReset => L::ConnectionReset,
		K::ConnectionAborted => L::ConnectionAborted,
		K::NotConnected => L::NotConnected,
		K::AddrInUse => L::AddrInUse,
		K::AddrNotAvailable => L::AddrNotAvailable,
		K::BrokenPipe => L::BrokenPipe,
		K::AlreadyExists => L::AlreadyExists,
		K::WouldBlock => L::WouldBlock,
		K::InvalidInput => L::InvalidInput,
		K::InvalidData => L::InvalidData,
		K::TimedOut => L::TimedOut,
		K::WriteZero => L::WriteZero,
		K::Interrupted => L::Interrupted,
		K::UnexpectedEof => L::UnexpectedEof,
		_ => L::Other,
	};
	LdkIoError::new(kind, e.to_string())
}

fn io_err(e: sled::Error) -> io::Error {
	io::Error::from(e)
}

fn owned(p: &str, s: &str, k: &str) -> (String, String, String) {
	(p.to_owned(), s.to_owned(), k.to_owned())
}

fn utf8(bytes: &[u8]) -> io::Result<String> {
	String::from_utf8(bytes.to_vec()).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn namespace_prefix(primary_namespace: &str, secondary_namespace: &str) -> Vec<u8> {
	let mut prefix = Vec::with_capacity(primary_namespace.len() + secondary_namespace.len() + 2);
	prefix.extend_from_slice(primary_namespace.as_bytes());
	prefix.push(SEP);
	prefix.extend_from_slice(secondary_namespace.as_bytes());
	prefix.push(SEP);
	prefix
}

fn composite_key(primary_namespace: &str, secondary_namespace: &str, key: &str) -> Vec<u8> {
	let mut composite = namespace_prefix(primary_namespace, secondary_namespace);
	composite.extend_from_slice(key.as_bytes());
	composite
}

/// Enforces LDK's naming rules. Besides catching bugs, this is what makes the composite key
/// unambiguous: names that could contain the separator never reach sled.
fn check_names(
	op: &str, primary_namespace: &str, secondary_namespace: &str, key: Option<&str>,
) -> io::Result<()> {
	check_name(op, "primary namespace", primary_namespace)?;
	check_name(op, "secondary namespace", secondary_namespace)?;
	if primary_namespace.is_empty() && !secondary_namespace.is_empty() {
		return Err(invalid(format!(
			"cannot {op}: secondary namespace {secondary_namespace:?} requires a non-empty primary namespace"
		)));
	}
	if let Some(key) = key {
		if key.is_empty() {
			return Err(invalid(format!(
				"cannot {op} in {primary_namespace:?}/{secondary_namespace:?}: key must not be empty"
			)));
		}
		check_name(op, "key", key)?;
	}
	Ok(())
}

fn check_name(op: &str, what: &str, name: &str) -> io::Result<()> {
	if name.len() > KVSTORE_NAMESPACE_KEY_MAX_LEN {
		return Err(invalid(format!(
			"cannot {op}: {what} is {} bytes long, the limit is {KVSTORE_NAMESPACE_KEY_MAX_LEN}",
			name.len()
		)));
	}
	if let Some(c) = name.chars().find(|c| !KVSTORE_NAMESPACE_KEY_ALPHABET.contains(*c)) {
		return Err(invalid(format!(
			"cannot {op}: {what} {name:?} contains invalid character {c:?}"
		)));
	}
	Ok(())
}

fn invalid(msg: String) -> io::Error {
	io::Error::new(io::ErrorKind::InvalidInput, msg)
}

#[cfg(test)]
pub(crate) mod failing;
#[cfg(test)]
mod tests;
