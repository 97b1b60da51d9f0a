//! The node's store on PostgreSQL, with the storage contract of the sled store unchanged.
//!
//! Every key lives in one table, `fulgur_kv (primary_namespace, secondary_namespace, key) →
//! value`, next to `fulgur_schema` (one row: the schema version), both created or checked at
//! start. A write or non-lazy remove is acknowledged only once a transaction holding it has
//! committed (with the server's `synchronous_commit`, on by default: durably). Changes are
//! applied to [`pending::Pending`] when the store is called, so writes to one key land in
//! issue order, and committed through the group commit of [`fulgur_base::group_commit`]:
//! everything pending when the flusher starts a batch goes into one transaction.
//!
//! No caller ever runs a database future: a flusher thread and a reader thread each own a
//! connection and a single-threaded runtime, and callers wait on channels (see [`db`]). So the
//! sync trait is as safe to call from inside the node's runtime as the sled store's is (it
//! blocks the calling thread until the answer, and never needs that thread to make progress).
//! A connection lost is opened again and the request retried until it works: the node pauses
//! while the database is away, and loses nothing.
//!
//!
//! Only the holder of the leader lease writes (see [`lease`]): opening takes it (or fails,
//! naming who holds it), every commit checks it in the same statement, and once it is lost
//! the store's fence is raised and every write is refused, never acknowledged.
//!
//! No TLS for now: reach the server over a unix socket or a trusted network.
#![deny(missing_docs)]

mod db;
mod lease;
mod pending;

pub use lease::{lease_held, LeaseHeld};

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use lightning::io::Error as LdkIoError;
use lightning::util::async_poll::AsyncResult;
use lightning::util::persist::{KVStore, KVStoreSync, MigratableKVStore};
use tokio::sync::oneshot;

use fulgur_base::group_commit::GroupCommit;

use self::db::{Connection, Target};
use self::lease::{Lease, LeaseTiming};
use self::pending::{Change, FullKey, Overlay, Pending};
use super::{check_names, durable, ready, to_ldk, StoreStats};
use crate::fence::Fence;

/// Thread names, recognisable in `top -H`, debuggers and panics.
const FLUSHER_THREAD_NAME: &str = "fulgur-pg-commit";
const READER_THREAD_NAME: &str = "fulgur-pg-read";

/// How a caller wants its answer: sync callers block on a std channel, async ones await a
/// oneshot (which also works outside any runtime).
enum Reply<T> {
	Blocking(mpsc::SyncSender<io::Result<T>>),
	Async(oneshot::Sender<io::Result<T>>),
}

impl<T> Reply<T> {
	fn send(self, result: io::Result<T>) {
		// Fails only when the caller stopped waiting (dropped its future): nothing to do.
		match self {
			Reply::Blocking(tx) => drop(tx.send(result)),
			Reply::Async(tx) => drop(tx.send(result)),
		}
	}
}

/// What the reader thread answers.
enum ReadRequest {
	Read(FullKey, Reply<Vec<u8>>),
	List(String, String, Reply<Vec<String>>),
	ListAll(Reply<Vec<FullKey>>),
	ReadNamespace(String, String, Reply<Vec<(String, Vec<u8>)>>),
}

/// A durable LDK key-value store on PostgreSQL, with group commit.
///
/// Cloning is cheap; every clone shares the connections and threads. When the last clone is
/// dropped, the flusher commits what is still pending (one attempt) and both threads end.
#[derive(Clone)]
pub struct PostgresStore {
	inner: Arc<Inner>,
}

struct Inner {
	pending: Arc<Pending>,
	target: Arc<Target>,
	reader: Option<mpsc::Sender<ReadRequest>>,
	reader_thread: Option<JoinHandle<()>>,
	// Dropped after `Drop for Inner` ran: its final flush sees `closing` and does not retry.
	commit: GroupCommit,
	// Dropped after the final flush: the lease ends once nothing more will be written.
	_lease: Lease,
	writes: AtomicU64,
	removes: AtomicU64,
	bytes_written: AtomicU64,
}

