//! Keeps the channel manager on disk never behind the channel monitors.
//!
//! LDK force-closes, on start-up, every channel whose monitor on disk is ahead of the channel
//! manager on disk ("A ChannelManager is stale compared to the current ChannelMonitor"). The
//! background processor writes the manager lazily, so a crash between a monitor write and the
//! next manager write would cost channels. Here every monitor write waits in a queue; one task
//! takes everything queued, serialises the manager once (after those updates were generated),
//! and hands the store the manager (its changed chunks and manifest, [`super::manager_chunks`])
//! then the monitor updates as one [`crate::store::NodeStore::write_all`], reporting them
//! durable together. Every store applies them in that order and makes a prefix durable, so on
//! disk the manager is always at least as new as any monitor; PostgreSQL commits the whole
//! batch in one transaction.
//!
//! Serialising the manager costs time in proportion to the number of channels (about 3.5 KB of
//! output per channel). Under load the queue never empties, so without a pause the task would
//! serialise it back to back and, with thousands of channels, spend the node's CPU and disk on
//! little else. After each batch the task therefore waits [`PACING`] times as long as the
//! serialisation took: the manager takes at most a quarter of the time, batches grow with the
//! manager, and a small node (a serialisation of a millisecond) hardly waits at all.
//!
//! The same task is the only writer of the manager: the background processor's periodic
//! manager writes are turned into requests here, so a manager serialised earlier can never
//! overwrite one serialised later.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use lightning::io;
use lightning::util::async_poll::AsyncResult;
use lightning::util::persist::KVStore;
use tokio::sync::{oneshot, Notify};

use super::manager_chunks::{self, Encoded, ManagerChunks};
use crate::store::DynStore;

/// What the barrier serialises: the channel manager (unit tests plug in a stand-in).
pub trait ManagerSource: Send + Sync + 'static {
	/// The manager's current serialisation; `capacity` is the size of the last one.
	fn serialize(&self, capacity: usize) -> Result<Vec<u8>, io::Error>;

	/// Whether the manager changed in a way a restart needs since this was last asked (LDK's
	/// persistence flag), clearing it.
	fn take_needs_persistence(&self) -> bool;
}

type Done = oneshot::Sender<Result<(), io::Error>>;

/// After a batch, the writer waits this many times the manager's serialisation time.
pub const PACING: u32 = 3;

/// After a failed batch, how long until the manager is written again (with whatever is queued
/// by then).
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// A write waiting for the next manager write.
struct QueuedWrite {
	primary: String,
	secondary: String,
	key: String,
	buf: Vec<u8>,
	done: Done,
}

#[derive(Default)]
struct Queue {
	writes: Vec<QueuedWrite>,
	/// Requests for a manager write with nothing else attached.
	manager_requests: Vec<Done>,
	/// A manager write nobody waits for: the manager's persistence flag taken by
	/// [`ManagerBarrier::take_manager_write`], or a failed batch to write again.
	manager_wanted: bool,
	closing: bool,
}

/// Orders manager writes before the monitor writes that depend on them.
pub struct ManagerBarrier {
	store: Arc<DynStore>,
	manager: OnceLock<Weak<dyn ManagerSource>>,
	/// The manager's chunks on disk; taken by the batch being written.
	chunks: Mutex<Option<ManagerChunks>>,
	queue: Mutex<Queue>,
	wake: Notify,
	/// The last batch landed (or none was written yet): the manager on disk holds every
	/// monitor update on disk that went through the barrier.
	last_landed: AtomicBool,
}

impl ManagerBarrier {
	/// A barrier writing to `store`. Until [`ManagerBarrier::set_manager`] is called (start-up),
	/// writes go straight to the store.
	pub fn new(store: Arc<DynStore>) -> ManagerBarrier {
		ManagerBarrier {
			store,
			manager: OnceLock::new(),
			chunks: Mutex::new(None),
			queue: Mutex::new(Queue::default()),
			wake: Notify::new(),
			last_landed: AtomicBool::new(true),
		}
	}

