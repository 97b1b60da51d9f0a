//! The storage contract, run against every durable store: sled, and PostgreSQL on a throwaway
//! server (see [`fulgur_base::throwaway_postgres`]). Each contract test is written once,
//! generic over a [`Fixture`], and instantiated per store by `contract_tests!`.
use super::*;

use std::io::BufRead;
use std::process::{Command, Stdio};

use fulgur_base::throwaway_postgres::ThrowawayPostgres;
use lightning::util::persist::{KVStore, KVStoreSync, MigratableKVStore};

/// A store under test: where its data lives, and how to open it (again) there.
trait Fixture: Sized {
	type Store: NodeStore + MigratableKVStore + Clone + 'static;
	/// A new, empty place for a store.
	fn new() -> Self;
	/// Opens the store on this fixture's data (after the last handle on it was dropped).
	fn open(&self) -> Self::Store;
	/// What a re-executed test process needs to open the same store ([`Fixture::open_at`]).
	fn location(&self) -> String;
	fn open_at(location: &str) -> Self::Store;
	/// Between closing a store and opening it again: the PostgreSQL server crashes and
	/// recovers, so what reopening finds is what was committed, not what a cache held.
	fn between_opens(&self) {}
	fn wait_durable(store: &Self::Store) -> impl std::future::Future<Output = io::Result<()>>;
}

struct SledFixture(tempfile::TempDir);

impl Fixture for SledFixture {
	type Store = SledStore;
	fn new() -> Self {
		SledFixture(tempfile::tempdir().expect("tempdir"))
	}
	fn open(&self) -> SledStore {
		SledStore::open(self.0.path()).expect("open store")
	}
	fn location(&self) -> String {
		self.0.path().display().to_string()
	}
	fn open_at(location: &str) -> SledStore {
		SledStore::open(Path::new(location)).expect("open store")
	}
	fn wait_durable(store: &SledStore) -> impl std::future::Future<Output = io::Result<()>> {
		store.wait_durable_async()
	}
}

struct PostgresFixture(ThrowawayPostgres);

impl Fixture for PostgresFixture {
	type Store = PostgresStore;
	fn new() -> Self {
		PostgresFixture(ThrowawayPostgres::provide().expect("a throwaway PostgreSQL server"))
	}
	fn open(&self) -> PostgresStore {
		open_postgres_waiting(self.0.url())
	}
	fn location(&self) -> String {
		self.0.url().to_owned()
	}
	fn open_at(location: &str) -> PostgresStore {
		open_postgres_waiting(location)
	}
	fn between_opens(&self) {
		self.0.crash().expect("crash the server");
		self.0.restart().expect("restart the server");
	}
	fn wait_durable(store: &PostgresStore) -> impl std::future::Future<Output = io::Result<()>> {
		store.wait_durable_async()
	}
}

/// The lease of the contract tests' PostgreSQL stores: short, as a SIGKILLed child's lease is
/// waited out before the store opens again.
pub(in crate::store) const TEST_LEASE: crate::config::LeaseTiming = crate::config::LeaseTiming {
	duration: std::time::Duration::from_secs(2),
	renew_every: std::time::Duration::from_millis(400),
};

/// Opens a PostgreSQL store with [`TEST_LEASE`], waiting (as a standby would) while another
/// process's lease is live.
pub(in crate::store) fn open_postgres_waiting(url: &str) -> PostgresStore {
	loop {
		match PostgresStore::open_leader(url, TEST_LEASE, crate::fence::Fence::new()) {
			Ok(store) => return store,
			Err(e) => match super::lease_held(&e) {
				Some(held) => std::thread::sleep(held.remaining.max(TEST_LEASE.renew_every / 4)),
				None => panic!("open store: {e}"),
			},
		}
	}
}

fn temp_store<F: Fixture>() -> (F, F::Store) {
	let fixture = F::new();
	let store = fixture.open();
	(fixture, store)
}

