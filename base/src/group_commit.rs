//! Group commit: one flusher thread turns many concurrent durability requests into one fsync
//! (sled) or one transaction (PostgreSQL). The node's LDK stores and the tower's appointment
//! store all make their writes durable through it (see [`crate::store`]).
//!
//! A writer first applies its change (to sled's memory, or to the PostgreSQL store's queue of
//! pending changes), then registers as a waiter here. The flusher thread takes *everyone* who
//! registered while the previous flush was running, runs a single flush (which makes durable
//! everything applied before it started), and wakes the whole batch with the shared result. Because a waiter is only
//! ever put into a batch that is taken after it registered, and registration happens after the
//! change was applied, every acknowledged change was covered by a flush that started after it.
//!
//! By default there is no timer: the batch is whoever arrived during the previous flush, so an
//! idle store flushes immediately (lowest latency) and a busy one batches naturally. A store
//! whose every flush is expensive next to the writes it covers (the tower's: sled seals and
//! writes a log buffer and fsyncs, a few appointments each) can set a *pace*
//! ([`GroupCommit::start_paced`]): a flush starts no sooner than that after the previous one
//! started. An idle store still flushes at once; a busy one gathers a pace's worth of writers
//! into each flush, and none of them waits longer than one pace plus one flush more.

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// The outcome of one flush, shared by every waiter of its batch.
///
/// `io::Error` is not `Clone`, so the error is kept as kind + message and rebuilt per waiter.
#[derive(Clone, Debug)]
struct FlushOutcome(Result<(), (io::ErrorKind, String)>);

impl FlushOutcome {
	fn into_io(self) -> io::Result<()> {
		self.0.map_err(|(kind, msg)| io::Error::new(kind, msg))
	}
}

/// How a waiter wants to be woken: sync callers block on a std channel, async callers await a
/// oneshot so no runtime worker thread is ever parked on an fsync.
enum Waiter {
	Blocking(mpsc::SyncSender<FlushOutcome>),
	Async(oneshot::Sender<FlushOutcome>),
}

impl Waiter {
	fn wake(self, outcome: FlushOutcome) {
		// A send only fails when the receiver is gone, i.e. nobody is interested any more (e.g.
		// an async caller dropped its future); the data is durable regardless.
		match self {
			Waiter::Blocking(tx) => {
				let _ = tx.send(outcome);
			}
			Waiter::Async(tx) => {
				let _ = tx.send(outcome);
			}
		}
	}
}

#[derive(Default)]
struct State {
	/// Waiters that arrived since the flusher last took a batch.
	waiters: Vec<Waiter>,
	/// Set when the owning store is dropped: the flusher does one last flush and exits.
	shutdown: bool,
	/// True while the flusher is parked on the condvar; lets writers skip the wake-up syscall
	/// when the flusher is busy flushing and will look at `waiters` anyway.
	flusher_idle: bool,
	/// Set when the flusher thread is gone (normal exit or panic), so that late registrations
	/// fail instead of waiting forever.
	flusher_gone: bool,
}

struct Shared {
	state: Mutex<State>,
	wake_flusher: Condvar,
	flushes: AtomicU64,
}

impl Shared {
	fn lock(&self) -> MutexGuard<'_, State> {
		// The state stays consistent even if a holder panicked: every critical section is a
		// handful of field updates with no panicking calls in between.
		self.state.lock().unwrap_or_else(|e| e.into_inner())
	}
}

/// Handle to the flusher thread. Dropping it stops the thread after a final flush and joins it,
/// so no thread (and no handle on the sled database) outlives the store.
pub struct GroupCommit {
	shared: Arc<Shared>,
	thread: Option<JoinHandle<()>>,
}

impl GroupCommit {
	/// Starts the flusher thread for `db`, named `thread_name` so that it is recognisable in
	/// `top -H`, debuggers and panics.
	pub fn start(db: sled::Db, thread_name: &str) -> io::Result<Self> {
		GroupCommit::start_paced(db, thread_name, Duration::ZERO)
	}

	/// As [`GroupCommit::start`], with flushes started at least `pace` apart (see the module
	/// documentation).
	pub fn start_paced(db: sled::Db, thread_name: &str, pace: Duration) -> io::Result<Self> {
		GroupCommit::start_with_pace(thread_name, pace, move || {
			db.flush().map(drop).map_err(|e| {
				let e = io::Error::from(e);
				io::Error::new(e.kind(), format!("sled flush failed: {e}"))
			})
		})
	}

	/// Starts a flusher thread named `thread_name` whose flush is `flush`: it must make durable
	/// every change applied before it was called, and is called once more after the owner
	/// dropped this handle (the final flush).
	pub fn start_with<F>(thread_name: &str, flush: F) -> io::Result<Self>
	where
		F: FnMut() -> io::Result<()> + Send + 'static,
	{
		GroupCommit::start_with_pace(thread_name, Duration::ZERO, flush)
	}

