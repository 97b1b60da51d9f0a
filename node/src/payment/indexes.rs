//! The invoices' stored counters: `add_index` (the order invoices were added) and
//! `settle_index` (the order they were paid), as LND numbers invoices for clients that resume
//! a subscription from them.
//!
//! Invariants: an invoice's `add_index` is assigned once, when it is created, and its
//! `settle_index` once, when it turns paid; neither changes after. Each is larger than every
//! one assigned before it (the last ones assigned are the largest stored: invoices are never
//! deleted), so they survive a restart. A value is taken and the record's write issued under
//! one lock, so the store applies them in counter order and an invoice is durable when one
//! with a larger index is. A failed write leaves its value unused (a gap, never a repeat).
//! Records stored before the counters existed get them at load, added in creation order
//! and paid ones in payment order (ties by payment hash), after those already numbered: the
//! same store always gets the same numbers, and a load cut short is finished by the next.

use std::sync::Mutex;

use tokio::sync::watch;

use crate::model::{InvoiceRecord, InvoiceStatus};
use crate::records::RecordStore;
use crate::NodeError;

/// The last counter values handed out.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Last {
	add: u64,
	settle: u64,
}

/// The counters of the node's invoices.
pub(crate) struct InvoiceIndexes {
	last: Mutex<Last>,
	/// The largest `add_index` of an invoice durable in the store.
	added: watch::Sender<u64>,
}

impl InvoiceIndexes {
	/// The counters of `invoices` (loaded), numbering the records that have none yet (durable
	/// when this returns).
	pub(crate) async fn load(invoices: &RecordStore<InvoiceRecord>) -> Result<Self, NodeError> {
		let all = invoices.all();
		let mut last = Last {
			add: all.iter().map(|r| r.add_index).max().unwrap_or(0),
			settle: all.iter().filter_map(|r| r.settle_index).max().unwrap_or(0),
		};
		// Written in counter order, added ones before paid ones: a load cut short leaves a
		// prefix of each numbering, and the next one numbers the rest as this one would have.
		let mut unnumbered: Vec<InvoiceRecord> =
			all.into_iter().filter(|r| r.add_index == 0).collect();
		unnumbered
			.sort_by(|a, b| (a.created_at, &a.payment_hash).cmp(&(b.created_at, &b.payment_hash)));
		for record in &mut unnumbered {
			last.add += 1;
			record.add_index = last.add;
		}
		invoices
			.put_all(unnumbered.into_iter().map(|r| (r.payment_hash.clone(), r)).collect())
			.await?;
		let mut unsettled: Vec<InvoiceRecord> = invoices
			.all()
			.into_iter()
			.filter(|r| r.status == InvoiceStatus::Paid && r.settle_index.is_none())
			.collect();
		unsettled.sort_by(|a, b| {
			(a.paid_at.unwrap_or(0), &a.payment_hash)
				.cmp(&(b.paid_at.unwrap_or(0), &b.payment_hash))
		});
		for record in &mut unsettled {
			last.settle += 1;
			record.settle_index = Some(last.settle);
		}
		invoices
			.put_all(unsettled.into_iter().map(|r| (r.payment_hash.clone(), r)).collect())
			.await?;
		let (added, _) = watch::channel(last.add);
		Ok(InvoiceIndexes { last: Mutex::new(last), added })
	}

	/// Stores a new invoice under the next `add_index` (set in the record returned).
	pub(crate) async fn add(
		&self, invoices: &RecordStore<InvoiceRecord>, mut record: InvoiceRecord,
	) -> Result<InvoiceRecord, NodeError> {
		let stored = invoices
			.put_ordered(&self.last, |last| {
				last.add += 1;
				record.add_index = last.add;
				(record.payment_hash.clone(), record)
			})
			.await?;
		self.added.send_modify(|durable| *durable = (*durable).max(stored.add_index));
		Ok(stored)
	}

	/// Changes an invoice as [`RecordStore::update`] does; one that turns paid takes the next
	/// `settle_index` (one paid before keeps its own).
	pub(crate) async fn update(
		&self, invoices: &RecordStore<InvoiceRecord>, hash: &str,
		change: impl FnOnce(&mut InvoiceRecord) -> bool,
	) -> Result<Option<InvoiceRecord>, NodeError> {
		invoices
			.update_ordered(&self.last, hash, |record, last| {
				if !change(record) {
					return false;
				}
				if record.status == InvoiceStatus::Paid && record.settle_index.is_none() {
					last.settle += 1;
					record.settle_index = Some(last.settle);
				}
				true
			})
			.await
	}

	/// The largest `add_index` of an invoice durable in the store.
	pub(crate) fn durable_add_index(&self) -> u64 {
		*self.added.borrow()
	}

	/// The largest `add_index` durable, changing as invoices are added.
	pub(crate) fn subscribe_added(&self) -> watch::Receiver<u64> {
		self.added.subscribe()
	}
}

#[cfg(test)]
mod tests {
	use std::sync::Arc;

	use lightning::util::persist::KVStoreSync;

	use super::*;
	use crate::store::{DynStore, SledStore};

	const NAMESPACE: &str = "fulgur_invoices";

	fn invoice(hash_byte: &str, created_at: u64) -> InvoiceRecord {
		InvoiceRecord {
			payment_hash: hash_byte.repeat(32),
			bolt11: format!("lnbcrt1{hash_byte}"),
			description: String::new(),
			amount_msat: Some(1000),
			amount_received_msat: None,
			created_at,
			expires_at: created_at + 3600,
			paid_at: None,
			preimage: None,
			status: InvoiceStatus::Open,
			hold: false,
			claim_deadline: None,
			add_index: 0,
			settle_index: None,
		}
	}