/// Every contract test, for one store.
macro_rules! contract_tests {
	($module:ident, $fixture:ty) => {
		mod $module {
			use super::*;

			#[test]
			fn sync_roundtrip() {
				super::sync_roundtrip::<$fixture>();
			}
			#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
			async fn async_roundtrip() {
				super::async_roundtrip::<$fixture>().await;
			}
			#[test]
			fn async_futures_work_outside_a_runtime() {
				super::async_futures_work_outside_a_runtime::<$fixture>();
			}
			#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
			async fn invalid_names_are_rejected() {
				super::invalid_names_are_rejected::<$fixture>().await;
			}
			// The default test runtime: one thread, which the sync calls block.
			#[tokio::test]
			async fn sync_calls_inside_a_single_threaded_runtime_complete() {
				super::sync_calls_inside_a_single_threaded_runtime_complete::<$fixture>();
			}
			#[test]
			fn a_namespace_reads_whole_with_its_latest_values() {
				super::a_namespace_reads_whole_with_its_latest_values::<$fixture>();
			}
			#[test]
			fn data_survives_reopen() {
				super::data_survives_reopen::<$fixture>();
			}
			#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
			async fn concurrent_async_writers_share_flushes() {
				super::concurrent_async_writers_share_flushes::<$fixture>().await;
			}
			#[test]
			fn concurrent_sync_writers_share_flushes() {
				super::concurrent_sync_writers_share_flushes::<$fixture>();
			}
			#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
			async fn per_key_order_is_issue_order() {
				super::per_key_order_is_issue_order::<$fixture>().await;
			}
			#[test]
			fn acknowledged_writes_survive_sigkill() {
				// The name libtest knows this test by: the module path without the crate
				// name, so the test keeps working wherever this module is mounted.
				let full = concat!(module_path!(), "::acknowledged_writes_survive_sigkill");
				let name = full.split_once("::").map_or(full, |(_, rest)| rest);
				super::acknowledged_writes_survive_sigkill::<$fixture>(name);
			}
		}
	};
}

contract_tests!(on_sled, SledFixture);
contract_tests!(on_postgres, PostgresFixture);

fn sorted(mut v: Vec<String>) -> Vec<String> {
	v.sort();
	v
}

// Compile-time check of what the node relies on: the stores can be shared across threads and
// their futures can be spawned on a multi-threaded runtime.
#[allow(dead_code)]
fn assert_send_sync_static() {
	fn is_send_static<T: Send + 'static>(_: &T) {}
	fn is_send_sync<T: Send + Sync + 'static>() {}
	is_send_sync::<SledStore>();
	is_send_sync::<PostgresStore>();
	let (_dir, store) = temp_store::<SledFixture>();
	is_send_static(&KVStore::write(&store, "a", "", "k", Vec::new()));
	is_send_static(&KVStore::read(&store, "a", "", "k"));
	is_send_static(&store.wait_durable_async());
	let (_server, store) = temp_store::<PostgresFixture>();
	is_send_static(&KVStore::write(&store, "a", "", "k", Vec::new()));
	is_send_static(&KVStore::read(&store, "a", "", "k"));
	is_send_static(&KVStore::list(&store, "a", ""));
	is_send_static(&store.wait_durable_async());
}

