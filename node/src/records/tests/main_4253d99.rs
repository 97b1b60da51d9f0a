//! A store written by main `4253d99` (the raw values of `main-4253d99.json`, dumped from the
//! sled store main wrote them to) opened by this code: every record of every family, and
//! every event kind, reads back field for field; the load migrates the records to version 2,
//! which is version 1 with `"v":2` in front (the layout pinned by main's own bytes), webhook
//! registrations to version 3 (the same, `"v":3`, and `"ca_cert_pem":null`) and invoices to
//! version 3 (`"v":3`, then their counters, numbered in creation and payment order); events
//! stay as main wrote them and the log goes on after them.

use std::collections::BTreeMap;
use std::sync::Arc;

use lightning::util::persist::KVStoreSync;
use serde::Deserialize;

use super::expected_4253d99 as expected;
use crate::api_keys::{ApiKeyInfo, ApiKeys, ApiScope};
use crate::journal::{EventRecord, Journal, NodeEvent};
use crate::model::{InvoiceRecord, PaymentRecord};
use crate::payment::indexes::InvoiceIndexes;
use crate::peers::PeerRecord;
use crate::records::version::{self, StoredRecord};
use crate::records::{Record, RecordStore};
use crate::store::{DynStore, SledStore};
use crate::webhooks::{DeliveryState, WebhookInfo, Webhooks};

/// The dump of main's store.
const FIXTURE: &str = include_str!("main-4253d99.json");
/// When main's journal recorded the events and created the keys and webhooks.
const RECORDED_AT: u64 = 1_796_128_398;
/// The key secrets main printed when it created them (`main-4253d99.generator.txt`).
const KEY_SECRETS: [(&str, &str); 3] = [
	("6b4ca1eb0eea107a", "002d4ffda345c1574d89f91a70c48c85cc637fb8ad04dc5a38d553f885516cd1"),
	("385cfd2261fa8805", "611b8498923ce4a1c7590d2018c11c9e45401b94f5fdf74b551810199fd4c19e"),
	("73aa8d91f8ed5362", "fb3a15aaa561665e43126903c0b1f47204d4f21722b8991f84c6172f75d82d45"),
];
/// The webhook secrets main printed.
const HOOK_SECRETS: [(&str, &str); 2] = [
	("537bb3c1b39918e3", "whsec_c092037aae2d1ab9863185127682c2e446106039a193d1b80fc8bc6f2e0dfa67"),
	("c2d90f1a5d1c9607", "whsec_5ac5ac2f97b9982ecae92305f7b9b34ec64bf6a5e88084847f5fbbca554d22d7"),
];

#[derive(Deserialize)]
struct Entry {
	namespace: String,
	key: String,
	value: String,
}

/// Main's values, by namespace and key.
fn main_values() -> BTreeMap<(String, String), String> {
	let entries: Vec<Entry> = serde_json::from_str(FIXTURE).expect("fixture");
	entries.into_iter().map(|e| ((e.namespace, e.key), e.value)).collect()
}

/// A sled store holding exactly main's values, reopened from disk.
fn main_store(dir: &std::path::Path) -> SledStore {
	{
		let store = SledStore::open(dir).expect("open");
		for ((namespace, key), value) in main_values() {
			let bytes = value.into_bytes();
			KVStoreSync::write(&store, &namespace, "", &key, bytes).expect("write");
		}
	}
	SledStore::open(dir).expect("reopen")
}

fn raw(store: &SledStore, namespace: &str, key: &str) -> String {
	let bytes = KVStoreSync::read(store, namespace, "", key).expect("read");
	String::from_utf8(bytes).expect("utf8")
}

/// Version 2 of a version 1 record: the same bytes, `"v":2` in front.
fn tagged(v1: &str) -> String {
	tagged_as(2, v1)
}

/// A version 1 record with `"v":version` in front: the layouts that only added kinds.
fn tagged_as(version: u32, v1: &str) -> String {
	format!("{{\"v\":{version},{}", v1.strip_prefix('{').expect("an object"))
}

/// Version 3 of a version 1 invoice: `"v":3` in front, its counters at the end.
fn invoice_v3(v1: &str, add_index: u64, settle_index: Option<u64>) -> String {
	let fields = v1.strip_prefix('{').and_then(|f| f.strip_suffix('}')).expect("an object");
	let settle = settle_index.map_or("null".to_string(), |i| i.to_string());
	format!("{{\"v\":3,{fields},\"add_index\":{add_index},\"settle_index\":{settle}}}")
}

