//! What only the PostgreSQL store has to show (the contract tests shared with sled are in
//! `store/tests.rs`): the server going away mid-write loses nothing acknowledged, and the
//! schema and the URL are checked at start with clear errors.

use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::Duration;

use fulgur_base::throwaway_postgres::ThrowawayPostgres;
use lightning::util::persist::{KVStore, KVStoreSync};

use super::*;
use crate::fence::Fence;

const WRITERS: usize = 8;

fn value(writer: usize, i: usize) -> Vec<u8> {
	format!("value-{writer}-{i}").into_bytes().repeat(16)
}

/// A plain client on the test's server, for what the store itself would never do.
async fn admin(server: &ThrowawayPostgres) -> tokio_postgres::Client {
	let (client, connection) =
		tokio_postgres::connect(server.url(), tokio_postgres::NoTls).await.unwrap();
	tokio::spawn(async move {
		let _ = connection.await;
	});
	client
}

/// What the writers share: the writes acknowledged, the first failure, and when to stop.
#[derive(Default)]
struct Progress {
	acked: Mutex<Vec<(usize, usize)>>,
	failure: Mutex<Option<String>>,
	stop: AtomicBool,
}

impl Progress {
	/// One writer's loop: writes until told to stop or a write fails (which it records).
	fn record(&self, writer: usize, i: usize, result: Result<(), LdkIoError>) -> bool {
		match result {
			Ok(()) => {
				self.acked.lock().unwrap().push((writer, i));
				!self.stop.load(Ordering::Relaxed)
			}
			Err(e) => {
				self.failure.lock().unwrap().get_or_insert(format!("write w{writer}-{i}: {e}"));
				false
			}
		}
	}

