use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::GroupCommit;

fn temp_db() -> (tempfile::TempDir, sled::Db) {
	let dir = tempfile::tempdir().unwrap();
	let db = sled::Config::new().path(dir.path()).flush_every_ms(None).open().unwrap();
	(dir, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_async_waits_share_flushes() {
	const WAITERS: usize = 64;
	let (_dir, db) = temp_db();
	let commit = Arc::new(GroupCommit::start(db.clone(), "test-flush").unwrap());
	let barrier = Arc::new(tokio::sync::Barrier::new(WAITERS));
	let mut tasks = Vec::new();
	for i in 0..WAITERS {
		let (db, commit, barrier) = (db.clone(), Arc::clone(&commit), Arc::clone(&barrier));
		tasks.push(tokio::spawn(async move {
			barrier.wait().await;
			db.insert(format!("k{i}"), vec![i as u8; 256]).unwrap();
			commit.wait_async().await
		}));
	}
	for task in tasks {
		task.await.unwrap().unwrap();
	}
	let flushes = commit.flushes();
	assert!((1..WAITERS as u64).contains(&flushes), "no batching: {flushes} flushes");
}

#[test]
fn concurrent_blocking_waits_share_flushes() {
	const THREADS: usize = 16;
	const PER_THREAD: usize = 8;
	let (_dir, db) = temp_db();
	let commit = Arc::new(GroupCommit::start(db.clone(), "test-flush").unwrap());
	let barrier = Arc::new(std::sync::Barrier::new(THREADS));
	let threads: Vec<_> = (0..THREADS)
		.map(|t| {
			let (db, commit, barrier) = (db.clone(), Arc::clone(&commit), Arc::clone(&barrier));
			std::thread::spawn(move || {
				barrier.wait();
				for i in 0..PER_THREAD {
					db.insert(format!("t{t}-{i}"), vec![1]).unwrap();
					commit.wait_blocking().unwrap();
				}
			})
		})
		.collect();
	for thread in threads {
		thread.join().unwrap();
	}
	let waits = (THREADS * PER_THREAD) as u64;
	let flushes = commit.flushes();
	assert!((1..waits).contains(&flushes), "no batching: {flushes} flushes for {waits} waits");
}

#[test]
fn an_async_wait_is_registered_when_made_not_when_polled() {
	let (_dir, db) = temp_db();
	let commit = GroupCommit::start(db, "test-flush").unwrap();
	let early = commit.wait_async();
	// This wait's flush started after it registered, so it started after `early` registered
	// too: `early` was woken by that flush or an earlier one, although nobody polled it.
	commit.wait_blocking().unwrap();
	let mut early = pin!(early);
	let mut cx = Context::from_waker(Waker::noop());
	match early.as_mut().poll(&mut cx) {
		Poll::Ready(result) => result.unwrap(),
		Poll::Pending => panic!("a wait made before a completed flush is still pending"),
	}
}

/// With a pace, every wait still ends, and only through a flush that started after the change
/// it waits for was applied.
#[test]
fn a_paced_flush_acknowledges_only_changes_applied_before_it_started() {
	use std::sync::atomic::{AtomicU64, Ordering};
	use std::sync::Mutex;
	const THREADS: u64 = 8;
	const PER_THREAD: u64 = 20;
	let applied = Arc::new(AtomicU64::new(0));
	// What `applied` read when each flush started, in order.
	let starts = Arc::new(Mutex::new(Vec::new()));
	let (flush_applied, flush_starts) = (Arc::clone(&applied), Arc::clone(&starts));
	let pace = std::time::Duration::from_millis(2);
	let commit = Arc::new(
		GroupCommit::start_with_pace("test-flush", pace, move || {
			flush_starts.lock().unwrap().push(flush_applied.load(Ordering::SeqCst));
			Ok(())
		})
		.unwrap(),
	);
	let threads: Vec<_> = (0..THREADS)
		.map(|_| {
			let (applied, commit, starts) =
				(Arc::clone(&applied), Arc::clone(&commit), Arc::clone(&starts));
			std::thread::spawn(move || {
				for _ in 0..PER_THREAD {
					let mine = applied.fetch_add(1, Ordering::SeqCst) + 1;
					commit.wait_blocking().unwrap();
					// Some flush that had started by now saw this change applied.
					let seen = starts.lock().unwrap().iter().copied().max().unwrap_or(0);
					assert!(seen >= mine, "acknowledged {mine} after flushes that saw {seen}");
				}
			})
		})
		.collect();
	for thread in threads {
		thread.join().unwrap();
	}
	assert!(commit.flushes() <= THREADS * PER_THREAD);
}
