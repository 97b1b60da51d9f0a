//! What a stranger, a retry or a crash can do to our payment records: a keysend reusing the
//! preimage of a payment we made leaves our record alone, a payment written but never handed
//! to LDK turns `failed` at start, and paying twice (concurrently, or retrying a keysend with
//! the same payment id) is one payment.

use std::path::Path;
use std::sync::Arc;

use bitcoin::hex::{DisplayHex, FromHex};
use fulgur_api::client::Method;
use fulgur_api::wire::invoices::InvoiceStatus;
use fulgur_api::wire::payments::{
	PayRequest, PaymentDirection, PaymentKind, PaymentRecord, PaymentStatus,
};
use fulgur_base::clock::unix_now;
use fulgur_node::store::SledStore;
use fulgur_node::PaymentPreimage;
use fulgur_tests::TestNet;
use lightning::util::persist::KVStoreSync;
use serde_json::json;

fn pay_request(invoice: &str) -> PayRequest {
	PayRequest { invoice: invoice.to_string(), amount_msat: None, max_fee_msat: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keysend_with_the_preimage_of_our_payment_leaves_our_record_alone() {
	let mut net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("alice", "bob", 1_000_000, 100_000_000).await;
	let alice = net.api("alice");
	let invoice =
		net.api("bob").create_invoice(Some(25_000_000), "paid once", None).await.expect("invoice");
	let paid = alice.pay(&pay_request(&invoice.bolt11), true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	let preimage = paid.preimage.clone().expect("preimage");

	// bob, the payee, knows the preimage now: he keysends alice 1 msat with it, under the hash
	// that is also the id of alice's payment.
	let alice_id = net.node("alice").node.node_id();
	let known = PaymentPreimage(<[u8; 32]>::from_hex(&preimage).expect("hex preimage"));
	let sent = net.node("bob").node.keysend_with_preimage(alice_id, 1, known).await;
	assert_eq!(sent.expect("keysend").status, fulgur_node::PaymentStatus::Succeeded);
	let inbound_of = |payments: &[PaymentRecord]| {
		payments.iter().find(|p| p.direction == PaymentDirection::Inbound).cloned()
	};
	net.wait_for("alice records the 1 msat she received", || async {
		let page = alice.list_payments(&Default::default()).await.expect("list");
		inbound_of(&page.payments).is_some()
	})
	.await;

	// Our payment reads as it did: outbound, succeeded, with its amount and fee.
	let ours = alice.get_payment(&paid.payment_id).await.expect("our payment");
	assert_eq!(ours, paid, "our outbound record changed");
	// The 1 msat is recorded apart, and both are listed.
	let page = alice.list_payments(&Default::default()).await.expect("list");
	assert_eq!(page.total, 2, "{:?}", page.payments);
	let received = inbound_of(&page.payments).expect("inbound record");
	assert_eq!(received.amount_msat, Some(1), "{received:?}");
	assert_eq!(received.kind, PaymentKind::Keysend, "{received:?}");
	assert_eq!(received.payment_hash.as_deref(), Some(invoice.payment_hash.as_str()));
	assert!(page.payments.contains(&paid), "{:?}", page.payments);

	// Both survive a restart apart.
	net.restart("alice").await;
	let alice = net.api("alice");
	assert_eq!(alice.get_payment(&paid.payment_id).await.expect("our payment"), paid);
	let page = alice.list_payments(&Default::default()).await.expect("list");
	assert_eq!(page.total, 2, "{:?}", page.payments);
	assert_eq!(inbound_of(&page.payments), Some(received));
	net.shutdown().await;
}

/// Opens a stopped node's store, waiting until the node let go of it.
async fn open_store_of_stopped_node(net: &TestNet, dir: &Path) -> SledStore {
	let mut store = None;
	net.wait_for("the stopped node's store is free", || {
		let opened = SledStore::open(&dir.join("db")).ok();
		let free = opened.is_some();
		if free {
			store = opened;
		}
		async move { free }
	})
	.await;
	store.expect("store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payment_recorded_but_never_sent_reads_failed_after_restart() {
	let mut net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("alice", "bob", 1_000_000, 0).await;
	let bob = net.api("bob");

	// A payment LDK knows and keeps in flight over the restart: bob holds it.
	let held_preimage = [7u8; 32].to_lower_hex_string();
	let held_hash = {
		use bitcoin::hashes::{sha256, Hash};
		sha256::Hash::hash(&[7u8; 32]).to_byte_array().to_lower_hex_string()
	};
	let held =
		bob.create_hold_invoice(&held_hash, Some(5_000_000), "held", None).await.expect("hold");
	let started = net.api("alice").pay(&pay_request(&held.bolt11), false).await.expect("pay");
	assert_eq!(started.status, PaymentStatus::Pending);
	net.wait_for("bob holds the payment", || async {
		bob.get_invoice(&held_hash).await.is_ok_and(|i| i.status == InvoiceStatus::Accepted)
	})
	.await;

	// The crash window: alice wrote her record of paying `lost`, then died before LDK heard
	// of the payment. The record is written into her stopped node's store.
	let lost = bob.create_invoice(Some(3_000_000), "lost", None).await.expect("invoice");
	let (index, node) = net.take("alice");
	let dir = node.data_dir.clone();
	node.stop().await;
	{
		let store = open_store_of_stopped_node(&net, &dir).await;
		// The node's storage record, not the API's.
		let record = fulgur_node::PaymentRecord {
			payment_id: lost.payment_hash.clone(),
			payment_hash: Some(lost.payment_hash.clone()),
			kind: fulgur_node::PaymentKind::Bolt11,
			direction: fulgur_node::PaymentDirection::Outbound,
			destination: Some(net.node("bob").node.node_id().to_string()),
			invoice: Some(lost.bolt11.clone()),
			description: Some("lost".into()),
			amount_msat: Some(3_000_000),
			fee_msat: None,
			max_fee_msat: None,
			preimage: None,
			status: fulgur_node::PaymentStatus::Pending,
			failure_reason: None,
			created_at: unix_now(),
			completed_at: None,
		};
		let bytes = serde_json::to_vec(&record).expect("json");
		KVStoreSync::write(&store, "fulgur_payments", "", &lost.payment_hash, bytes)
			.expect("write the record");
	}
	net.start_again("alice", index).await;
	let alice = net.api("alice");

	let record = alice.get_payment(&lost.payment_hash).await.expect("record");
	assert_eq!(record.status, PaymentStatus::Failed, "{record:?}");
	assert_eq!(record.failure_reason.as_deref(), Some("lost_before_send"), "{record:?}");
	assert!(record.completed_at.is_some(), "{record:?}");
	let events = alice.events(0, None).await.expect("events").events;
	let failed = events.iter().filter(|e| {
		e.event.kind() == "payment_failed"
			&& serde_json::to_value(&e.event).expect("json")["payment"]["payment_id"]
				== lost.payment_hash.as_str()
	});
	assert_eq!(failed.count(), 1, "{events:?}");
	// The payment LDK knows is left alone.
	let held_record = alice.get_payment(&held_hash).await.expect("held record");
	assert_eq!(held_record.status, PaymentStatus::Pending, "{held_record:?}");

	// Paying the lost invoice again works (once the channel is back), and so does settling
	// the held one.
	net.wait_for("alice's channel usable after her restart", || async {
		alice.list_channels().await.is_ok_and(|c| c.iter().any(|c| c.is_usable))
	})
	.await;
	let paid = alice.pay(&pay_request(&lost.bolt11), true).await.expect("pay again");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	assert_eq!(net.invoice_paid("bob", &lost.payment_hash).await.status, InvoiceStatus::Paid);
	bob.settle_invoice(&held_hash, &held_preimage).await.expect("settle");
	net.wait_for("the held payment succeeded", || async {
		alice.get_payment(&held_hash).await.is_ok_and(|p| p.status == PaymentStatus::Succeeded)
	})
	.await;
	net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pays_of_one_invoice_are_one_payment() {
	let net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("alice", "bob", 1_000_000, 0).await;
	let (alice, bob) = (net.api("alice"), net.api("bob"));
	let invoice = bob.create_invoice(Some(4_000_000), "once", None).await.expect("invoice");

	// Eight clients pay the same invoice at once.
	let barrier = Arc::new(tokio::sync::Barrier::new(8));
	let mut payers = Vec::new();
	for _ in 0..8 {
		let (alice, barrier, bolt11) =
			(alice.clone(), Arc::clone(&barrier), invoice.bolt11.clone());
		payers.push(tokio::spawn(async move {
			barrier.wait().await;
			alice.pay(&pay_request(&bolt11), false).await
		}));
	}
	for payer in payers {
		let answer = payer.await.expect("task").expect("every payer gets the payment");
		assert_eq!(answer.payment_id, invoice.payment_hash, "{answer:?}");
		assert_ne!(answer.status, PaymentStatus::Failed, "{answer:?}");
	}
	net.wait_for("the payment succeeded", || async {
		alice
			.get_payment(&invoice.payment_hash)
			.await
			.is_ok_and(|p| p.status == PaymentStatus::Succeeded)
	})
	.await;
	// A retry while it was in flight or after it succeeded sent nothing more.
	let seen = bob.get_invoice(&invoice.payment_hash).await.expect("invoice");
	assert_eq!(seen.amount_received_msat, Some(4_000_000));
	let events = alice.events(0, None).await.expect("events").events;
	let kinds: Vec<&str> = events.iter().map(|e| e.event.kind()).collect();
	assert_eq!(kinds.iter().filter(|k| **k == "payment_succeeded").count(), 1, "{events:?}");
	assert!(!kinds.contains(&"payment_failed"), "{events:?}");
	net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keysend_retried_with_its_payment_id_is_sent_once() {
	let net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("alice", "bob", 1_000_000, 0).await;
	let alice = net.api("alice");
	let bob_id = net.node("bob").node.node_id().to_string();
	let keysend = |payment_id: &str, amount_msat: u64, wait: bool| {
		let body = json!({
			"node_id": bob_id,
			"amount_msat": amount_msat,
			"payment_id": payment_id,
			"wait": wait,
		});
		let alice = alice.clone();
		async move {
			let answer = alice.request(Method::POST, "/v1/payments/keysend", Some(body)).await;
			answer.map(|v| serde_json::from_value::<PaymentRecord>(v).expect("a payment record"))
		}
	};

	// A retry of a finished keysend answers with it.
	let first_id = [0x11u8; 32].to_lower_hex_string();
	let first = keysend(&first_id, 2_000_000, true).await.expect("keysend");
	assert_eq!((first.payment_id.as_str(), first.status), (&*first_id, PaymentStatus::Succeeded));
	let again = keysend(&first_id, 2_000_000, true).await.expect("retry");
	assert_eq!(again, first);

	// Retries racing the first attempt answer with it too.
	let second_id = [0x22u8; 32].to_lower_hex_string();
	let racing: Vec<_> =
		(0..6).map(|_| tokio::spawn(keysend(&second_id, 3_000_000, false))).collect();
	for attempt in racing {
		let answer = attempt.await.expect("task").expect("keysend");
		assert_eq!(answer.payment_id, second_id, "{answer:?}");
		assert_ne!(answer.status, PaymentStatus::Failed, "{answer:?}");
	}
	net.wait_for("the second keysend succeeded", || async {
		alice.get_payment(&second_id).await.is_ok_and(|p| p.status == PaymentStatus::Succeeded)
	})
	.await;

	// The id of one payment cannot name another.
	let err = keysend(&first_id, 5_000, false).await.expect_err("another amount");
	assert_eq!((err.status(), err.code()), (Some(409), "duplicate_payment"), "{err}");
	let err = keysend("abcd", 5_000, false).await.expect_err("bad id");
	assert_eq!(err.status(), Some(400), "{err}");

	// bob received each keysend once (he records them as he handles his claims).
	net.wait_for("bob recorded both keysends", || async {
		let listed = net.api("bob").list_payments(&Default::default()).await;
		listed.is_ok_and(|l| l.payments.len() >= 2)
	})
	.await;
	let received = net.api("bob").list_payments(&Default::default()).await.expect("list");
	let mut amounts: Vec<Option<u64>> = received.payments.iter().map(|p| p.amount_msat).collect();
	amounts.sort();
	assert_eq!(amounts, vec![Some(2_000_000), Some(3_000_000)], "{:?}", received.payments);
	net.shutdown().await;
}