	/// Waits until `more` further writes were acknowledged; fails the test as soon as one
	/// write failed (the store must wait for the server, not give up).
	async fn wait_for_acks(&self, more: usize) {
		let target = self.acked.lock().unwrap().len() + more;
		while self.acked.lock().unwrap().len() < target {
			if let Some(failure) = self.failure.lock().unwrap().as_ref() {
				panic!("a write failed instead of waiting for the server: {failure}");
			}
			tokio::time::sleep(Duration::from_millis(20)).await;
		}
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_the_server_crashing_and_connections_killed_mid_write() {
	let server = ThrowawayPostgres::provide().unwrap();
	let store = PostgresStore::open(server.url()).unwrap();
	let progress = Arc::new(Progress::default());
	// Half the writers async, half on threads of their own through the sync trait (threads, not
	// the runtime's blocking pool: a failing test must not wait for them to finish).
	let mut async_writers = Vec::new();
	let mut sync_writers = Vec::new();
	for w in 0..WRITERS {
		let (store, progress) = (store.clone(), Arc::clone(&progress));
		if w % 2 == 0 {
			async_writers.push(tokio::spawn(async move {
				for i in 0.. {
					let key = format!("w{w}-{i}");
					let result = KVStore::write(&store, "outage", "", &key, value(w, i)).await;
					if !progress.record(w, i, result) {
						break;
					}
				}
			}));
		} else {
			sync_writers.push(std::thread::spawn(move || {
				for i in 0.. {
					let key = format!("w{w}-{i}");
					let result = KVStoreSync::write(&store, "outage", "", &key, value(w, i));
					if !progress.record(w, i, result) {
						break;
					}
				}
			}));
		}
	}

	progress.wait_for_acks(200).await;
	// The server dies mid-write (no checkpoint: only what was committed survives), stays away
	// a moment while writes queue up, and comes back.
	server.crash().unwrap();
	tokio::time::sleep(Duration::from_millis(500)).await;
	server.restart().unwrap();
	progress.wait_for_acks(200).await;

	// Every connection of the store is cut from the server side.
	let admin = admin(&server).await;
	let killed = admin
		.query(
			"SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			 WHERE datname = current_database() AND pid <> pg_backend_pid()",
			&[],
		)
		.await
		.unwrap();
	// The writer's connection at least (the reader connects again only when next asked).
	assert!(!killed.is_empty(), "the store's connections were not found");
	progress.wait_for_acks(200).await;

	progress.stop.store(true, Ordering::Relaxed);
	for writer in async_writers {
		writer.await.unwrap();
	}
	for writer in sync_writers {
		writer.join().unwrap();
	}
	// No write failed: the store waited for the server instead.
	assert_eq!(*progress.failure.lock().unwrap(), None);
	drop(store);
	server.crash().unwrap();
	server.restart().unwrap();

	// (Its lease was released on close, unless the connections killed made that fail: then
	// it is waited out, as a restarted node would.)
	let store = crate::store::tests::open_postgres_waiting(server.url());
	let acked = progress.acked.lock().unwrap().clone();
	for &(w, i) in &acked {
		let stored = KVStoreSync::read(&store, "outage", "", &format!("w{w}-{i}"))
			.unwrap_or_else(|e| panic!("acknowledged key w{w}-{i} lost: {e}"));
		assert_eq!(stored, value(w, i), "acknowledged key w{w}-{i} corrupted");
	}
	assert_eq!(KVStoreSync::list(&store, "outage", "").unwrap().len(), acked.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_a_newer_fulgur_is_refused_and_left_alone() {
	let server = ThrowawayPostgres::provide().unwrap();
	{
		let store = PostgresStore::open(server.url()).unwrap();
		KVStoreSync::write(&store, "", "", "manager", vec![1]).unwrap();
	}
	let admin = admin(&server).await;
	admin.execute("UPDATE fulgur_schema SET version = 99", &[]).await.unwrap();
	let err = PostgresStore::open(server.url()).err().expect("opened a newer schema");
	assert!(err.to_string().contains("schema version 99"), "{err}");
	let rows = admin.query("SELECT value FROM fulgur_kv", &[]).await.unwrap();
	assert_eq!(rows.len(), 1);
	// Back to this version: the same data opens again.
	admin.execute("UPDATE fulgur_schema SET version = $1", &[&db::SCHEMA_VERSION]).await.unwrap();
	let store = PostgresStore::open(server.url()).unwrap();
	assert_eq!(KVStoreSync::read(&store, "", "", "manager").unwrap(), vec![1]);
}

#[test]
fn a_bad_or_unreachable_database_is_a_clear_error_without_the_password() {
	let err = PostgresStore::open("postgres://user@host:notaport/db").err().expect("bad URL");
	assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
	assert!(err.to_string().contains("invalid PostgreSQL URL"), "{err}");

	// Port 1 on loopback: nothing listens there.
	let url = "postgres://fulgur:s3cret@127.0.0.1:1/nodedb";
	let err = PostgresStore::open(url).err().expect("connected to nothing");
	let message = err.to_string();
	assert!(message.contains("fulgur@127.0.0.1:1/nodedb"), "{message}");
	assert!(!message.contains("s3cret"), "{message}");
}

/// A lease that the test's renewals will not touch within the test: what the store does is
/// then the commit's own fencing, not the renewing thread noticing.
const RARELY_RENEWED: LeaseTiming =
	LeaseTiming { duration: Duration::from_secs(120), renew_every: Duration::from_secs(40) };

/// What a standby's takeover does to the lease row (here without waiting for it to expire).
async fn take_over(admin: &tokio_postgres::Client, holder: &str) {
	let taken = admin
		.execute(
			"UPDATE fulgur_lease SET holder = $1, expires_at = clock_timestamp() + interval '1 hour'",
			&[&holder],
		)
		.await
		.unwrap();
	assert_eq!(taken, 1, "no lease row to take over");
}

async fn stored(admin: &tokio_postgres::Client, key: &str) -> Option<Vec<u8>> {
	admin
		.query_opt("SELECT value FROM fulgur_kv WHERE key = $1", &[&key])
		.await
		.unwrap()
		.map(|row| row.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_after_another_holder_took_the_lease_is_refused_not_acknowledged() {
	let server = ThrowawayPostgres::provide().unwrap();
	let fence = Fence::new();
	let store = PostgresStore::open_leader(server.url(), RARELY_RENEWED, fence.clone()).unwrap();
	KVStoreSync::write(&store, "fenced", "", "before", vec![1]).unwrap();
	let admin = admin(&server).await;
	take_over(&admin, "standby/pid 1/00000000").await;

	// Sync and async writes, both refused by the database itself.
	let sync = KVStoreSync::write(&store, "fenced", "", "after-sync", vec![2]);
	assert!(sync.is_err(), "a write after the takeover was acknowledged");
	let async_write = KVStore::write(&store, "fenced", "", "after-async", vec![3]).await;
	assert!(async_write.is_err(), "an async write after the takeover was acknowledged");
	assert!(fence.is_raised(), "the refused write did not raise the fence");
	assert!(fence.reason().unwrap().contains("no longer ours"), "{:?}", fence.reason());
	// Nothing of it in the database, what came before is.
	assert_eq!(stored(&admin, "before").await, Some(vec![1]));
	assert_eq!(stored(&admin, "after-sync").await, None);
	assert_eq!(stored(&admin, "after-async").await, None);
	// Fenced for good: later writes are refused before reaching the database.
	let later = KVStoreSync::write(&store, "fenced", "", "later", vec![4]).unwrap_err();
	assert!(later.to_string().contains("fenced"), "{later}");
	drop(store);
	// Closing does not release a lease that is no longer ours.
	let holder: String =
		admin.query_one("SELECT holder FROM fulgur_lease", &[]).await.unwrap().get(0);
	assert_eq!(holder, "standby/pid 1/00000000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_lease_refuses_a_second_leader_naming_the_holder_until_released() {
	let server = ThrowawayPostgres::provide().unwrap();
	let first = PostgresStore::open(server.url()).unwrap();
	let err = PostgresStore::open(server.url()).err().expect("a second leader opened");
	let held = lease_held(&err).unwrap_or_else(|| panic!("not a held lease: {err}"));
	assert_eq!(held.holder, first.lease_holder());
	assert!(held.remaining > Duration::from_secs(5), "{held}");
	assert!(err.to_string().contains(first.lease_holder()), "{err}");
	assert!(err.to_string().contains("UTC"), "{err}");
	// Closed cleanly: the lease ends at once, the next opens without waiting.
	drop(first);
	let second = PostgresStore::open(server.url()).unwrap();
	KVStoreSync::write(&second, "", "", "k", vec![1]).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_cannot_renew_stops_writing_before_its_lease_ends() {
	let server = ThrowawayPostgres::provide().unwrap();
	let timing =
		LeaseTiming { duration: Duration::from_secs(3), renew_every: Duration::from_millis(500) };
	let fence = Fence::new();
	let store = PostgresStore::open_leader(server.url(), timing, fence.clone()).unwrap();
	KVStoreSync::write(&store, "", "", "before", vec![1]).unwrap();
	server.crash().unwrap();
	let reason = tokio::time::timeout(Duration::from_secs(60), fence.raised())
		.await
		.expect("the fence was not raised while the database was away");
	assert!(reason.contains("could not renew"), "{reason}");
	server.restart().unwrap();
	let refused = KVStoreSync::write(&store, "", "", "after", vec![2]);
	assert!(refused.is_err(), "a fenced store acknowledged a write");
	let admin = admin(&server).await;
	assert_eq!(stored(&admin, "before").await, Some(vec![1]));
	assert_eq!(stored(&admin, "after").await, None);
}

/// Rounds of [`write_all_commits_in_one_transaction_while_the_flusher_is_busy`].
const ATOMIC_ROUNDS: usize = 300;
/// Writes per round: a manager and its monitors, as the manager barrier hands them over.
const ATOMIC_WRITES: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_all_commits_in_one_transaction_while_the_flusher_is_busy() {
	use crate::store::NodeStore;
	let server = ThrowawayPostgres::provide().unwrap();
	let store = PostgresStore::open(server.url()).unwrap();
	// Another writer keeps the flusher taking batches at any moment.
	let stop = Arc::new(AtomicBool::new(false));
	let busy = {
		let (store, stop) = (store.clone(), Arc::clone(&stop));
		std::thread::spawn(move || {
			for i in 0usize.. {
				if stop.load(Ordering::Relaxed) {
					return;
				}
				let key = format!("k{}", i % 64);
				KVStoreSync::write(&store, "busy", "", &key, vec![i as u8; 256]).unwrap();
			}
		})
	};
	for round in 0..ATOMIC_ROUNDS {
		let writes = (0..ATOMIC_WRITES)
			.map(|i| {
				let value = vec![round as u8; 16 * 1024];
				("atomic".to_owned(), format!("r{round}"), format!("k{i}"), value)
			})
			.collect();
		NodeStore::write_all(&store, writes).await.unwrap();
	}
	stop.store(true, Ordering::Relaxed);
	busy.join().unwrap();
	// Rows written by one transaction share its id (`xmin`).
	let admin = admin(&server).await;
	let split = admin
		.query(
			"SELECT secondary_namespace, count(DISTINCT xmin::text) FROM fulgur_kv
			WHERE primary_namespace = 'atomic' GROUP BY secondary_namespace
			HAVING count(DISTINCT xmin::text) > 1",
			&[],
		)
		.await
		.unwrap();
	let rounds: Vec<(String, i64)> = split.iter().map(|row| (row.get(0), row.get(1))).collect();
	assert!(rounds.is_empty(), "rounds split over several transactions: {rounds:?}");
	let stored = admin
		.query_one("SELECT count(*) FROM fulgur_kv WHERE primary_namespace = 'atomic'", &[])
		.await
		.unwrap();
	assert_eq!(stored.get::<_, i64>(0), (ATOMIC_ROUNDS * ATOMIC_WRITES) as i64);
}