/// The counters main's invoices get: added in creation order, the paid one settled first.
fn numbered(mut invoices: Vec<InvoiceRecord>) -> Vec<InvoiceRecord> {
	invoices.sort_by_key(|r| r.created_at);
	for (n, invoice) in invoices.iter_mut().enumerate() {
		invoice.add_index = n as u64 + 1;
	}
	let paid = invoices.iter_mut().filter(|r| r.status == crate::model::InvoiceStatus::Paid);
	for (n, invoice) in paid.enumerate() {
		invoice.settle_index = Some(n as u64 + 1);
	}
	invoices
}

/// Version 3 of a version 1 webhook registration: `"v":3` in front, `"ca_cert_pem":null` at
/// the end.
fn webhook_v3(v1: &str) -> String {
	let fields = v1.strip_prefix('{').and_then(|f| f.strip_suffix('}')).expect("an object");
	format!("{{\"v\":3,{fields},\"ca_cert_pem\":null}}")
}

async fn loads_as<T: Record + PartialEq + std::fmt::Debug>(
	store: &Arc<DynStore>, namespace: &'static str, expected: Vec<T>, id: impl Fn(&T) -> String,
) -> Arc<RecordStore<T>> {
	let records = RecordStore::<T>::load(Arc::clone(store), namespace).await.expect(namespace);
	assert_eq!(records.all().len(), expected.len(), "{namespace}");
	for record in expected {
		assert_eq!(records.get(&id(&record)).as_ref(), Some(&record), "{namespace}");
	}
	records
}