fn sync_roundtrip<F: Fixture>() {
	let (_dir, store) = temp_store::<F>();
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

/// `read_namespace` answers what a list and a read of each key would: committed values and
/// pending ones (a lazy remove still waiting for its batch on PostgreSQL), not the keys of a
/// nested or a neighbouring namespace.
fn a_namespace_reads_whole_with_its_latest_values<F: Fixture>() {
	let (_dir, store) = temp_store::<F>();
	for (key, value) in [("b", 2u8), ("a", 1), ("c", 3), ("gone", 4)] {
		KVStoreSync::write(&store, "fulgur_manager", "chunks", key, vec![value; 3]).unwrap();
	}
	KVStoreSync::write(&store, "fulgur_manager", "", "manifest", vec![9]).unwrap();
	KVStoreSync::write(&store, "fulgur_manager", "chunksx", "z", vec![9]).unwrap();
	KVStoreSync::write(&store, "fulgur_manager", "chunks", "b", vec![20]).unwrap();
	KVStoreSync::remove(&store, "fulgur_manager", "chunks", "gone", true).unwrap();
	let want = |pairs: &[(&str, Vec<u8>)]| -> Vec<(String, Vec<u8>)> {
		pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
	};
	let expected = want(&[("a", vec![1; 3]), ("b", vec![20]), ("c", vec![3; 3])]);
	assert_eq!(store.read_namespace("fulgur_manager", "chunks").unwrap(), expected);
	assert!(store.read_namespace("fulgur_manager", "nothing").unwrap().is_empty());
	// The same once everything is committed.
	KVStoreSync::write(&store, "fulgur_manager", "chunks", "d", vec![4]).unwrap();
	let mut expected = expected;
	expected.push(("d".to_owned(), vec![4]));
	assert_eq!(store.read_namespace("fulgur_manager", "chunks").unwrap(), expected);
}

async fn async_roundtrip<F: Fixture>() {
	let (_dir, store) = temp_store::<F>();
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
	F::wait_durable(&store).await.unwrap();
}

fn async_futures_work_outside_a_runtime<F: Fixture>() {
	// LDK may poll store futures from its own executor; nothing may require a tokio context.
	let (_dir, store) = temp_store::<F>();
	let write = KVStore::write(&store, "ns", "", "k", vec![7]);
	let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
	rt.block_on(write).unwrap();
	let read = KVStore::read(&store, "ns", "", "k");
	assert_eq!(rt.block_on(read).unwrap(), vec![7]);
}

async fn invalid_names_are_rejected<F: Fixture>() {
	let (_dir, store) = temp_store::<F>();
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

/// The node calls the sync trait from inside its runtime (the journal, the records): the store
/// must finish the call without that thread's help, on any runtime flavour.
fn sync_calls_inside_a_single_threaded_runtime_complete<F: Fixture>() {
	let (_dir, store) = temp_store::<F>();
	KVStoreSync::write(&store, "inside", "", "k", vec![1]).unwrap();
	assert_eq!(KVStoreSync::read(&store, "inside", "", "k").unwrap(), vec![1]);
	assert_eq!(KVStoreSync::list(&store, "inside", "").unwrap(), ["k"]);
	KVStoreSync::remove(&store, "inside", "", "k", false).unwrap();
	assert!(store.list_all_keys().unwrap().is_empty());
}

fn data_survives_reopen<F: Fixture>() {
	let fixture = F::new();
	{
		let store = fixture.open();
		let clone = store.clone();
		KVStoreSync::write(&store, "monitors", "", "chan", vec![42; 1000]).unwrap();
		KVStoreSync::write(&clone, "", "", "manager", vec![1]).unwrap();
		KVStoreSync::write(&clone, "gone", "", "k", vec![1]).unwrap();
		// Lazy removes are not waited for; the final flush on drop must still persist them.
		KVStoreSync::remove(&clone, "gone", "", "k", true).unwrap();
	}
	fixture.between_opens();
	// Reopening right away also proves the flusher thread released its database handle.
	let store = fixture.open();
	assert_eq!(KVStoreSync::read(&store, "monitors", "", "chan").unwrap(), vec![42; 1000]);
	assert_eq!(KVStoreSync::read(&store, "", "", "manager").unwrap(), vec![1]);
	assert!(KVStoreSync::list(&store, "gone", "").unwrap().is_empty());
	assert_eq!(store.stats(), StoreStats::default());
}

#[test]
fn a_second_open_of_a_live_sled_database_fails_cleanly() {
	let dir = tempfile::tempdir().unwrap();
	let store = SledStore::open(dir.path()).unwrap();
	KVStoreSync::write(&store, "monitors", "", "chan", vec![42]).unwrap();
	assert!(SledStore::open(dir.path()).is_err());
	assert_eq!(KVStoreSync::read(&store, "monitors", "", "chan").unwrap(), vec![42]);
}

async fn concurrent_async_writers_share_flushes<F: Fixture>() {
	const WRITERS: usize = 64;
	let (_dir, store) = temp_store::<F>();
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

fn concurrent_sync_writers_share_flushes<F: Fixture>() {
	const THREADS: usize = 16;
	const PER_THREAD: usize = 8;
	let (_dir, store) = temp_store::<F>();
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

async fn per_key_order_is_issue_order<F: Fixture>() {
	const TASKS: usize = 16;
	const WRITES_PER_TASK: u32 = 40;
	const SHARED_WRITES: u32 = 200;
	let (_dir, store) = temp_store::<F>();

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
fn crash_child<F: Fixture>(location: &str) {
	let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
	rt.block_on(async {
		let store = F::open_at(location);
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

fn acknowledged_writes_survive_sigkill<F: Fixture>(test_name: &str) {
	if let Ok(location) = std::env::var(CRASH_CHILD_ENV) {
		crash_child::<F>(&location);
		return;
	}

	let fixture = F::new();
	let mut child = Command::new(std::env::current_exe().unwrap())
		.args(["--exact", test_name, "--nocapture", "--test-threads=1"])
		.env(CRASH_CHILD_ENV, fixture.location())
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

	fixture.between_opens();
	let store = fixture.open();
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