	/// As [`GroupCommit::start_with`], with flushes started at least `pace` apart.
	pub fn start_with_pace<F>(thread_name: &str, pace: Duration, flush: F) -> io::Result<Self>
	where
		F: FnMut() -> io::Result<()> + Send + 'static,
	{
		let shared = Arc::new(Shared {
			state: Mutex::new(State::default()),
			wake_flusher: Condvar::new(),
			flushes: AtomicU64::new(0),
		});
		let thread_shared = Arc::clone(&shared);
		let thread = std::thread::Builder::new()
			.name(thread_name.to_owned())
			.spawn(move || run_flusher(&thread_shared, pace, flush))?;
		Ok(GroupCommit { shared, thread: Some(thread) })
	}

	/// Number of completed `flush()` calls (successful or not).
	pub fn flushes(&self) -> u64 {
		self.shared.flushes.load(Ordering::Relaxed)
	}

	/// Blocks the calling thread until a flush that started after this call has completed.
	pub fn wait_blocking(&self) -> io::Result<()> {
		let (tx, rx) = mpsc::sync_channel(1);
		self.register(Waiter::Blocking(tx))?;
		match rx.recv() {
			Ok(outcome) => outcome.into_io(),
			Err(_) => Err(flusher_gone_error()),
		}
	}

	/// Registers for the next flush *now* and returns a future resolving when it completed.
	///
	/// Registration happens before returning so the caller's change is already queued for
	/// durability even if the future is polled late (or never). The future owns nothing but a
	/// oneshot receiver, so it is `Send + 'static` and independent of the store's lifetime.
	pub fn wait_async(&self) -> impl Future<Output = io::Result<()>> + Send + 'static {
		let (tx, rx) = oneshot::channel();
		let registered = self.register(Waiter::Async(tx));
		async move {
			registered?;
			match rx.await {
				Ok(outcome) => outcome.into_io(),
				Err(_) => Err(flusher_gone_error()),
			}
		}
	}

	fn register(&self, waiter: Waiter) -> io::Result<()> {
		let mut state = self.shared.lock();
		if state.flusher_gone || state.shutdown {
			return Err(flusher_gone_error());
		}
		state.waiters.push(waiter);
		if state.flusher_idle {
			state.flusher_idle = false;
			self.shared.wake_flusher.notify_one();
		}
		Ok(())
	}
}

impl Drop for GroupCommit {
	fn drop(&mut self) {
		{
			let mut state = self.shared.lock();
			state.shutdown = true;
			self.shared.wake_flusher.notify_one();
		}
		if let Some(thread) = self.thread.take() {
			// A panicked flusher already failed its waiters (see `FlusherGone`); nothing is
			// left to clean up, so the join error carries no actionable information.
			let _ = thread.join();
		}
	}
}

fn flusher_gone_error() -> io::Error {
	io::Error::other("the store's flusher thread is not running")
}

/// Marks the flusher as gone when the thread ends for any reason, including a panic, and fails
/// whoever is still queued: otherwise they would wait for a flush that never comes.
struct FlusherGone<'a>(&'a Shared);

impl Drop for FlusherGone<'_> {
	fn drop(&mut self) {
		let waiters = {
			let mut state = self.0.lock();
			state.flusher_gone = true;
			std::mem::take(&mut state.waiters)
		};
		let outcome = FlushOutcome(Err((io::ErrorKind::Other, flusher_gone_error().to_string())));
		for waiter in waiters {
			waiter.wake(outcome.clone());
		}
	}
}

fn run_flusher(shared: &Shared, pace: Duration, mut flush: impl FnMut() -> io::Result<()>) {
	let _gone = FlusherGone(shared);
	// Swapped with `State::waiters` each round so neither vector reallocates in steady state.
	let mut batch: Vec<Waiter> = Vec::new();
	let mut last_start: Option<Instant> = None;
	loop {
		let mut state = shared.lock();
		while state.waiters.is_empty() && !state.shutdown {
			state.flusher_idle = true;
			state = shared.wake_flusher.wait(state).unwrap_or_else(|e| e.into_inner());
		}
		state.flusher_idle = false;
		// Someone waits: with a pace, let the others who are about to write join them. The
		// lock is let go meanwhile (writers register), and `flusher_idle` stays false, so
		// nobody makes a wake-up call for a flusher that is already coming.
		let early = last_start.map_or(Duration::ZERO, |start| pace.saturating_sub(start.elapsed()));
		if !early.is_zero() && !state.shutdown {
			drop(state);
			std::thread::sleep(early);
			state = shared.lock();
		}
		std::mem::swap(&mut state.waiters, &mut batch);
		let shutting_down = state.shutdown;
		drop(state);

		// The lock is released here: writers arriving during the flush form the next batch.
		last_start = Some(Instant::now());
		let outcome = FlushOutcome(flush().map_err(|e| (e.kind(), e.to_string())));
		shared.flushes.fetch_add(1, Ordering::Relaxed);
		for waiter in batch.drain(..) {
			waiter.wake(outcome.clone());
		}

		// Once `shutdown` is seen no store handle exists any more, so nobody can register after
		// this batch was taken; the flush above was the final one.
		if shutting_down {
			return;
		}
	}
}

#[cfg(test)]
mod tests;