	async fn open(dir: &std::path::Path) -> (Arc<RecordStore<InvoiceRecord>>, InvoiceIndexes) {
		let store: Arc<DynStore> = Arc::new(SledStore::open(dir).expect("open"));
		let invoices = RecordStore::load(store, NAMESPACE).await.expect("load");
		let indexes = InvoiceIndexes::load(&invoices).await.expect("indexes");
		(invoices, indexes)
	}

	fn pay(record: &mut InvoiceRecord) -> bool {
		record.status = InvoiceStatus::Paid;
		record.paid_at = Some(record.created_at + 1);
		true
	}

	fn index_of(invoices: &RecordStore<InvoiceRecord>, hash_byte: &str) -> (u64, Option<u64>) {
		let record = invoices.get(&hash_byte.repeat(32)).expect("the invoice");
		(record.add_index, record.settle_index)
	}

	#[tokio::test]
	async fn counters_only_grow_survive_a_restart_and_a_settle_takes_the_next() {
		let dir = tempfile::tempdir().expect("tempdir");
		{
			let (invoices, indexes) = open(dir.path()).await;
			let mut added = indexes.subscribe_added();
			for (n, byte) in ["aa", "bb", "cc"].into_iter().enumerate() {
				// Created in any time order: the counter, not the clock, orders them.
				let stored = indexes.add(&invoices, invoice(byte, 100 - n as u64)).await;
				assert_eq!(stored.expect("add").add_index, n as u64 + 1);
			}
			assert!(added.has_changed().expect("open"));
			assert_eq!(*added.borrow_and_update(), 3);
			let paid = indexes.update(&invoices, &"bb".repeat(32), pay).await.expect("update");
			assert_eq!(paid.map(|r| (r.add_index, r.settle_index)), Some((2, Some(1))));
			// Paid again (LDK replays the claim): the index stays.
			indexes.update(&invoices, &"bb".repeat(32), pay).await.expect("update");
			assert_eq!(index_of(&invoices, "bb"), (2, Some(1)));
			// A change that is not a payment takes no settle_index.
			let cc = "cc".repeat(32);
			let canceled = indexes.update(&invoices, &cc, |r| {
				r.status = InvoiceStatus::Canceled;
				true
			});
			assert_eq!(canceled.await.expect("update").and_then(|r| r.settle_index), None);
			assert_eq!(indexes.update(&invoices, &"dd".repeat(32), pay).await.expect("no"), None);
		}
		let (invoices, indexes) = open(dir.path()).await;
		assert_eq!(index_of(&invoices, "aa"), (1, None));
		assert_eq!(index_of(&invoices, "bb"), (2, Some(1)));
		assert_eq!(index_of(&invoices, "cc"), (3, None));
		assert_eq!(indexes.durable_add_index(), 3);
		let next = indexes.add(&invoices, invoice("dd", 1)).await.expect("add");
		assert_eq!(next.add_index, 4, "after a restart, after the last one");
		let paid = indexes.update(&invoices, &"aa".repeat(32), pay).await.expect("update");
		assert_eq!(paid.and_then(|r| r.settle_index), Some(2));
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
	async fn concurrent_adds_take_distinct_indexes() {
		let dir = tempfile::tempdir().expect("tempdir");
		let (invoices, indexes) = open(dir.path()).await;
		let indexes = Arc::new(indexes);
		let mut tasks = Vec::new();
		for n in 0..32u8 {
			let (invoices, indexes) = (Arc::clone(&invoices), Arc::clone(&indexes));
			tasks.push(tokio::spawn(async move {
				let record = invoice(&format!("{n:02x}"), 1);
				indexes.add(&invoices, record).await.expect("add").add_index
			}));
		}
		let mut taken = Vec::new();
		for task in tasks {
			taken.push(task.await.expect("task"));
		}
		taken.sort_unstable();
		assert_eq!(taken, (1..=32).collect::<Vec<u64>>());
		assert_eq!(indexes.durable_add_index(), 32);
	}

	#[tokio::test]
	async fn records_without_counters_are_numbered_in_creation_and_payment_order() {
		let dir = tempfile::tempdir().expect("tempdir");
		let mut old =
			vec![invoice("cc", 30), invoice("aa", 10), invoice("bb", 10), invoice("dd", 5)];
		// "aa" paid after "dd".
		pay(&mut old[1]);
		old[1].paid_at = Some(50);
		pay(&mut old[3]);
		{
			let store = SledStore::open(dir.path()).expect("open");
			for record in &old {
				// Version 2, as fulgur stored invoices before the counters.
				let stored = crate::records::stored::invoice::StoredInvoiceV2::from(record);
				let mut bytes = serde_json::to_value(stored).expect("json");
				bytes["v"] = 2.into();
				let bytes = serde_json::to_vec(&bytes).expect("bytes");
				KVStoreSync::write(&store, NAMESPACE, "", &record.payment_hash, bytes).expect("w");
			}
		}
		let (invoices, _) = open(dir.path()).await;
		assert_eq!(index_of(&invoices, "dd"), (1, Some(1)));
		assert_eq!(index_of(&invoices, "aa"), (2, Some(2)), "same second as bb: by hash");
		assert_eq!(index_of(&invoices, "bb"), (3, None));
		assert_eq!(index_of(&invoices, "cc"), (4, None));
		drop(invoices);
		// Numbered once: a second start keeps the numbers and continues after them.
		let (invoices, indexes) = open(dir.path()).await;
		assert_eq!(index_of(&invoices, "aa"), (2, Some(2)));
		assert_eq!(indexes.add(&invoices, invoice("ee", 1)).await.expect("add").add_index, 5);
	}
}