impl Drop for Inner {
	fn drop(&mut self) {
		self.target.closing.store(true, Ordering::Relaxed);
		// The reader ends when its channel closes.
		drop(self.reader.take());
		if let Some(thread) = self.reader_thread.take() {
			// A panicked reader already dropped its callers' replies (they saw an error).
			let _ = thread.join();
		}
	}
}

impl PostgresStore {
	/// Connects to the database at `url` (`postgres://user[:password]@host[:port]/db`, or any
	/// form `tokio-postgres` reads), creating or checking the schema, and takes the leader
	/// lease with the default timing. Blocks until its connections are open; a database that
	/// cannot be reached now is an error, and so is a lease another process holds
	/// ([`lease_held`] tells).
	pub fn open(url: &str) -> io::Result<PostgresStore> {
		PostgresStore::open_leader(url, LeaseTiming::default(), Fence::new())
	}

	/// [`PostgresStore::open`] with this lease timing, raising `fence` when the lease is lost.
	pub fn open_leader(url: &str, timing: LeaseTiming, fence: Fence) -> io::Result<PostgresStore> {
		timing.check().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
		let target = Arc::new(Target::new(url, timing, fence)?);
		// First the lease (its connection creates the schema): nothing else opens without it.
		let lease = lease::take(Arc::clone(&target))?;
		let pending = Arc::new(Pending::default());

		// The writer's connection (which also creates the schema) first, then the reader's:
		// each on the thread that will own its runtime.
		let (runtime, mut writer) = open_on_own_runtime(Arc::clone(&target))?;
		let flusher_pending = Arc::clone(&pending);
		let commit = GroupCommit::start_with(FLUSHER_THREAD_NAME, move || {
			let batch = flusher_pending.take_batch();
			if batch.is_empty() {
				return Ok(());
			}
			let result = runtime.block_on(writer.commit(&batch));
			// Committed, or failed for good (its writers get the error): either way the next
			// batch may be taken, and reads go to the database again.
			flusher_pending.settle_batch();
			result
		})?;

		let (reader, requests) = mpsc::channel();
		let (ready_tx, ready_rx) = mpsc::sync_channel(1);
		let reader_target = Arc::clone(&target);
		let reader_thread = std::thread::Builder::new()
			.name(READER_THREAD_NAME.to_owned())
			.spawn(move || run_reader(reader_target, requests, ready_tx))?;
		let ready = ready_rx.recv().unwrap_or_else(|_| {
			Err(io::Error::other("the PostgreSQL store's reader thread ended at start"))
		});
		let store = PostgresStore {
			inner: Arc::new(Inner {
				pending,
				target,
				reader: Some(reader),
				reader_thread: Some(reader_thread),
				commit,
				_lease: lease,
				writes: AtomicU64::new(0),
				removes: AtomicU64::new(0),
				bytes_written: AtomicU64::new(0),
			}),
		};
		ready?;
		Ok(store)
	}

	/// Counters since open; `flushes` counts the group commit's batches.
	pub fn stats(&self) -> StoreStats {
		let inner = &self.inner;
		StoreStats {
			writes: inner.writes.load(Ordering::Relaxed),
			removes: inner.removes.load(Ordering::Relaxed),
			flushes: inner.commit.flushes(),
			bytes_written: inner.bytes_written.load(Ordering::Relaxed),
		}
	}

	/// Where the store is connected, as `user@host:port/db` (no password).
	pub fn target(&self) -> &str {
		&self.inner.target.name
	}

	/// Our id in the lease row.
	pub fn lease_holder(&self) -> &str {
		&self.inner.target.holder
	}

	/// Raised when the lease is lost: from then on every write is refused.
	pub fn fence(&self) -> &Fence {
		&self.inner.target.fence
	}