	/// The manager to serialise, and its chunks on disk as start-up read them; weak, as the
	/// manager (through its monitors) owns the barrier.
	pub fn set_manager<M: ManagerSource>(&self, manager: &Arc<M>, chunks: ManagerChunks) {
		let manager: Arc<dyn ManagerSource> = Arc::clone(manager) as Arc<dyn ManagerSource>;
		*self.chunks.lock().unwrap_or_else(|e| e.into_inner()) = Some(chunks);
		let _ = self.manager.set(Arc::downgrade(&manager));
	}

	fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
		self.queue.lock().unwrap_or_else(|e| e.into_inner())
	}

	/// Writes after the next manager write; durable when the future completes. The write is
	/// queued now, so writes keep the order they were issued in.
	pub fn write_after_manager(
		&self, primary: &str, secondary: &str, key: &str, buf: Vec<u8>,
	) -> AsyncResult<'static, (), io::Error> {
		if self.manager.get().is_none() {
			return KVStore::write(&*self.store, primary, secondary, key, buf);
		}
		let (done, result) = oneshot::channel();
		{
			let mut queue = self.queue();
			if queue.closing {
				drop(queue);
				return KVStore::write(&*self.store, primary, secondary, key, buf);
			}
			queue.writes.push(QueuedWrite {
				primary: primary.to_string(),
				secondary: secondary.to_string(),
				key: key.to_string(),
				buf,
				done,
			});
		}
		self.wake.notify_one();
		Box::pin(async move { result.await.unwrap_or_else(|_| Err(stopped())) })
	}

	/// Asks for a manager write (the background processor's periodic one).
	pub fn persist_manager(&self) -> AsyncResult<'static, (), io::Error> {
		let (done, result) = oneshot::channel();
		self.queue().manager_requests.push(done);
		self.wake.notify_one();
		Box::pin(async move { result.await.unwrap_or_else(|_| Err(stopped())) })
	}

	/// Takes the manager's persistence flag, if it is set, as a request for a manager write.
	///
	/// LDK's background processor, finding the flag set, serialises the whole manager (twice:
	/// once to measure it) while holding its consistency lock, to hand the store a copy the
	/// barrier drops (it serialises its own, once, with its next batch). At a thousand
	/// channels that was a quarter of the node's CPU. The processor's timers call this when
	/// polled, and it polls one of them right before it looks at the flag, so it finds the flag
	/// clear and leaves the write to the barrier. Taking the flag at any other moment is as
	/// right: the barrier serialises after this call, so its write holds every change that set
	/// the flag.
	pub fn take_manager_write(&self) {
		let Some(manager) = self.manager.get().and_then(Weak::upgrade) else { return };
		let mut queue = self.queue();
		// Once closing, the writer may have ended: leave the flag to LDK's own final write.
		if !queue.closing && manager.take_needs_persistence() {
			queue.manager_wanted = true;
			drop(queue);
			self.wake.notify_one();
		}
	}

	/// Whether the last batch landed. A monitor written whole after a failed batch (the
	/// checkpoint at stop) could hold updates the manager on disk does not.
	pub fn last_batch_landed(&self) -> bool {
		self.last_landed.load(Ordering::SeqCst)
	}

	/// Finishes what is queued, then ends [`ManagerBarrier::run`].
	pub fn close(&self) {
		self.queue().closing = true;
		self.wake.notify_one();
	}

	/// The writer task: one manager serialisation per batch of queued writes.
	pub async fn run(self: Arc<Self>) {
		loop {
			let (writes, requests, wanted, closing) = {
				let mut queue = self.queue();
				(
					std::mem::take(&mut queue.writes),
					std::mem::take(&mut queue.manager_requests),
					std::mem::take(&mut queue.manager_wanted),
					queue.closing,
				)
			};
			if writes.is_empty() && requests.is_empty() && !wanted {
				if closing {
					return;
				}
				self.wake.notified().await;
				continue;
			}
			let (encoding, landed) = self.write_batch(writes, requests).await;
			self.last_landed.store(landed, Ordering::SeqCst);
			if closing {
				continue;
			}
			let mut pause = encoding * PACING;
			if !landed {
				// Nobody may ask again (a flag taken is gone): write the manager again later.
				self.queue().manager_wanted = true;
				pause = pause.max(RETRY_AFTER_FAILURE);
			}
			tokio::time::sleep(pause).await;
		}
	}

	/// Writes the manager, then `writes`; returns how long serialising and cutting the manager
	/// took, and whether the batch landed.
	async fn write_batch(&self, writes: Vec<QueuedWrite>, requests: Vec<Done>) -> (Duration, bool) {
		let manager = self.manager.get().and_then(Weak::upgrade);
		let chunks = self.chunks.lock().unwrap_or_else(|e| e.into_inner()).take();
		let store = Arc::clone(&self.store);
		// Serialising takes the manager's consistency lock: keep it off the async workers.
		let started = Instant::now();
		let encoded = match manager {
			Some(manager) => tokio::task::spawn_blocking(move || {
				// Lost only if the last batch's encoding panicked: read again what is on disk.
				let mut chunks = match chunks {
					Some(chunks) => chunks,
					None => manager_chunks::load(&*store)?.chunks,
				};
				let encoded = manager.serialize(chunks.manager_len()).map(|b| chunks.encode(b));
				Ok((chunks, encoded))
			})
			.await
			.unwrap_or_else(|e| Err(io::Error::new(io::ErrorKind::Other, e.to_string()))),
			None => Err(stopped()),
		};
		let encoding = started.elapsed();
		let (mut chunks, encoded) = match encoded {
			Ok((chunks, Ok(encoded))) => (chunks, encoded),
			Ok((chunks, Err(e))) => {
				*self.chunks.lock().unwrap_or_else(|e| e.into_inner()) = Some(chunks);
				fail_all(writes, requests, &e);
				return (encoding, false);
			}
			Err(e) => {
				fail_all(writes, requests, &e);
				return (encoding, false);
			}
		};
		// The manager's new chunks and its manifest first, then the monitor writes in queue
		// order, as one `write_all`: the store applies them in that order, and PostgreSQL
		// commits them in one transaction.
		let Encoded { writes: manager_writes, next, .. } = encoded;
		let mut batch = Vec::with_capacity(manager_writes.len() + writes.len());
		batch.extend(manager_writes);
		let mut waiting = Vec::with_capacity(writes.len() + requests.len());
		for w in writes {
			batch.push((w.primary, w.secondary, w.key, w.buf));
			waiting.push(w.done);
		}
		waiting.extend(requests);
		let result = self.store.write_all(batch).await;
		for done in waiting {
			let _ = done.send(match &result {
				Ok(()) => Ok(()),
				Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
			});
		}
		let landed = result.is_ok();
		if landed {
			// Only now is nothing on disk naming the chunks the last manifest alone named.
			for (p, s, k) in chunks.committed(next) {
				let _ = KVStore::remove(&*self.store, &p, &s, &k, true).await;
			}
		} else {
			chunks.write_failed();
		}
		*self.chunks.lock().unwrap_or_else(|e| e.into_inner()) = Some(chunks);
		(encoding, landed)
	}
}

/// Without a fresh manager on disk the monitor writes must not land: all fail with `e`.
fn fail_all(writes: Vec<QueuedWrite>, requests: Vec<Done>, e: &io::Error) {
	let dones = writes.into_iter().map(|w| w.done).chain(requests);
	for done in dones {
		let _ = done.send(Err(io::Error::new(e.kind(), e.to_string())));
	}
}

fn stopped() -> io::Error {
	io::Error::new(io::ErrorKind::Other, "the node is stopping")
}

#[cfg(test)]
mod tests;
