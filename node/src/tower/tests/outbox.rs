//! The outbox has no gap a tower waits at forever: a failed write is skipped, and sequence
//! numbers go on after a restart where the towers left off.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use lightning::ln::types::ChannelId;

use super::*;
use crate::tower::delivery::{deliver_once, Courier, TowerLink};

fn seqs(outbox: &Outbox, from: u64) -> Vec<u64> {
	outbox.read_from(from, 100).unwrap().0.iter().map(|e| e.seq).collect()
}

#[tokio::test]
async fn a_failed_write_leaves_no_gap_to_wait_at() {
	let store = FailingStore::new("fulgur_tower_outbox");
	let dyn_store: Arc<DynStore> = store.clone();
	let outbox = Outbox::open(Arc::clone(&dyn_store)).unwrap();
	append(&outbox, 7, 0).await;
	store.failing.store(true, Ordering::SeqCst);
	let appointment = Appointment::new(Locator::from([1; 16]), vec![1; 100], 144);
	let revoked = RevokedRecord {
		channel_id: "07".repeat(32),
		commitment_txid: "11".repeat(32),
		justice_txid: "22".repeat(32),
		justice_value_sat: 1000,
		htlc_outputs: 0,
	};
	let mut failed = 0;
	if let Ok(writes) = outbox.append(&ChannelId([7; 32]), 1, appointment, &revoked) {
		for write in writes {
			failed += usize::from(write.await.is_err());
		}
	}
	assert!(failed > 0, "the disk is full");
	store.failing.store(false, Ordering::SeqCst);
	append(&outbox, 7, 2).await;
	append(&outbox, 7, 3).await;
	let read = seqs(&outbox, 0);
	assert_eq!(read.len(), 3, "every entry written is read, past the failed one: {read:?}");
	assert_eq!(seqs(&Outbox::open(dyn_store).unwrap(), 0), read, "and again after a restart");
}

#[tokio::test]
async fn a_reader_waits_at_an_entry_still_being_written() {
	let store = FailingStore::new("fulgur_tower_outbox");
	let outbox = Outbox::open(store.clone()).unwrap();
	append(&outbox, 7, 0).await;
	store.deferred.store(true, Ordering::SeqCst);
	let appointment = Appointment::new(Locator::from([1; 16]), vec![1; 100], 144);
	let revoked = RevokedRecord {
		channel_id: "07".repeat(32),
		commitment_txid: "11".repeat(32),
		justice_txid: "22".repeat(32),
		justice_value_sat: 1000,
		htlc_outputs: 0,
	};
	let writes = outbox.append(&ChannelId([7; 32]), 1, appointment, &revoked).unwrap();
	store.deferred.store(false, Ordering::SeqCst);
	append(&outbox, 7, 2).await;
	let (entries, next) = outbox.read_from(0, 100).unwrap();
	assert_eq!((entries.len(), next), (1, 1), "entry 1 is on its way: wait for it");
	for write in writes {
		write.await.unwrap();
	}
	assert_eq!(seqs(&outbox, 0), vec![0, 1, 2]);
}

#[tokio::test]
async fn appointments_made_after_a_restart_reach_the_tower() {
	let dir = tempfile::tempdir().unwrap();
	let store = memory_store();
	let tower = FakeTower::start(Signing::By(key(2)), Signing::By(key(2))).await;
	let start = || {
		let outbox = Outbox::open(Arc::clone(&store)).unwrap();
		let link = TowerLink::load(&tower.url, &store, outbox.head()).unwrap();
		Courier::new(outbox, key(1), vec![Arc::new(link)], logger(&dir))
	};
	let courier = start();
	append(&courier.outbox, 7, 0).await;
	append(&courier.outbox, 7, 1).await;
	assert_eq!(deliver_once(&courier.links[0], &courier).await, Ok(2));
	assert!(seqs(&courier.outbox, 0).is_empty(), "delivered everywhere: pruned");

	// Restarted with an empty outbox: a new appointment still goes out.
	drop(courier);
	let courier = start();
	append(&courier.outbox, 7, 2).await;
	assert_eq!(deliver_once(&courier.links[0], &courier).await, Ok(1));
	assert_eq!(tower.appointments.load(Ordering::SeqCst), 3);
}