#[tokio::test]
async fn a_store_written_by_main_4253d99_reads_back_field_for_field_and_migrates() {
	let dir = tempfile::tempdir().expect("tempdir");
	let sled = main_store(dir.path());
	let store: Arc<DynStore> = Arc::new(sled.clone());
	let main = main_values();
	let records = main.iter().filter(|((namespace, _), _)| namespace != "fulgur_event_once");
	assert_eq!(records.clone().count(), 34);
	assert!(records.map(|(_, v)| v).all(|v| version::version_of(v.as_bytes()) == Ok(1)));

	let hash = |r: &InvoiceRecord| r.payment_hash.clone();
	let id = |r: &PaymentRecord| r.payment_id.clone();
	let node = |r: &PeerRecord| r.node_id.clone();
	let invoices = loads_as(&store, "fulgur_invoices", expected::invoices(), hash).await;
	InvoiceIndexes::load(&invoices).await.expect("numbering");
	let numbered_invoices = numbered(expected::invoices());
	assert_eq!(numbered_invoices.iter().filter(|r| r.settle_index.is_some()).count(), 1);
	for invoice in &numbered_invoices {
		assert_eq!(invoices.get(&invoice.payment_hash).as_ref(), Some(invoice));
	}
	loads_as(&store, "fulgur_payments", expected::outbound(), id).await;
	loads_as(&store, "fulgur_payments_inbound", expected::inbound(), id).await;
	loads_as(&store, "fulgur_peers", expected::peers(), node).await;

	let keys = ApiKeys::load(Arc::clone(&store)).await.expect("keys");
	let key = |id: &str, scope, label: Option<&str>| ApiKeyInfo {
		id: id.into(),
		scope,
		label: label.map(String::from),
		created_at: RECORDED_AT,
	};
	let readonly = key("385cfd2261fa8805", ApiScope::Readonly, None);
	let shop = key("6b4ca1eb0eea107a", ApiScope::Invoice, Some("shop"));
	let ops = key("73aa8d91f8ed5362", ApiScope::Admin, Some("ops"));
	assert_eq!(keys.list(), vec![readonly, shop.clone(), ops.clone()]);
	for (id, secret) in KEY_SECRETS {
		assert_eq!(keys.authenticate(secret).map(|k| k.id), Some(id.to_string()));
	}
	assert_eq!(keys.authenticate(KEY_SECRETS[0].1), Some(shop));

	let hooks = Webhooks::load(Arc::clone(&store)).await.expect("webhooks");
	let all = WebhookInfo {
		id: "537bb3c1b39918e3".into(),
		url: "http://127.0.0.1:8080/all".into(),
		events: vec![],
		created_at: RECORDED_AT,
		delivery: DeliveryState { next_index: 17, ..DeliveryState::default() },
	};
	let some = WebhookInfo {
		id: "c2d90f1a5d1c9607".into(),
		url: "http://shop.example/hook?x=1".into(),
		events: vec!["invoice_paid".into(), "payment_failed".into()],
		created_at: RECORDED_AT,
		delivery: DeliveryState {
			next_index: 3,
			delivered: 2,
			failed_attempts: 4,
			last_error: Some("receiver answered 503 Service Unavailable".into()),
			next_attempt_at: Some(1_764_590_999),
		},
	};
	assert_eq!(hooks.list(), vec![all, some]);
	for (id, secret) in HOOK_SECRETS {
		assert_eq!(hooks.secret(id).as_deref(), Some(secret));
	}

	let journal = Journal::open(Arc::clone(&store)).expect("journal");
	let events: Vec<EventRecord> = expected::events()
		.into_iter()
		.enumerate()
		.map(|(i, event)| EventRecord { index: i as u64 + 1, timestamp: RECORDED_AT, event })
		.collect();
	assert_eq!((journal.latest(), journal.total(), journal.oldest()), (16, 16, 1));
	assert_eq!(journal.read(0, 100).expect("read"), events);
	// What main recorded once stays recorded once.
	for event in &events {
		if event.event.once_key().is_some() {
			assert_eq!(journal.recorded(&event.event).expect("recorded").as_ref(), Some(event));
			assert_eq!(journal.append(event.event.clone()).await.expect("append"), None);
		}
	}
	let peer = NodeEvent::PeerDisconnected { node_id: expected::peers()[0].node_id.clone() };
	assert_eq!(journal.append(peer.clone()).await.expect("append"), Some(17));
	let next = journal.read(16, 10).expect("read");
	assert_eq!(next.iter().map(|e| (e.index, &e.event)).collect::<Vec<_>>(), vec![(17, &peer)]);

	// On disk now: records in version 2 (webhooks and payments 3), main's bytes tagged; events
	// as main wrote them, and the new one in version 3 in the same layout.
	for ((namespace, key), v1) in &main {
		let now = raw(&sled, namespace, key);
		match namespace.as_str() {
			"fulgur_events" | "fulgur_event_once" => assert_eq!(&now, v1, "{namespace}/{key}"),
			// Registrations are version 3: version 1's fields, then no CA.
			"fulgur_webhooks" => assert_eq!(now, webhook_v3(v1), "{namespace}/{key}"),
			// Invoices are version 3: version 1's fields, then their counters.
			"fulgur_invoices" => {
				let invoice = numbered_invoices.iter().find(|r| &r.payment_hash == key);
				let invoice = invoice.expect("a numbered invoice");
				let v3 = invoice_v3(v1, invoice.add_index, invoice.settle_index);
				assert_eq!(now, v3, "{namespace}/{key}");
			}
			// Payments are version 3: version 1's fields, and one more kind (`rebalance`).
			"fulgur_payments" | "fulgur_payments_inbound" => {
				assert_eq!(now, tagged_as(3, v1), "{namespace}/{key}")
			}
			_ => assert_eq!(now, tagged(v1), "{namespace}/{key}"),
		}
	}
	for record in &events {
		let stored = crate::journal::stored_form(record);
		let v1 = &main[&("fulgur_events".to_string(), format!("{:020}", record.index))];
		let stored = String::from_utf8(stored).expect("utf8");
		assert_eq!(stored, tagged_as(3, v1), "event {}", record.index);
	}
	let appended = raw(&sled, "fulgur_events", &format!("{:020}", 17));
	assert_eq!(version::version_of(appended.as_bytes()), Ok(3));
	assert!(appended.starts_with("{\"v\":3,\"index\":17,\"timestamp\":"), "{appended}");
	assert_eq!(<InvoiceRecord as Record>::Stored::VERSION, 3);
	drop((keys, hooks, journal, invoices, store));

	// Migrated once: a second start reads the same and writes nothing.
	let writes = sled.stats().writes;
	let store: Arc<DynStore> = Arc::new(sled.clone());
	let invoices = loads_as(&store, "fulgur_invoices", numbered_invoices, hash).await;
	InvoiceIndexes::load(&invoices).await.expect("numbering");
	loads_as(&store, "fulgur_payments", expected::outbound(), id).await;
	loads_as(&store, "fulgur_payments_inbound", expected::inbound(), id).await;
	loads_as(&store, "fulgur_peers", expected::peers(), node).await;
	ApiKeys::load(Arc::clone(&store)).await.expect("keys");
	Webhooks::load(Arc::clone(&store)).await.expect("webhooks");
	assert_eq!(sled.stats().writes, writes);
}