	/// Resolves once every change applied before this *call* has committed.
	pub fn wait_durable_async(&self) -> impl Future<Output = io::Result<()>> + Send + 'static {
		self.inner.commit.wait_async()
	}

	fn apply(&self, op: &str, p: &str, s: &str, k: &str, change: Change) -> io::Result<()> {
		check_names(op, p, s, Some(k))?;
		if self.inner.target.fence.is_raised() {
			return Err(self.inner.target.fenced_error());
		}
		match &change {
			Some(value) => {
				self.inner.writes.fetch_add(1, Ordering::Relaxed);
				self.inner.bytes_written.fetch_add(value.len() as u64, Ordering::Relaxed);
			}
			None => {
				self.inner.removes.fetch_add(1, Ordering::Relaxed);
			}
		}
		self.inner.pending.apply(full_key(p, s, k), change);
		Ok(())
	}

	/// [`PostgresStore::apply`] for several writes at once, into one batch; checks every name
	/// first, so a bad one applies nothing.
	fn apply_all(&self, writes: Vec<super::KeyWrite>) -> io::Result<()> {
		for (p, s, k, _) in &writes {
			check_names("write", p, s, Some(k))?;
		}
		if self.inner.target.fence.is_raised() {
			return Err(self.inner.target.fenced_error());
		}
		let mut changes = Vec::with_capacity(writes.len());
		for (p, s, k, value) in writes {
			self.inner.writes.fetch_add(1, Ordering::Relaxed);
			self.inner.bytes_written.fetch_add(value.len() as u64, Ordering::Relaxed);
			changes.push(((p, s, k), Some(Arc::from(value))));
		}
		self.inner.pending.apply_all(changes);
		Ok(())
	}

	fn send(&self, request: ReadRequest) {
		// The reader only ends once the store is dropped, and the request (with its reply) is
		// handed back when sending fails: the reply's sender dropping tells the caller.
		if let Some(reader) = &self.inner.reader {
			drop(reader.send(request));
		}
	}

	fn ask_blocking<T>(&self, request: impl FnOnce(Reply<T>) -> ReadRequest) -> io::Result<T> {
		let (tx, rx) = mpsc::sync_channel(1);
		self.send(request(Reply::Blocking(tx)));
		rx.recv().unwrap_or_else(|_| Err(reader_gone()))
	}

	fn ask_async<T: Send + 'static>(
		&self, request: impl FnOnce(Reply<T>) -> ReadRequest,
	) -> impl Future<Output = io::Result<T>> + Send + 'static {
		let (tx, rx) = oneshot::channel();
		self.send(request(Reply::Async(tx)));
		async move { rx.await.unwrap_or_else(|_| Err(reader_gone())) }
	}

	/// A key's value from the overlay of pending changes, or the request for the database.
	fn read_start(&self, p: &str, s: &str, k: &str) -> io::Result<Result<Vec<u8>, FullKey>> {
		check_names("read", p, s, Some(k))?;
		let key = full_key(p, s, k);
		match self.inner.pending.look_up(&key) {
			Overlay::Changed(Some(value)) => Ok(Ok(value.to_vec())),
			Overlay::Changed(None) => Err(not_found(&key)),
			Overlay::Unchanged => Ok(Err(key)),
		}
	}
}

/// The database's keys of a namespace with the pending changes (snapshot taken before the
/// database was asked) laid over them.
fn merge_keys(
	stored: Vec<String>, overlay: &std::collections::HashMap<FullKey, bool>,
) -> Vec<String> {
	let mut keys: std::collections::BTreeSet<String> = stored.into_iter().collect();
	for ((_, _, key), present) in overlay {
		if *present {
			keys.insert(key.clone());
		} else {
			keys.remove(key);
		}
	}
	keys.into_iter().collect()
}

fn merge_all(
	stored: Vec<FullKey>, overlay: std::collections::HashMap<FullKey, bool>,
) -> Vec<FullKey> {
	let mut keys: std::collections::BTreeSet<FullKey> = stored.into_iter().collect();
	for (key, present) in overlay {
		if present {
			keys.insert(key);
		} else {
			keys.remove(&key);
		}
	}
	keys.into_iter().collect()
}

