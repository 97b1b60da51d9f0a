//! A small fixed pool of threads for the requests' blocking work (signature checks, sled).
//!
//! Not tokio's blocking pool: that one grows to hundreds of threads under load, and each
//! thread that allocates gets its own malloc arena, so the tower's memory would grow with
//! concurrency and fragmentation instead of staying flat. A pool sized to the cores also
//! spares the context switches.

use std::io;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The pool; dropping it lets the threads finish their queue and exit.
pub(crate) struct Workers {
	jobs: Mutex<Sender<Job>>,
}

impl Workers {
	/// Starts `threads` workers.
	pub(crate) fn start(threads: usize) -> io::Result<Workers> {
		let (jobs, queue) = mpsc::channel::<Job>();
		let queue = Arc::new(Mutex::new(queue));
		for n in 0..threads.max(1) {
			let queue = Arc::clone(&queue);
			std::thread::Builder::new()
				.name(format!("tower-worker-{n}"))
				.spawn(move || work(&queue))?;
		}
		Ok(Workers { jobs: Mutex::new(jobs) })
	}

	/// Runs `f` on a worker; `None` if the pool is gone or `f` panicked.
	pub(crate) async fn run<T, F>(&self, f: F) -> Option<T>
	where
		T: Send + 'static,
		F: FnOnce() -> T + Send + 'static,
	{
		let (tx, rx) = oneshot::channel();
		let job: Job = Box::new(move || {
			let _ = tx.send(f());
		});
		let sent = self.jobs.lock().unwrap_or_else(|e| e.into_inner()).send(job);
		sent.ok()?;
		rx.await.ok()
	}
}

fn work(queue: &Mutex<Receiver<Job>>) {
	loop {
		// The lock is held only while waiting for the next job, never while running it.
		let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
		match job {
			// A panicking job only fails its own request (its reply channel is dropped).
			Ok(job) => drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))),
			Err(_) => return,
		}
	}
}
