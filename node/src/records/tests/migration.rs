//! The migration's promises: a record of a newer version stops the load (and an event log a
//! newer fulgur appended to is not opened) instead of being misread; a migration cut short
//! loses no record, and the next load finishes it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use lightning::util::persist::KVStoreSync;

use super::expected_4253d99 as expected;
use crate::journal::Journal;
use crate::model::InvoiceRecord;
use crate::records::version;
use crate::records::RecordStore;
use crate::store::{kvstore_inline_from_sync, DynStore, NodeStore, SledStore, StoreStats};

/// A newer fulgur renamed `amount_msat` (version 4): read as version 3 it would be amountless.
const NEWER_INVOICE: &str = r#"{"v":4,"payment_hash":"1a","bolt11":"lnbcrt10u1pjopen","description":"coffee","amount":{"msat":1000000},"amount_received_msat":null,"created_at":1764590000,"expires_at":1764593600,"paid_at":null,"preimage":null,"status":"open","hold":false,"claim_deadline":null,"add_index":1,"settle_index":null}"#;

#[tokio::test]
async fn a_record_of_a_newer_version_is_refused() {
	let dir = tempfile::tempdir().expect("tempdir");
	let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("open"));
	let bytes = NEWER_INVOICE.as_bytes().to_vec();
	KVStoreSync::write(&*store, "fulgur_invoices", "", "1a", bytes).expect("write");
	let loaded = RecordStore::<InvoiceRecord>::load(Arc::clone(&store), "fulgur_invoices").await;
	match loaded {
		Err(e) => {
			let message = e.to_string();
			assert_eq!(e.code(), "persistence_failed", "{message}");
			assert!(message.contains("fulgur_invoices/1a"), "{message}");
			assert!(message.contains("version 4") && message.contains("up to 3"), "{message}");
		}
		Ok(records) => panic!("read as {:?}", records.get("1a")),
	}
	// Refused, not touched.
	let kept = KVStoreSync::read(&*store, "fulgur_invoices", "", "1a").expect("read");
	assert_eq!(kept, NEWER_INVOICE.as_bytes());
}

#[tokio::test]
async fn an_event_log_of_a_newer_version_is_refused() {
	let dir = tempfile::tempdir().expect("tempdir");
	let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("open"));
	let older = r#"{"index":1,"timestamp":1796128398,"type":"peer_disconnected","node_id":"02aa"}"#;
	let newer = r#"{"v":4,"index":2,"timestamp":1796128399,"type":"peer_connected","node":{"id":"02aa"},"inbound":true}"#;
	for (key, value) in [("00000000000000000001", older), ("00000000000000000002", newer)] {
		let bytes = value.as_bytes().to_vec();
		KVStoreSync::write(&*store, "fulgur_events", "", key, bytes).expect("write");
	}
	match Journal::open(Arc::clone(&store)) {
		Err(e) => assert!(e.to_string().contains("version 4"), "{e}"),
		Ok(journal) => panic!("opened; reads {:?}", journal.read(0, 10)),
	}
}

/// A store that fails every write after the first `writes_left`, as a node killed there
/// would have stopped writing: what the writes before left is what a restart finds.
struct KilledAfter {
	inner: SledStore,
	writes_left: AtomicUsize,
}

impl KVStoreSync for KilledAfter {
	fn read(&self, primary: &str, secondary: &str, key: &str) -> lightning::io::Result<Vec<u8>> {
		KVStoreSync::read(&self.inner, primary, secondary, key)
	}

	fn write(
		&self, primary: &str, secondary: &str, key: &str, buf: Vec<u8>,
	) -> lightning::io::Result<()> {
		let left =
			self.writes_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
		if left.is_err() {
			return Err(lightning::io::Error::new(lightning::io::ErrorKind::Other, "killed"));
		}
		KVStoreSync::write(&self.inner, primary, secondary, key, buf)
	}

	fn remove(
		&self, primary: &str, secondary: &str, key: &str, lazy: bool,
	) -> lightning::io::Result<()> {
		KVStoreSync::remove(&self.inner, primary, secondary, key, lazy)
	}

	fn list(&self, primary: &str, secondary: &str) -> lightning::io::Result<Vec<String>> {
		KVStoreSync::list(&self.inner, primary, secondary)
	}
}

kvstore_inline_from_sync!(KilledAfter);

impl NodeStore for KilledAfter {
	fn stats(&self) -> StoreStats {
		self.inner.stats()
	}
}

#[tokio::test]
async fn a_migration_cut_short_loses_nothing_and_the_next_start_finishes_it() {
	let dir = tempfile::tempdir().expect("tempdir");
	let invoices = expected::invoices();
	{
		// Records as fulgur before versions wrote them (the domain types' JSON, version 1).
		let store = SledStore::open(dir.path()).expect("open");
		for invoice in &invoices {
			let bytes = serde_json::to_vec(invoice).expect("json");
			KVStoreSync::write(&store, "fulgur_invoices", "", &invoice.payment_hash, bytes)
				.expect("write");
		}
	}
	let versions = |store: &SledStore| -> Vec<u32> {
		let mut keys = KVStoreSync::list(store, "fulgur_invoices", "").expect("list");
		keys.sort();
		let read = |key: &String| KVStoreSync::read(store, "fulgur_invoices", "", key);
		keys.iter().map(|key| version::version_of(&read(key).expect("read")).expect("v")).collect()
	};
	{
		let killed = KilledAfter {
			inner: SledStore::open(dir.path()).expect("open"),
			writes_left: AtomicUsize::new(2),
		};
		let store: Arc<DynStore> = Arc::new(killed);
		let cut = RecordStore::<InvoiceRecord>::load(store, "fulgur_invoices").await;
		let message = cut.map(|_| ()).map_err(|e| e.to_string()).expect_err("killed");
		assert!(message.contains("migrating fulgur_invoices/"), "{message}");
	}
	// Restart: every record is there, two rewritten, the rest as they were.
	let sled = SledStore::open(dir.path()).expect("reopen");
	let mut found = versions(&sled);
	found.sort();
	assert_eq!(found, vec![1, 1, 1, 3, 3]);
	let store: Arc<DynStore> = Arc::new(sled.clone());
	let records = RecordStore::<InvoiceRecord>::load(store, "fulgur_invoices").await.expect("load");
	assert_eq!(records.all().len(), invoices.len());
	for invoice in &invoices {
		assert_eq!(records.get(&invoice.payment_hash).as_ref(), Some(invoice));
	}
	assert_eq!(versions(&sled), vec![3; invoices.len()]);
	// And what the finished migration wrote reads back the same after a restart.
	drop(records);
	let store: Arc<DynStore> = Arc::new(sled);
	let records = RecordStore::<InvoiceRecord>::load(store, "fulgur_invoices").await.expect("load");
	let mut all = records.all();
	all.sort_by(|a, b| a.payment_hash.cmp(&b.payment_hash));
	assert_eq!(all, invoices);
}
