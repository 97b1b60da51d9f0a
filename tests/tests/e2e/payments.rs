//! Payments by invoice, keysend and offer; expiry and bad invoices; hold invoices.

use std::time::Duration;

use fulgur_api::wire::invoices::InvoiceStatus;
use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_node::StoreKind;
use fulgur_tests::TestNet;

fn pay_request(invoice: &str) -> PayRequest {
	PayRequest { invoice: invoice.to_string(), amount_msat: None, max_fee_msat: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pays_both_ways_by_invoice_and_keysend() {
	let net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("alice", "bob", 1_000_000, 300_000_000).await;
	let (alice, bob) = (net.api("alice"), net.api("bob"));

	// alice -> bob by invoice.
	let invoice = bob.create_invoice(Some(25_000_000), "coffee", None).await.expect("invoice");
	assert_eq!(invoice.status, InvoiceStatus::Open);
	let paid = alice.pay(&pay_request(&invoice.bolt11), true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	assert_eq!(paid.payment_hash.as_deref(), Some(invoice.payment_hash.as_str()));
	let preimage = paid.preimage.clone().expect("preimage");
	let seen = net.invoice_paid("bob", &invoice.payment_hash).await;
	assert_eq!(seen.status, InvoiceStatus::Paid);
	assert_eq!(seen.amount_received_msat, Some(25_000_000));
	assert_eq!(seen.preimage.as_deref(), Some(preimage.as_str()));

	// bob -> alice by invoice, amountless with the amount given by the payer.
	let open = alice.create_invoice(None, "refund", Some(600)).await.expect("invoice");
	let mut request = pay_request(&open.bolt11);
	request.amount_msat = Some(7_000_000);
	let paid = bob.pay(&request, true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	let seen = net.invoice_paid("alice", &open.payment_hash).await;
	assert_eq!(seen.amount_received_msat, Some(7_000_000));

	// keysend both ways.
	let sent = alice
		.keysend(&net.node("bob").node.node_id().to_string(), 3_000_000, true)
		.await
		.expect("keysend");
	assert_eq!(sent.status, PaymentStatus::Succeeded, "{sent:?}");
	let sent = bob
		.keysend(&net.node("alice").node.node_id().to_string(), 1_000_000, true)
		.await
		.expect("keysend");
	assert_eq!(sent.status, PaymentStatus::Succeeded, "{sent:?}");
	// bob learns of his success from the preimage; alice records the payment when she handles
	// her claim, which can come a moment later.
	let hash = sent.payment_hash.clone().expect("hash");
	net.wait_for("alice recorded the keysend she received", || async {
		alice.get_payment(&hash).await.is_ok()
	})
	.await;
	let received = alice.get_payment(&hash).await.expect("alice's record of the keysend");
	assert_eq!(received.amount_msat, Some(1_000_000));

	// Every payment went through the channel's monitor, durably, and the engine counted it
	// (the last commitment dance may still be settling when the payer hears of success).
	net.wait_for("alice's monitor updates all durable", || async {
		alice
			.list_channels()
			.await
			.is_ok_and(|c| c.first().is_some_and(|c| c.updates_in_flight == 0))
	})
	.await;
	let channel = &alice.list_channels().await.expect("channels")[0];
	assert!(channel.updates_done >= 8, "{channel:?}");
	assert_eq!(channel.updates_in_flight, 0, "{channel:?}");
	assert!(channel.last_persist_latency_us.is_some() && channel.last_activity_at.is_some());
	let info = alice.info().await.expect("info");
	assert!(info.monitor_updates_done >= channel.updates_done, "{info:?}");

	// The balances moved by exactly what was paid (no routing fee on a direct channel).
	let expected_local = 700_000_000 - 25_000_000 + 7_000_000 - 3_000_000 + 1_000_000;
	let fee_and_anchor_slack = 0; // local balance already excludes commitment fees and anchors
	assert!(
		channel.local_balance_msat <= expected_local + fee_and_anchor_slack,
		"local balance {} above {expected_local}",
		channel.local_balance_msat
	);
	net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payments_work_on_the_memory_and_fs_sync_stores() {
	let net =
		TestNet::with_stores(&[("alice", StoreKind::FsSync), ("bob", StoreKind::Memory)]).await;
	net.open_channel("alice", "bob", 500_000, 100_000_000).await;
	let (alice, bob) = (net.api("alice"), net.api("bob"));
	for (payer, payee) in [(&alice, &bob), (&bob, &alice)] {
		let invoice =
			payee.create_invoice(Some(2_000_000), "any store", None).await.expect("invoice");
		let paid = payer.pay(&pay_request(&invoice.bolt11), true).await.expect("pay");
		assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	}
	// Each store counted its own writes; only the file store flushed.
	let (fs, memory) = (net.node("alice").node.store_stats(), net.node("bob").node.store_stats());
	assert!(fs.writes > 0 && fs.flushes >= 2 * fs.writes, "{fs:?}");
	assert!(memory.writes > 0 && memory.flushes == 0, "{memory:?}");
	net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expired_invoice_reads_expired_and_cannot_be_paid() {
	let net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("alice", "bob", 500_000, 0).await;
	let (alice, bob) = (net.api("alice"), net.api("bob"));
	let invoice =
		bob.create_invoice(Some(1_000_000), "short-lived", Some(1)).await.expect("invoice");
	tokio::time::sleep(Duration::from_secs(3)).await;
	let seen = bob.get_invoice(&invoice.payment_hash).await.expect("invoice");
	assert_eq!(seen.status, InvoiceStatus::Expired);
	let err = alice.pay(&pay_request(&invoice.bolt11), true).await.expect_err("expired");
	assert_eq!(err.status(), Some(422), "{err}");
	assert_eq!(err.code(), "invoice_expired", "{err}");
	assert!(alice.list_payments(&Default::default()).await.expect("list").payments.is_empty());
	net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn garbage_and_already_paid_invoices_fail_clearly() {
	let net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("alice", "bob", 500_000, 0).await;
	let (alice, bob) = (net.api("alice"), net.api("bob"));

	for garbage in ["", "lnbcrt1garbage", "not an invoice at all", "lno1zzzz"] {
		let err = alice.pay(&pay_request(garbage), true).await.expect_err("garbage");
		assert_eq!(err.status(), Some(400), "{garbage:?}: {err}");
		assert_eq!(err.code(), "invalid_invoice", "{garbage:?}: {err}");
	}
	let invoice = bob.create_invoice(Some(2_000_000), "once", None).await.expect("invoice");
	let paid = alice.pay(&pay_request(&invoice.bolt11), true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded);
	let err = alice.pay(&pay_request(&invoice.bolt11), true).await.expect_err("paid twice");
	assert_eq!(err.status(), Some(409), "{err}");
	assert_eq!(err.code(), "duplicate_payment", "{err}");
	// A zero amount is refused before anything is sent.
	let open = bob.create_invoice(None, "any", None).await.expect("invoice");
	let mut zero = pay_request(&open.bolt11);
	zero.amount_msat = Some(0);
	let err = alice.pay(&zero, true).await.expect_err("zero amount");
	assert_eq!(err.status(), Some(400), "{err}");
	// bob received exactly once.
	let seen = net.invoice_paid("bob", &invoice.payment_hash).await;
	assert_eq!(seen.amount_received_msat, Some(2_000_000));
	net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bolt12_offer_is_paid() {
	let net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("alice", "bob", 1_000_000, 0).await;
	let (alice, bob) = (net.api("alice"), net.api("bob"));
	let offer = bob.create_offer(Some(4_000_000), "subscription").await.expect("offer");
	assert!(offer.starts_with("lno1"), "{offer}");
	let paid = alice.pay(&pay_request(&offer), true).await.expect("pay offer");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	assert!(paid.preimage.is_some());
	// bob sees the money as an inbound BOLT12 payment.
	let hash = paid.payment_hash.clone().expect("hash");
	net.wait_for("bob recorded the offer's payment", || async {
		bob.get_payment(&hash).await.is_ok()
	})
	.await;
	let received = bob.get_payment(&hash).await.expect("bob's record");
	assert_eq!(received.amount_msat, Some(4_000_000));
	// An offer is reusable: pay it again.
	let again = alice.pay(&pay_request(&offer), true).await.expect("pay again");
	assert_eq!(again.status, PaymentStatus::Succeeded, "{again:?}");
	net.shutdown().await;
}

/// A fresh preimage and its payment hash, both hex.
fn preimage_and_hash(label: &str) -> (String, String) {
	use bitcoin::hashes::{sha256, Hash};
	use bitcoin::hex::DisplayHex;
	let nanos = std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.expect("clock")
		.as_nanos();
	let seed = format!("{label} {nanos} {}", std::process::id());
	let preimage = sha256::Hash::hash(seed.as_bytes()).to_byte_array();
	let hash = sha256::Hash::hash(&preimage).to_byte_array();
	(preimage.to_lower_hex_string(), hash.to_lower_hex_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hold_invoice_is_held_then_settled_or_canceled() {
	let mut net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("bob", "alice", 1_000_000, 0).await;
	let (alice, bob) = (net.api("alice"), net.api("bob"));

	// alice issues a hold invoice for a hash whose preimage only the test knows.
	let (preimage, hash) = preimage_and_hash("settled");
	let invoice =
		alice.create_hold_invoice(&hash, Some(20_000_000), "held", None).await.expect("invoice");
	assert!(invoice.hold, "{invoice:?}");
	assert_eq!((invoice.status, invoice.payment_hash.as_str()), (InvoiceStatus::Open, &*hash));
	let err = alice.create_hold_invoice(&hash, None, "again", None).await.expect_err("reused");
	assert_eq!((err.status(), err.code()), (Some(409), "invoice_conflict"), "{err}");

	// bob pays; alice holds the payment: accepted on her side, pending on his.
	let started = bob.pay(&pay_request(&invoice.bolt11), false).await.expect("pay");
	assert_eq!(started.status, PaymentStatus::Pending);
	net.wait_for("alice accepts the held payment", || async {
		alice.get_invoice(&hash).await.is_ok_and(|i| i.status == InvoiceStatus::Accepted)
	})
	.await;
	let held = alice.get_invoice(&hash).await.expect("invoice");
	assert_eq!(held.amount_received_msat, Some(20_000_000));
	assert_eq!(held.preimage, None);
	assert_eq!(bob.get_payment(&hash).await.expect("payment").status, PaymentStatus::Pending);
	let events = alice.events(0, None).await.expect("events").events;
	let accepted = events.iter().filter(|e| e.event.kind() == "invoice_accepted").count();
	assert_eq!(accepted, 1, "{events:?}");
	// The held invoice and its event fit the API's description.
	let doc = alice.openapi().await.expect("openapi");
	let value = serde_json::to_value(&held).expect("json");
	fulgur_web::openapi::check(&doc, "InvoiceRecord", &value).expect("invoice fits");
	for event in &events {
		let value = serde_json::to_value(event).expect("json");
		fulgur_web::openapi::check(&doc, "EventRecord", &value).expect("event fits");
	}

	// A wrong preimage, bad hex and an unknown hash are refused; the payment stays held.
	let (wrong, unknown) = preimage_and_hash("wrong");
	let err = alice.settle_invoice(&hash, &wrong).await.expect_err("wrong preimage");
	assert_eq!((err.status(), err.code()), (Some(400), "invalid_request"), "{err}");
	assert!(err.to_string().contains("does not match"), "{err}");
	let err = alice.settle_invoice(&hash, "zz").await.expect_err("bad hex");
	assert_eq!(err.status(), Some(400), "{err}");
	let err = alice.settle_invoice("nothex", &preimage).await.expect_err("bad hash");
	assert_eq!(err.status(), Some(400), "{err}");
	let err = alice.settle_invoice(&unknown, &wrong).await.expect_err("unknown");
	assert_eq!((err.status(), err.code()), (Some(404), "not_found"), "{err}");
	let err = alice.cancel_invoice(&unknown).await.expect_err("unknown");
	assert_eq!(err.status(), Some(404), "{err}");
	assert_eq!(alice.get_invoice(&hash).await.expect("invoice").status, InvoiceStatus::Accepted);
	assert_eq!(bob.get_payment(&hash).await.expect("payment").status, PaymentStatus::Pending);

	// The right preimage settles: alice is paid, bob's payment succeeds with that proof.
	alice.settle_invoice(&hash, &preimage).await.expect("settle");
	net.wait_for("alice's invoice paid", || async {
		alice.get_invoice(&hash).await.is_ok_and(|i| i.status == InvoiceStatus::Paid)
	})
	.await;
	let paid = alice.get_invoice(&hash).await.expect("invoice");
	assert_eq!(paid.preimage.as_deref(), Some(preimage.as_str()));
	assert_eq!(paid.amount_received_msat, Some(20_000_000));
	net.wait_for("bob's payment succeeded", || async {
		bob.get_payment(&hash).await.is_ok_and(|p| p.status == PaymentStatus::Succeeded)
	})
	.await;
	let sent = bob.get_payment(&hash).await.expect("payment");
	assert_eq!(sent.preimage.as_deref(), Some(preimage.as_str()));
	let err = alice.settle_invoice(&hash, &preimage).await.expect_err("settled twice");
	assert_eq!((err.status(), err.code()), (Some(409), "invoice_conflict"), "{err}");
	let err = alice.cancel_invoice(&hash).await.expect_err("cancel a paid invoice");
	assert_eq!(err.status(), Some(409), "{err}");

	// A second hold invoice is held, survives a restart of alice held, then is canceled:
	// bob's payment fails back.
	let (preimage, hash) = preimage_and_hash("canceled");
	let invoice =
		alice.create_hold_invoice(&hash, Some(5_000_000), "refused", None).await.expect("invoice");
	bob.pay(&pay_request(&invoice.bolt11), false).await.expect("pay");
	net.wait_for("alice accepts the second payment", || async {
		alice.get_invoice(&hash).await.is_ok_and(|i| i.status == InvoiceStatus::Accepted)
	})
	.await;
	net.restart("alice").await;
	let alice = net.api("alice");
	assert_eq!(alice.get_invoice(&hash).await.expect("invoice").status, InvoiceStatus::Accepted);
	assert_eq!(bob.get_payment(&hash).await.expect("payment").status, PaymentStatus::Pending);
	let canceled = alice.cancel_invoice(&hash).await.expect("cancel");
	assert_eq!(canceled.status, InvoiceStatus::Canceled);
	net.wait_for("bob's payment failed back", || async {
		bob.get_payment(&hash).await.is_ok_and(|p| p.status == PaymentStatus::Failed)
	})
	.await;
	assert_eq!(alice.get_invoice(&hash).await.expect("invoice").status, InvoiceStatus::Canceled);
	// Canceling again changes nothing; settling a canceled invoice is refused.
	alice.cancel_invoice(&hash).await.expect("cancel again");
	let err = alice.settle_invoice(&hash, &preimage).await.expect_err("settle a canceled one");
	assert_eq!((err.status(), err.code()), (Some(409), "invoice_conflict"), "{err}");
	net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hold_invoice_failed_back_near_htlc_expiry_is_reopened_or_canceled() {
	let net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("bob", "alice", 1_000_000, 0).await;
	let (alice, bob) = (net.api("alice"), net.api("bob"));

	// Two hold invoices: one stays valid, the other expires while its payment is held.
	let (preimage, hash) = preimage_and_hash("held too long");
	let lasting =
		alice.create_hold_invoice(&hash, Some(10_000_000), "lasting", None).await.expect("invoice");
	let (short_preimage, short_hash) = preimage_and_hash("expired while held");
	let short = alice
		.create_hold_invoice(&short_hash, Some(2_000_000), "short", Some(20))
		.await
		.expect("invoice");
	bob.pay(&pay_request(&lasting.bolt11), false).await.expect("pay");
	bob.pay(&pay_request(&short.bolt11), false).await.expect("pay");
	for h in [&hash, &short_hash] {
		net.wait_for("alice holds the payment", || async {
			alice.get_invoice(h).await.is_ok_and(|i| i.status == InvoiceStatus::Accepted)
		})
		.await;
	}
	net.wait_for("the short invoice expired", || async {
		let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
		now.expect("clock").as_secs() > short.expires_at
	})
	.await;

	// Blocks go by and nobody settles: a few blocks before the HTLCs would expire, LDK fails
	// them back and bob's payments fail. A few blocks at a time, each seen by both nodes.
	let failed_at_bob = || async {
		for h in [&hash, &short_hash] {
			if !bob.get_payment(h).await.is_ok_and(|p| p.status == PaymentStatus::Failed) {
				return false;
			}
		}
		true
	};
	let mut rounds = 0;
	while !failed_at_bob().await {
		rounds += 1;
		assert!(rounds <= 100, "300 blocks and the held payments are not failed back");
		net.mine(3).await;
		let tip = net.bitcoind.block_count().await.expect("height");
		for name in ["alice", "bob"] {
			net.wait_for(&format!("{name} at the tip"), || async {
				let info = net.api(name).info().await.expect("info");
				u64::from(info.block_height) >= tip
			})
			.await;
		}
	}

	// The valid invoice is open again, the expired one canceled; each says so in an event.
	net.wait_for("alice's invoices no longer accepted", || async {
		let mut done = true;
		for h in [&hash, &short_hash] {
			done &= alice.get_invoice(h).await.is_ok_and(|i| i.status != InvoiceStatus::Accepted);
		}
		done
	})
	.await;
	let reopened = alice.get_invoice(&hash).await.expect("invoice");
	assert_eq!(reopened.status, InvoiceStatus::Open, "{reopened:?}");
	assert_eq!(reopened.amount_received_msat, None, "{reopened:?}");
	let canceled = alice.get_invoice(&short_hash).await.expect("invoice");
	assert_eq!(canceled.status, InvoiceStatus::Canceled, "{canceled:?}");
	let events = alice.events(0, None).await.expect("events").events;
	let canceled_events: Vec<_> = events
		.iter()
		.filter(|e| e.event.kind() == "invoice_canceled")
		.map(|e| serde_json::to_value(&e.event).expect("json")["invoice"].clone())
		.collect();
	assert_eq!(canceled_events.len(), 2, "{events:?}");
	assert!(canceled_events
		.iter()
		.any(|i| i["payment_hash"] == hash.as_str() && i["status"] == "open"));
	assert!(canceled_events
		.iter()
		.any(|i| i["payment_hash"] == short_hash.as_str() && i["status"] == "canceled"));
	let doc = alice.openapi().await.expect("openapi");
	for event in &events {
		let value = serde_json::to_value(event).expect("json");
		fulgur_web::openapi::check(&doc, "EventRecord", &value).expect("event fits");
	}

	// Settling what is no longer held is refused.
	for (h, p) in [(&hash, &preimage), (&short_hash, &short_preimage)] {
		let err = alice.settle_invoice(h, p).await.expect_err("nothing to settle");
		assert_eq!((err.status(), err.code()), (Some(409), "invoice_conflict"), "{err}");
	}

	// The reopened invoice takes a new payment, held and then settled.
	bob.pay(&pay_request(&lasting.bolt11), false).await.expect("pay again");
	net.wait_for("alice holds the new payment", || async {
		alice.get_invoice(&hash).await.is_ok_and(|i| i.status == InvoiceStatus::Accepted)
	})
	.await;
	let accepted = || async {
		let events = alice.events(0, None).await.expect("events").events;
		events.iter().filter(|e| e.event.kind() == "invoice_accepted").count()
	};
	net.wait_for("alice recorded the third acceptance", || async { accepted().await >= 3 }).await;
	let events = alice.events(0, None).await.expect("events").events;
	assert_eq!(accepted().await, 3, "{events:?}");
	alice.settle_invoice(&hash, &preimage).await.expect("settle");
	net.wait_for("bob's new payment succeeded", || async {
		bob.get_payment(&hash).await.is_ok_and(|p| p.status == PaymentStatus::Succeeded)
	})
	.await;
	assert_eq!(net.invoice_paid("alice", &hash).await.status, InvoiceStatus::Paid);
	net.shutdown().await;
}
