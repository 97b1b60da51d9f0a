use super::*;

use std::io::BufRead;
use std::process::{Command, Stdio};

use lightning::util::persist::{KVStore, KVStoreSync, MigratableKVStore};

fn temp_store() -> (tempfile::TempDir, SledStore) {
	let dir = tempfile::tempdir().expect("tempdir");
	let store = SledStore::open(dir.path()).expect("open store");
	(dir, store)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
	v.sort();
	v
}

// Compile-time check of what the node relies on: the store can be shared across threads and
// its futures can be spawned on a multi-threaded runtime.
#[allow(dead_code)]
fn assert_send_sync_static() {
	fn is_send_static<T: Send + 'static>(_: &T) {}
	fn is_send_sync<T: Send + Sync + 'static>() {}
	is_send_sync::<SledStore>();
	let (_dir, store) = temp_store();
	is_send_static(&KVStore::write(&store, "a", "", "k", Vec::new()));
	is_send_static(&KVStore::read(&store, "a", "", "k"));
	is_send_static(&store.wait_durable_async());
}

#[test]
fn sync_roundtrip() {
	let (_dir, store) = temp_store();
	KVStoreSync::write(&store, "monitors", "", "chan1", vec![1, 2, 3]).unwrap();
	KVStoreSync::write(&store, "monitors", "", "chan2", vec![4]).unwrap();
	KVStoreSync::write(&store, "monitor_updates", "chan1", "1", vec![5]).unwrap();
	KVStoreSync::write(&store, "", "", "manager", vec![6]).unwrap();

	assert_eq!(KVStoreSync::read(&store, "monitors", "", "chan1").unwrap(), vec![1, 2, 3]);
	assert_eq!(KVStoreSync::read(&store, "", "", "manager").unwrap(), vec![6]);
	assert_eq!(sorted(KVStoreSync::list(&store, "monitors", "").unwrap()), ["chan1", "chan2"]);
	assert_eq!(KVStoreSync::list(&store, "monitor_updates", "chan1").unwrap(), ["1"]);
	// The root namespace must not see keys of nested namespaces.
	assert_eq!(KVStoreSync::list(&store, "", "").unwrap(), ["manager"]);
	assert!(KVStoreSync::list(&store, "unknown", "").unwrap().is_empty());

	KVStoreSync::write(&store, "monitors", "", "chan1", vec![9]).unwrap();
	assert_eq!(KVStoreSync::read(&store, "monitors", "", "chan1").unwrap(), vec![9]);

	KVStoreSync::remove(&store, "monitors", "", "chan1", false).unwrap();
	KVStoreSync::remove(&store, "monitors", "", "chan2", true).unwrap();
	// Removing a missing key succeeds: LDK only needs "nothing stored afterwards".
	KVStoreSync::remove(&store, "monitors", "", "never-written", false).unwrap();
	let err = KVStoreSync::read(&store, "monitors", "", "chan1").unwrap_err();
	assert_eq!(err.kind(), LdkIoErrorKind::NotFound);
	assert!(KVStoreSync::list(&store, "monitors", "").unwrap().is_empty());

	let mut all = store.list_all_keys().unwrap();
	all.sort();
	assert_eq!(
		all,
		[
			("".to_owned(), "".to_owned(), "manager".to_owned()),
			("monitor_updates".to_owned(), "chan1".to_owned(), "1".to_owned()),
		]
	);

	let stats = store.stats();
	assert_eq!(stats.writes, 5);
	assert_eq!(stats.removes, 3);
	assert_eq!(stats.bytes_written, 7);
	assert!(stats.flushes >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_roundtrip() {
	let (_dir, store) = temp_store();
	KVStore::write(&store, "ns", "sub", "a", b"one".to_vec()).await.unwrap();
	KVStore::write(&store, "ns", "sub", "b", b"two".to_vec()).await.unwrap();
	assert_eq!(KVStore::read(&store, "ns", "sub", "a").await.unwrap(), b"one");
	assert_eq!(sorted(KVStore::list(&store, "ns", "sub").await.unwrap()), ["a", "b"]);
	assert!(KVStore::list(&store, "ns", "").await.unwrap().is_empty());

	KVStore::remove(&store, "ns", "sub", "a", false).await.unwrap();
	KVStore::remove(&store, "ns", "sub", "b", true).await.unwrap();
	let err = KVStore::read(&store, "ns", "sub", "a").await.unwrap_err();
	assert_eq!(err.kind(), LdkIoErrorKind::NotFound);
	assert!(KVStore::list(&store, "ns", "sub").await.unwrap().is_empty());

	// The sync and async faces share one state.
	KVStoreSync::write(&store, "ns", "sub", "c", b"three".to_vec()).unwrap();
	assert_eq!(KVStore::read(&store, "ns", "sub", "c").await.unwrap(), b"three");
	store.wait_durable_async().await.unwrap();
}

#[test]
fn async_futures_work_outside_a_runtime() {
	// LDK may poll store futures from its own executor; nothing may require a tokio context.
	let (_dir, store) = temp_store();
	let write = KVStore::write(&store, "ns", "", "k", vec![7]);
	let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
	rt.block_on(write).unwrap();
	let read = KVStore::read(&store, "ns", "", "k");
	assert_eq!(rt.block_on(read).unwrap(), vec![7]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_names_are_rejected() {
	let (_dir, store) = temp_store();
	let too_long = "a".repeat(KVSTORE_NAMESPACE_KEY_MAX_LEN + 1);
	let max = "a".repeat(KVSTORE_NAMESPACE_KEY_MAX_LEN);
	let bad: &[(&str, &str, &str, &str)] = &[
		("ns", "", "", "key"),
		("", "sub", "k", "secondary namespace"),
		("n/s", "", "k", "primary namespace"),
		("ns", "s\0b", "k", "secondary namespace"),
		("ns", "", "k.ey", "key"),
		("ns", "", "kéy", "key"),
		(&too_long, "", "k", "primary namespace"),
		("ns", "", &too_long, "key"),
	];
	for &(p, s, k, part) in bad {
		let errs = [
			KVStoreSync::write(&store, p, s, k, vec![1]).unwrap_err(),
			KVStoreSync::read(&store, p, s, k).unwrap_err(),
			KVStoreSync::remove(&store, p, s, k, false).unwrap_err(),
			KVStore::write(&store, p, s, k, vec![1]).await.unwrap_err(),
			KVStore::read(&store, p, s, k).await.unwrap_err(),
			KVStore::remove(&store, p, s, k, true).await.unwrap_err(),
		];
		for err in errs {
			assert_eq!(err.kind(), LdkIoErrorKind::InvalidInput, "{p:?}/{s:?}/{k:?}: {err}");
			assert!(err.to_string().contains(part), "{p:?}/{s:?}/{k:?}: {err}");
		}
	}
	assert_eq!(
		KVStoreSync::list(&store, "", "x").unwrap_err().kind(),
		LdkIoErrorKind::InvalidInput
	);
	assert_eq!(
		KVStore::list(&store, "a-b", "c d").await.unwrap_err().kind(),
		LdkIoErrorKind::InvalidInput
	);
	assert_eq!(store.stats().writes, 0);

	// The limits are inclusive.
	KVStoreSync::write(&store, &max, &max, &max, vec![1]).unwrap();
	assert_eq!(KVStoreSync::list(&store, &max, &max).unwrap(), vec![max]);
}

#[test]
fn data_survives_reopen() {
	let dir = tempfile::tempdir().unwrap();
	{
		let store = SledStore::open(dir.path()).unwrap();
		let clone = store.clone();
		KVStoreSync::write(&store, "monitors", "", "chan", vec![42; 1000]).unwrap();
		KVStoreSync::write(&clone, "", "", "manager", vec![1]).unwrap();
		KVStoreSync::write(&clone, "gone", "", "k", vec![1]).unwrap();
		// Lazy removes are not waited for; the final flush on drop must still persist them.
		KVStoreSync::remove(&clone, "gone", "", "k", true).unwrap();
		// A second open of a live database must fail cleanly, not corrupt it.
		assert!(SledStore::open(dir.path()).is_err());
	}
	// Reopening right away also proves the flusher thread released its database handle.
	let store = SledStore::open(dir.path()).unwrap();
	assert_eq!(KVStoreSync::read(&store, "monitors", "", "chan").unwrap(), vec![42; 1000]);
	assert_eq!(KVStoreSync::read(&store, "", "", "manager").unwrap(), vec![1]);
	assert!(KVStoreSync::list(&store, "gone", "").unwrap().is_empty());
	assert_eq!(store.stats(), StoreStats::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_async_writers_share_flushes() {
	const WRITERS: usize = 64;
	let (_dir, store) = temp_store();
	let barrier = Arc::new(tokio::sync::Barrier::new(WRITERS));
	let mut tasks = Vec::new();
	for i in 0..WRITERS {
		let store = store.clone();
		let barrier = Arc::clone(&barrier);
		tasks.push(tokio::spawn(async move {
			barrier.wait().await;
			KVStore::write(&store, "batch", "", &format!("k{i}"), vec![i as u8; 256]).await
		}));
	}
	for task in tasks {
		task.await.unwrap().unwrap();
	}
	let stats = store.stats();
	assert_eq!(stats.writes, WRITERS as u64);
	assert!(stats.flushes < WRITERS as u64, "no batching: {stats:?}");
	assert_eq!(KVStoreSync::list(&store, "batch", "").unwrap().len(), WRITERS);
}

#[test]
fn concurrent_sync_writers_share_flushes() {
	const THREADS: usize = 16;
	const PER_THREAD: usize = 8;
	let (_dir, store) = temp_store();
	let barrier = Arc::new(std::sync::Barrier::new(THREADS));
	let threads: Vec<_> = (0..THREADS)
		.map(|t| {
			let store = store.clone();
			let barrier = Arc::clone(&barrier);
			std::thread::spawn(move || {
				barrier.wait();
				for i in 0..PER_THREAD {
					KVStoreSync::write(&store, "sync", "", &format!("t{t}-{i}"), vec![1]).unwrap();
				}
			})
		})
		.collect();
	for t in threads {
		t.join().unwrap();
	}
	let stats = store.stats();
	assert_eq!(stats.writes, (THREADS * PER_THREAD) as u64);
	assert!(stats.flushes < stats.writes, "no batching: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_key_order_is_issue_order() {
	const TASKS: usize = 16;
	const WRITES_PER_TASK: u32 = 40;
	const SHARED_WRITES: u32 = 200;
	let (_dir, store) = temp_store();

	let mut tasks = Vec::new();
	for t in 0..TASKS {
		let store = store.clone();
		tasks.push(tokio::spawn(async move {
			let key = format!("own{t}");
			for v in 1..=WRITES_PER_TASK {
				KVStore::write(&store, "order", "", &key, v.to_be_bytes().to_vec()).await.unwrap();
				tokio::task::yield_now().await;
			}
		}));
	}

	// One task issues writes to the shared key back to back without awaiting them, then awaits
	// them in reverse: completion order must not affect which value wins.
	let shared = {
		let store = store.clone();
		tokio::spawn(async move {
			let mut pending = Vec::new();
			for v in 1..=SHARED_WRITES {
				pending.push((
					v,
					KVStore::write(&store, "order", "", "shared", v.to_be_bytes().to_vec()),
				));
				if v % 16 == 0 {
					tokio::task::yield_now().await;
				}
			}
			while let Some((v, fut)) = pending.pop() {
				fut.await.unwrap();
				let now = KVStore::read(&store, "order", "", "shared").await.unwrap();
				let now = u32::from_be_bytes(now.try_into().unwrap());
				// After write `v` completed the state may never hold anything older.
				assert!(now >= v, "read {now} after write {v} completed");
			}
		})
	};

	for task in tasks {
		task.await.unwrap();
	}
	shared.await.unwrap();

	let read_u32 = |key: &str| {
		let bytes = KVStoreSync::read(&store, "order", "", key).unwrap();
		u32::from_be_bytes(bytes.try_into().unwrap())
	};
	for t in 0..TASKS {
		assert_eq!(read_u32(&format!("own{t}")), WRITES_PER_TASK);
	}
	assert_eq!(read_u32("shared"), SHARED_WRITES);
}

/// Set (to the store path) when this test binary was re-executed as the crashing writer.
const CRASH_CHILD_ENV: &str = "FULGUR_STORE_CRASH_CHILD";
const CRASH_WRITERS: usize = 8;
const CRASH_KEYS_PER_WRITER: usize = 100_000;

fn crash_value(writer: usize, i: usize) -> Vec<u8> {
	format!("value-{writer}-{i}").into_bytes().repeat(8)
}

/// Child side of the crash test: concurrent async writers, each printing `ACK <w> <i>` only once
/// its write was acknowledged, until the parent kills the process.
fn crash_child(path: &str) {
	let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
	rt.block_on(async {
		let store = SledStore::open(Path::new(path)).unwrap();
		let mut tasks = Vec::new();
		for w in 0..CRASH_WRITERS {
			let store = store.clone();
			tasks.push(tokio::spawn(async move {
				for i in 0..CRASH_KEYS_PER_WRITER {
					KVStore::write(&store, "crash", "", &format!("w{w}-{i}"), crash_value(w, i))
						.await
						.unwrap();
					// `println!` locks stdout per call, so lines never interleave; stdout is a
					// pipe, which Rust's stdout flushes at each newline.
					println!("ACK {w} {i}");
				}
			}));
		}
		for task in tasks {
			task.await.unwrap();
		}
	});
}

#[test]
fn acknowledged_writes_survive_sigkill() {
	if let Ok(path) = std::env::var(CRASH_CHILD_ENV) {
		crash_child(&path);
		return;
	}

	// The name libtest knows this test by: the module path without the crate name, so the test
	// keeps working wherever this module is mounted.
	let full = concat!(module_path!(), "::acknowledged_writes_survive_sigkill");
	let test_name = full.split_once("::").map_or(full, |(_, rest)| rest);

	let dir = tempfile::tempdir().unwrap();
	let mut child = Command::new(std::env::current_exe().unwrap())
		.args(["--exact", test_name, "--nocapture", "--test-threads=1"])
		.env(CRASH_CHILD_ENV, dir.path())
		.stdout(Stdio::piped())
		.stderr(Stdio::null())
		.spawn()
		.unwrap();
	let stdout = child.stdout.take().unwrap();
	let mut lines = std::io::BufReader::new(stdout).lines();

	let mut acked = Vec::new();
	let parse = |line: &str| -> Option<(usize, usize)> {
		let mut it = line.strip_prefix("ACK ")?.split(' ');
		Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
	};
	for line in lines.by_ref() {
		if let Some(ack) = parse(&line.unwrap()) {
			acked.push(ack);
			if acked.len() >= 2000 {
				break;
			}
		}
	}
	assert!(acked.len() >= 2000, "child exited early after {} acks", acked.len());
	child.kill().unwrap();
	child.wait().unwrap();
	// Acks the child printed before dying are still in the pipe and count too.
	for line in lines {
		match line {
			Ok(line) => acked.extend(parse(&line)),
			Err(_) => break,
		}
	}

	let store = SledStore::open(dir.path()).unwrap();
	for &(w, i) in &acked {
		let value = KVStoreSync::read(&store, "crash", "", &format!("w{w}-{i}"))
			.unwrap_or_else(|e| panic!("acknowledged key w{w}-{i} lost: {e}"));
		assert_eq!(value, crash_value(w, i), "acknowledged key w{w}-{i} corrupted");
	}
	// Sanity check that the child was really killed mid-run rather than having finished.
	let stored = KVStoreSync::list(&store, "crash", "").unwrap().len();
	assert!(stored < CRASH_WRITERS * CRASH_KEYS_PER_WRITER);
	assert!(stored >= acked.len());
}

#[test]
fn a_database_in_the_earlier_layout_opens() {
	// Built as the store has always laid LDK's data out: the tree `ldk_kv`, keys
	// `primary \0 secondary \0 key`.
	let dir = tempfile::tempdir().unwrap();
	{
		let db = sled::open(dir.path()).unwrap();
		let tree = db.open_tree("ldk_kv").unwrap();
		tree.insert(b"\0\0manager", &[1, 2][..]).unwrap();
		tree.insert(b"monitors\0\0chan", &[3][..]).unwrap();
		tree.insert(b"monitor_updates\0chan\x001", &[4][..]).unwrap();
		db.flush().unwrap();
	}
	let store = open_once_released(dir.path());
	assert_eq!(KVStoreSync::read(&store, "", "", "manager").unwrap(), vec![1, 2]);
	assert_eq!(KVStoreSync::read(&store, "monitors", "", "chan").unwrap(), vec![3]);
	assert_eq!(KVStoreSync::list(&store, "monitor_updates", "chan").unwrap(), ["1"]);
	assert_eq!(KVStoreSync::list(&store, "", "").unwrap(), ["manager"]);
}

/// Opens the store once the plain sled handle dropped just before has let go of the database's
/// file lock: sled's background threads release it a moment after the drop, so under a loaded
/// test run the first attempt can meet `WouldBlock` (as the node's start-up retries too).
fn open_once_released(path: &std::path::Path) -> SledStore {
	let mut attempts = 0;
	loop {
		match SledStore::open(path) {
			Ok(store) => return store,
			Err(e) if attempts < 50 => {
				attempts += 1;
				eprintln!("the database is still locked ({e}); trying again");
				std::thread::sleep(std::time::Duration::from_millis(100));
			}
			Err(e) => panic!("the database stayed locked: {e}"),
		}
	}
}
