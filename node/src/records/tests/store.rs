//! The record store: durable across reopen, updates in order, one writer among concurrent
//! inserts.

use std::sync::Arc;

use crate::records::{Insert, RecordStore};
use crate::store::{DynStore, SledStore};

#[tokio::test]
async fn records_survive_reopen_and_updates_apply_in_order() {
	let dir = tempfile::tempdir().expect("tempdir");
	{
		let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("open"));
		let records = RecordStore::<u64>::load(store, "numbers").await.expect("load");
		records.put("a", 1).await.expect("put");
		records.put("b", 2).await.expect("put");
		let after = records.update("a", |v| {
			*v += 10;
			true
		});
		assert_eq!(after.await.expect("update"), Some(11));
		assert_eq!(records.update("zzz", |_| true).await.expect("update"), None);
	}
	let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("reopen"));
	let records = RecordStore::<u64>::load(store, "numbers").await.expect("load");
	assert_eq!(records.get("a"), Some(11));
	assert_eq!(records.get("b"), Some(2));
	assert_eq!(records.all().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_inserts_of_one_id_exactly_one_writes() {
	let dir = tempfile::tempdir().expect("tempdir");
	let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("open"));
	let records = RecordStore::<u64>::load(store, "numbers").await.expect("load");
	for round in 0..20u64 {
		let id = format!("id{round}");
		let barrier = Arc::new(tokio::sync::Barrier::new(8));
		let mut tasks = Vec::new();
		for n in 0..8u64 {
			let (records, barrier, id) = (Arc::clone(&records), Arc::clone(&barrier), id.clone());
			tasks.push(tokio::spawn(async move {
				barrier.wait().await;
				records.insert_unless(&id, n, |_| true).await.expect("insert")
			}));
		}
		let mut written = Vec::new();
		let mut kept = Vec::new();
		for (n, task) in tasks.into_iter().enumerate() {
			match task.await.expect("task") {
				Insert::Written => written.push(n as u64),
				Insert::Kept(value) => kept.push(value),
			}
		}
		assert_eq!(written.len(), 1, "round {round}: {written:?}");
		// Everyone else saw the winner's record.
		assert!(kept.iter().all(|v| *v == written[0]), "round {round}: {kept:?}");
		assert_eq!(records.get(&id), Some(written[0]));
	}
	// A record `keep` does not keep is replaced.
	let replaced = records.insert_unless("id0", 99, |old| *old == 1000);
	assert_eq!(replaced.await.expect("insert"), Insert::Written);
	assert_eq!(records.get("id0"), Some(99));
}