fn full_key(p: &str, s: &str, k: &str) -> FullKey {
	(p.to_owned(), s.to_owned(), k.to_owned())
}

fn not_found(key: &FullKey) -> io::Error {
	// LDK tells "nothing stored yet" apart from real failures by this exact kind.
	io::Error::new(io::ErrorKind::NotFound, format!("no value for {}/{}/{}", key.0, key.1, key.2))
}

fn reader_gone() -> io::Error {
	io::Error::other("the PostgreSQL store's reader thread is not running")
}

/// Opens a connection on a new runtime, in a thread of its own (the caller may be inside a
/// runtime, where nothing may block on a future); both are handed to the flusher.
fn open_on_own_runtime(target: Arc<Target>) -> io::Result<(tokio::runtime::Runtime, Connection)> {
	std::thread::Builder::new()
		.name(FLUSHER_THREAD_NAME.to_owned())
		.spawn(move || {
			let runtime = db::runtime()?;
			let connection = runtime.block_on(Connection::open(target))?;
			Ok((runtime, connection))
		})?
		.join()
		.unwrap_or_else(|_| Err(io::Error::other("connecting to PostgreSQL panicked")))
}

fn run_reader(
	target: Arc<Target>, requests: mpsc::Receiver<ReadRequest>,
	ready: mpsc::SyncSender<io::Result<()>>,
) {
	let opened = db::runtime().and_then(|runtime| {
		let connection = runtime.block_on(Connection::open(target))?;
		Ok((runtime, connection))
	});
	let (runtime, mut connection) = match opened {
		Ok(opened) => {
			drop(ready.send(Ok(())));
			opened
		}
		Err(e) => {
			drop(ready.send(Err(e)));
			return;
		}
	};
	for request in requests {
		match request {
			ReadRequest::Read(key, reply) => {
				let result = runtime.block_on(connection.read(&key));
				reply.send(result.and_then(|value| value.ok_or_else(|| not_found(&key))));
			}
			ReadRequest::List(p, s, reply) => reply.send(runtime.block_on(connection.list(&p, &s))),
			ReadRequest::ListAll(reply) => reply.send(runtime.block_on(connection.list_all())),
			ReadRequest::ReadNamespace(p, s, reply) => {
				reply.send(runtime.block_on(connection.read_namespace(&p, &s)))
			}
		}
	}
}

impl KVStoreSync for PostgresStore {
	fn read(&self, p: &str, s: &str, k: &str) -> Result<Vec<u8>, LdkIoError> {
		match self.read_start(p, s, k).map_err(to_ldk)? {
			Ok(value) => Ok(value),
			Err(key) => self.ask_blocking(|reply| ReadRequest::Read(key, reply)).map_err(to_ldk),
		}
	}

	fn write(&self, p: &str, s: &str, k: &str, buf: Vec<u8>) -> Result<(), LdkIoError> {
		self.apply("write", p, s, k, Some(Arc::from(buf))).map_err(to_ldk)?;
		self.inner.commit.wait_blocking().map_err(to_ldk)
	}

	fn remove(&self, p: &str, s: &str, k: &str, lazy: bool) -> Result<(), LdkIoError> {
		self.apply("remove", p, s, k, None).map_err(to_ldk)?;
		if lazy {
			// LDK only asks for lazy removes it can replay: the next batch commits it.
			return Ok(());
		}
		self.inner.commit.wait_blocking().map_err(to_ldk)
	}

	fn list(&self, p: &str, s: &str) -> Result<Vec<String>, LdkIoError> {
		check_names("list", p, s, None).map_err(to_ldk)?;
		let overlay = self.inner.pending.namespace(Some((p, s)));
		let (p, s) = (p.to_owned(), s.to_owned());
		let stored = self.ask_blocking(|reply| ReadRequest::List(p, s, reply)).map_err(to_ldk)?;
		Ok(merge_keys(stored, &overlay))
	}
}

