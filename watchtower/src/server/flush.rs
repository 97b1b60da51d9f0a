//! Group commit: one flusher thread turns the durability waits of many concurrent requests
//! into one sled flush.
//!
//! A request applies its change to sled (in memory), then registers here and awaits. The
//! flusher takes everyone registered while the previous flush ran, flushes once and wakes
//! them all. A waiter only joins a batch taken after it registered, and it registered after
//! its change was applied, so every acknowledged change is covered by a flush that started
//! after it. No timer: an idle tower flushes at once, a busy one batches by itself.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

/// The result of one flush, shared by its batch (`io::Error` is not `Clone`).
type Outcome = Result<(), String>;

#[derive(Default)]
struct State {
	waiters: Vec<oneshot::Sender<Outcome>>,
	stop: bool,
	gone: bool,
}

struct Shared {
	state: Mutex<State>,
	wake: Condvar,
	flushes: AtomicU64,
}

impl Shared {
	fn lock(&self) -> MutexGuard<'_, State> {
		// Every critical section is a few field updates that cannot leave the state half-done.
		self.state.lock().unwrap_or_else(|e| e.into_inner())
	}
}

/// The flusher thread. Dropping it does a last flush and joins the thread.
pub(crate) struct GroupCommit {
	shared: Arc<Shared>,
	thread: Option<JoinHandle<()>>,
}

impl GroupCommit {
	/// Starts the flusher thread for `db`.
	pub(crate) fn start(db: sled::Db) -> io::Result<Self> {
		let shared = Arc::new(Shared {
			state: Mutex::new(State::default()),
			wake: Condvar::new(),
			flushes: AtomicU64::new(0),
		});
		let thread_shared = Arc::clone(&shared);
		let thread = std::thread::Builder::new()
			.name("tower-flush".into())
			.spawn(move || run(&thread_shared, &db))?;
		Ok(GroupCommit { shared, thread: Some(thread) })
	}

	/// Flushes done so far.
	pub(crate) fn flushes(&self) -> u64 {
		self.shared.flushes.load(Ordering::Relaxed)
	}

	/// Registers now for the next flush; the future resolves once it is on disk.
	pub(crate) fn wait(
		&self,
	) -> impl std::future::Future<Output = io::Result<()>> + Send + 'static {
		let (tx, rx) = oneshot::channel();
		let registered = {
			let mut state = self.shared.lock();
			if state.gone || state.stop {
				Err(gone())
			} else {
				state.waiters.push(tx);
				self.shared.wake.notify_one();
				Ok(())
			}
		};
		async move {
			registered?;
			match rx.await {
				Ok(outcome) => outcome.map_err(io::Error::other),
				Err(_) => Err(gone()),
			}
		}
	}
}

impl Drop for GroupCommit {
	fn drop(&mut self) {
		{
			let mut state = self.shared.lock();
			state.stop = true;
			self.shared.wake.notify_one();
		}
		if let Some(thread) = self.thread.take() {
			// A panicked flusher has already failed its waiters (see `Gone`).
			let _ = thread.join();
		}
	}
}

fn gone() -> io::Error {
	io::Error::other("the tower's flusher thread is not running")
}

/// Fails whoever still waits when the thread ends, even by a panic.
struct Gone<'a>(&'a Shared);

impl Drop for Gone<'_> {
	fn drop(&mut self) {
		let waiters = {
			let mut state = self.0.lock();
			state.gone = true;
			std::mem::take(&mut state.waiters)
		};
		for waiter in waiters {
			let _ = waiter.send(Err(gone().to_string()));
		}
	}
}

fn run(shared: &Shared, db: &sled::Db) {
	let _gone = Gone(shared);
	let mut batch = Vec::new();
	loop {
		let stop = {
			let mut state = shared.lock();
			while state.waiters.is_empty() && !state.stop {
				state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
			}
			std::mem::swap(&mut state.waiters, &mut batch);
			state.stop
		};
		let outcome: Outcome = db.flush().map(drop).map_err(|e| format!("sled flush failed: {e}"));
		shared.flushes.fetch_add(1, Ordering::Relaxed);
		for waiter in batch.drain(..) {
			// A dropped receiver is a client that went away; the data is durable anyway.
			let _ = waiter.send(outcome.clone());
		}
		if stop {
			return;
		}
	}
}
