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