impl KVStore for PostgresStore {
	fn read(&self, p: &str, s: &str, k: &str) -> AsyncResult<'static, Vec<u8>, LdkIoError> {
		match self.read_start(p, s, k) {
			Err(e) => ready(Err(e)),
			Ok(Ok(value)) => ready(Ok(value)),
			Ok(Err(key)) => {
				let answer = self.ask_async(|reply| ReadRequest::Read(key, reply));
				Box::pin(async move { answer.await.map_err(to_ldk) })
			}
		}
	}

	fn write(
		&self, p: &str, s: &str, k: &str, buf: Vec<u8>,
	) -> AsyncResult<'static, (), LdkIoError> {
		// Applied before the future exists: this is what orders writes to one key.
		if let Err(e) = self.apply("write", p, s, k, Some(Arc::from(buf))) {
			return ready(Err(e));
		}
		durable(self.inner.commit.wait_async())
	}

	fn remove(
		&self, p: &str, s: &str, k: &str, lazy: bool,
	) -> AsyncResult<'static, (), LdkIoError> {
		if let Err(e) = self.apply("remove", p, s, k, None) {
			return ready(Err(e));
		}
		if lazy {
			return ready(Ok(()));
		}
		durable(self.inner.commit.wait_async())
	}

	fn list(&self, p: &str, s: &str) -> AsyncResult<'static, Vec<String>, LdkIoError> {
		if let Err(e) = check_names("list", p, s, None) {
			return ready(Err(e));
		}
		let overlay = self.inner.pending.namespace(Some((p, s)));
		let (p, s) = (p.to_owned(), s.to_owned());
		let answer = self.ask_async(|reply| ReadRequest::List(p, s, reply));
		Box::pin(async move { Ok(merge_keys(answer.await.map_err(to_ldk)?, &overlay)) })
	}
}

impl MigratableKVStore for PostgresStore {
	fn list_all_keys(&self) -> Result<Vec<(String, String, String)>, LdkIoError> {
		let overlay = self.inner.pending.namespace(None);
		let stored = self.ask_blocking(ReadRequest::ListAll).map_err(to_ldk)?;
		Ok(merge_all(stored, overlay))
	}
}

impl super::NodeStore for PostgresStore {
	fn stats(&self) -> StoreStats {
		PostgresStore::stats(self)
	}

	/// One query, with the pending changes (snapshot taken before the database was asked)
	/// laid over its answer.
	fn read_namespace(&self, p: &str, s: &str) -> Result<Vec<(String, Vec<u8>)>, LdkIoError> {
		check_names("read", p, s, None).map_err(to_ldk)?;
		let overlay = self.inner.pending.namespace(Some((p, s)));
		let (ps, ss) = (p.to_owned(), s.to_owned());
		let stored =
			self.ask_blocking(|reply| ReadRequest::ReadNamespace(ps, ss, reply)).map_err(to_ldk)?;
		let mut found: std::collections::BTreeMap<String, Vec<u8>> = stored.into_iter().collect();
		// Each key changed since the snapshot is taken as it is now.
		for key in overlay.into_keys() {
			let now = match self.inner.pending.look_up(&key) {
				Overlay::Changed(value) => value.map(|v| v.to_vec()),
				// Committed meanwhile, perhaps after the database answered: asked again.
				Overlay::Unchanged => match KVStoreSync::read(self, p, s, &key.2) {
					Ok(value) => Some(value),
					Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => None,
					Err(e) => return Err(e),
				},
			};
			match now {
				Some(value) => found.insert(key.2, value),
				None => found.remove(&key.2),
			};
		}
		Ok(found.into_iter().collect())
	}

	/// All in one batch, so one transaction: the manager barrier's manager and monitors
	/// commit together or not at all.
	fn write_all(&self, writes: Vec<super::KeyWrite>) -> AsyncResult<'static, (), LdkIoError> {
		match self.apply_all(writes) {
			Ok(()) => durable(self.inner.commit.wait_async()),
			Err(e) => ready(Err(e)),
		}
	}
}

#[cfg(test)]
mod tests;
