//! The merchant API against real nodes: the event log and its SSE stream (resuming misses
//! nothing), webhooks against a receiver that fails at first, scoped keys, the OpenAPI
//! description held against real answers, and the metrics scrape.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fulgur_api::wire::events::{EventRecord, NodeEvent};
use fulgur_api::wire::keys::ApiScope;
use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_api::ApiClient;
use fulgur_tests::TestNet;
use fulgur_web::openapi;
use warp::Filter;

fn pay_request(invoice: &str) -> PayRequest {
	PayRequest { invoice: invoice.to_string(), amount_msat: None, max_fee_msat: None }
}

/// What the webhook receiver saw: (index header, signature header, signed message: the
/// timestamp header, `.`, the raw body) per attempt.
type Attempts = Arc<Mutex<Vec<(u64, String, Vec<u8>)>>>;

/// A local webhook receiver that answers 500 to its first `failures` attempts, then 200.
async fn receiver(failures: usize) -> (String, Attempts, tokio::sync::oneshot::Sender<()>) {
	let attempts: Attempts = Arc::new(Mutex::new(Vec::new()));
	let seen = Arc::clone(&attempts);
	let route = warp::post()
		.and(warp::path("hook"))
		.and(warp::header::<u64>("x-fulgur-event-index"))
		.and(warp::header::<String>("x-fulgur-signature"))
		.and(warp::header::<u64>("x-fulgur-timestamp"))
		.and(warp::body::bytes())
		.map(move |index: u64, signature: String, at: u64, body: warp::hyper::body::Bytes| {
			let mut seen = seen.lock().unwrap();
			// The signature covers the timestamp: checked against the signed message.
			seen.push((index, signature, fulgur_node::webhook_signed_message(at, &body)));
			let status = if seen.len() <= failures {
				warp::http::StatusCode::INTERNAL_SERVER_ERROR
			} else {
				warp::http::StatusCode::OK
			};
			warp::reply::with_status("", status)
		});
	let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
	let (addr, server) =
		warp::serve(route).bind_with_graceful_shutdown(([127, 0, 0, 1], 0), async move {
			let _ = stopped.await;
		});
	tokio::spawn(server);
	(format!("http://{addr}/hook"), attempts, stop)
}

/// Events of `client` after `after`, every page.
async fn all_events(client: &ApiClient, after: u64) -> Vec<EventRecord> {
	let mut events = Vec::new();
	let mut after = after;
	loop {
		let page = client.events(after, Some(2)).await.expect("events");
		assert!(page.total >= page.events.len() as u64);
		events.extend(page.events.iter().cloned());
		match page.next_cursor {
			Some(next) => after = next.parse().expect("cursor is an index"),
			None => return events,
		}
	}
}

fn paid_hash(record: &EventRecord) -> Option<&str> {
	match &record.event {
		NodeEvent::InvoicePaid { invoice } => Some(invoice.payment_hash.as_str()),
		_ => None,
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_resume_without_gaps_and_webhooks_deliver_signed() {
	let net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("alice", "bob", 1_000_000, 0).await;
	let (alice, bob) = (net.api("alice"), net.api("bob"));

	// The channel's life is in both logs already, durable and in order. Alice connected out
	// to bob (her connection is recorded); to bob she was a stranger until the channel.
	let opened = all_events(&bob, 0).await;
	let kinds: Vec<&str> = opened.iter().map(|e| e.event.kind()).collect();
	for kind in ["channel_pending", "channel_ready"] {
		assert!(kinds.contains(&kind), "{kinds:?}");
	}
	assert!(!kinds.contains(&"peer_connected"), "{kinds:?}");
	assert!(opened.windows(2).all(|w| w[1].index == w[0].index + 1), "{kinds:?}");
	let bob_id = net.node("bob").node.node_id().to_string();
	let alice_opened = all_events(&alice, 0).await;
	assert!(alice_opened.iter().any(|e| matches!(&e.event,
		NodeEvent::PeerConnected { node_id, inbound: false } if *node_id == bob_id)));
	// The funding coinbase is in alice's log once her wallet synced (every 2 s).
	net.wait_for("alice's onchain_received", || async {
		all_events(&alice, 0).await.iter().any(|e| e.event.kind() == "onchain_received")
	})
	.await;

	// A merchant's webhook for paid invoices, on a receiver that fails its first 2 attempts.
	let (url, attempts, stop_receiver) = receiver(2).await;
	let hook = bob.create_webhook(&url, &["invoice_paid".to_string()]).await.expect("webhook");
	assert!(hook.secret.starts_with("whsec_"));
	let listed = bob.list_webhooks(&Default::default()).await.expect("webhooks");
	assert_eq!(listed.total, 1);
	assert_eq!(listed.webhooks[0].id, hook.webhook.id);

	// A live stream, then the first payment.
	let mut stream = bob.event_stream(None).await.expect("stream");
	let first = bob.create_invoice(Some(10_000_000), "first", None).await.expect("invoice");
	let paid = alice.pay(&pay_request(&first.bolt11), true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded);
	let seen = loop {
		let record = stream.next_within(Duration::from_secs(60)).await.expect("event").expect("ok");
		if paid_hash(&record) == Some(first.payment_hash.as_str()) {
			break record;
		}
	};
	// The client goes away; two more invoices are paid meanwhile.
	let last_seen = stream.last_event_id().expect("an id");
	assert_eq!(last_seen, seen.index);
	drop(stream);
	let mut missed_hashes = Vec::new();
	for n in 0..2 {
		let invoice =
			bob.create_invoice(Some(1_000_000 + n), "while away", None).await.expect("invoice");
		let paid = alice.pay(&pay_request(&invoice.bolt11), true).await.expect("pay");
		assert_eq!(paid.status, PaymentStatus::Succeeded);
		missed_hashes.push(invoice.payment_hash);
	}
	// bob records each payment when he handles his claim, a moment after alice has the
	// preimage: wait for both records before reading what was missed.
	net.wait_for("bob recorded both payments", || async {
		let after = all_events(&bob, last_seen).await;
		missed_hashes.iter().all(|h| after.iter().any(|e| paid_hash(e) == Some(h.as_str())))
	})
	.await;
	// Resuming after the last id gives exactly what the log holds after it, in order.
	let missed = all_events(&bob, last_seen).await;
	let mut resumed = bob.event_stream(Some(last_seen)).await.expect("stream");
	let mut replayed = Vec::new();
	while replayed.len() < missed.len() {
		let record =
			resumed.next_within(Duration::from_secs(30)).await.expect("event").expect("ok");
		replayed.push(record);
	}
	assert_eq!(replayed, missed);
	assert_eq!(replayed[0].index, last_seen + 1);
	let replayed_paid: Vec<&str> = replayed.iter().filter_map(paid_hash).collect();
	assert_eq!(replayed_paid, missed_hashes.iter().map(String::as_str).collect::<Vec<_>>());
	drop(resumed);

	// The webhook got the three paid invoices, signed, at least once each, in order.
	net.wait_for("three acknowledged deliveries", || async {
		let hooks = bob.list_webhooks(&Default::default()).await.expect("webhooks");
		hooks.webhooks[0].delivery.delivered == 3
	})
	.await;
	let attempts = attempts.lock().unwrap().clone();
	assert!(attempts.len() >= 5, "2 failures + 3 deliveries: {}", attempts.len());
	assert_eq!(attempts[0].0, attempts[1].0, "the failed event is tried again");
	assert_eq!(attempts[1].0, attempts[2].0);
	let mut by_index = BTreeMap::new();
	for (index, signature, signed) in &attempts {
		assert_eq!(*signature, fulgur_node::webhook_signature(&hook.secret, signed), "{index}");
		// The signed message is `<timestamp>.<body>`.
		let dot = signed.iter().position(|b| *b == b'.').expect("timestamp.body");
		let body = &signed[dot + 1..];
		let record: EventRecord = serde_json::from_slice(body).expect("event body");
		assert_eq!(record.index, *index);
		by_index.insert(*index, record);
	}
	let delivered: Vec<&str> = by_index.values().filter_map(paid_hash).collect();
	let mut expected = vec![first.payment_hash.as_str()];
	expected.extend(missed_hashes.iter().map(String::as_str));
	assert_eq!(delivered, expected);
	let state = bob.list_webhooks(&Default::default()).await.expect("webhooks").webhooks[0].clone();
	assert_eq!((state.delivery.failed_attempts, state.delivery.last_error), (0, None));
	bob.delete_webhook(&hook.webhook.id).await.expect("delete");
	let _ = stop_receiver.send(());

	// A payment that cannot work fails, its record says so, and so does the log.
	let too_big = bob.create_invoice(Some(5_000_000_000), "too big", None).await.expect("invoice");
	match alice.pay(&pay_request(&too_big.bolt11), true).await {
		Ok(record) => assert_eq!(record.status, PaymentStatus::Failed, "{record:?}"),
		Err(e) => assert!(e.status().is_some_and(|s| s == 400 || s == 422), "{e}"),
	}
	let failed = alice.get_payment(&too_big.payment_hash).await.expect("the attempt's record");
	assert_eq!(failed.status, PaymentStatus::Failed, "{failed:?}");
	// An invoice expires.
	let short = bob.create_invoice(Some(1_000), "short", Some(1)).await.expect("invoice");
	net.wait_for("the invoice_expired event", || async {
		all_events(&bob, 0).await.iter().any(|e| {
			matches!(&e.event, NodeEvent::InvoiceExpired { invoice }
				if invoice.payment_hash == short.payment_hash)
		})
	})
	.await;
	let alice_events = all_events(&alice, 0).await;
	let succeeded = alice_events.iter().filter(|e| e.event.kind() == "payment_succeeded").count();
	assert_eq!(succeeded, 3);
	assert!(alice_events.iter().any(|e| matches!(&e.event,
		NodeEvent::PaymentFailed { payment } if payment.payment_id == failed.payment_id
			&& payment.status == PaymentStatus::Failed)));

	// Real answers hold to the OpenAPI description.
	let doc = bob.openapi().await.expect("openapi");
	for record in all_events(&bob, 0).await.iter().chain(&alice_events) {
		let value = serde_json::to_value(record).expect("json");
		openapi::check(&doc, "EventRecord", &value).unwrap_or_else(|e| panic!("{e}: {value}"));
	}
	let answers: [(&str, &str); 7] = [
		("/v1/events", "ListEventsResponse"),
		("/v1/info", "NodeInfo"),
		("/v1/balance", "Balance"),
		("/v1/channels", "ListChannelsResponse"),
		("/v1/peers", "ListPeersResponse"),
		("/v1/invoices", "ListInvoicesResponse"),
		("/v1/payments", "ListPaymentsResponse"),
	];
	for (path, schema) in answers {
		for client in [&alice, &bob] {
			let value = client.request(fulgur_api::client::Method::GET, path, None).await;
			let value = value.expect("answer");
			openapi::check(&doc, schema, &value).unwrap_or_else(|e| panic!("{path}: {e}"));
		}
	}

	// Metrics, scraped with a read-only key.
	let reader = bob.create_api_key(ApiScope::Readonly, Some("prometheus")).await.expect("key");
	let scraper = ApiClient::new(&net.node("bob").api_url(), &reader.secret).expect("client");
	let metrics = parse_metrics(&scraper.metrics().await.expect("metrics"));
	assert_eq!(metrics["fulgur_invoices{status=\"paid\"}"], 3.0);
	assert!(metrics["fulgur_invoices{status=\"expired\"}"] >= 1.0);
	assert_eq!(metrics["fulgur_channels{state=\"usable\"}"], 1.0);
	assert_eq!(metrics["fulgur_tower_outbox"], 0.0);
	assert!(metrics["fulgur_balance_lightning_msat{direction=\"inbound\"}"] > 0.0);
	let count = metrics["fulgur_persist_latency_seconds_count"];
	assert!(count > 0.0);
	assert_eq!(metrics["fulgur_persist_latency_seconds_bucket{le=\"+Inf\"}"], count);
	let buckets: Vec<f64> = metrics
		.iter()
		.filter(|(name, _)| name.starts_with("fulgur_persist_latency_seconds_bucket"))
		.map(|(_, v)| *v)
		.collect();
	assert!(buckets.len() >= 10);
	// Funds, the channel pending and ready, three invoices paid, one expired.
	assert!(metrics["fulgur_events_total"] >= 7.0);
	net.shutdown().await;
}

/// `name{labels} value` lines into a map; panics on a line that is not Prometheus text.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
	let mut samples = BTreeMap::new();
	for line in text.lines().filter(|l| !l.is_empty()) {
		if let Some(comment) = line.strip_prefix('#') {
			assert!(comment.starts_with(" HELP ") || comment.starts_with(" TYPE "), "{line}");
			continue;
		}
		let (name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {line}"));
		let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line}"));
		assert!(samples.insert(name.to_string(), value).is_none(), "{name} twice");
	}
	samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scoped_keys_get_401_or_403() {
	let net = TestNet::new(&["alice"]).await;
	let admin = net.api("alice");
	let url = net.node("alice").api_url();
	let shop = admin.create_api_key(ApiScope::Invoice, Some("shop")).await.expect("key");
	let reader = admin.create_api_key(ApiScope::Readonly, None).await.expect("key");
	assert_eq!(shop.key.scope, ApiScope::Invoice);
	let keys = admin.list_api_keys(&Default::default()).await.expect("keys");
	assert_eq!(keys.total, 2);
	assert!(keys.keys.iter().all(|k| !serde_json::to_string(k).unwrap().contains(&shop.secret)));

	let as_shop = ApiClient::new(&url, &shop.secret).expect("client");
	let as_reader = ApiClient::new(&url, &reader.secret).expect("client");
	// The shop's server: invoices and events, nothing else.
	let invoice = as_shop.create_invoice(Some(1_000), "tea", None).await.expect("invoice");
	as_shop.get_invoice(&invoice.payment_hash).await.expect("read invoice");
	as_shop.events(0, None).await.expect("events");
	let forbidden = [
		as_shop.balance().await.map(|_| ()),
		as_shop.list_payments(&Default::default()).await.map(|_| ()),
		as_shop.pay(&pay_request(&invoice.bolt11), false).await.map(|_| ()),
		as_shop.new_address().await.map(|_| ()),
		as_shop.create_api_key(ApiScope::Admin, None).await.map(|_| ()),
		as_reader.create_invoice(None, "x", None).await.map(|_| ()),
		as_reader.list_api_keys(&Default::default()).await.map(|_| ()),
		as_reader.create_webhook("http://127.0.0.1:1/h", &[]).await.map(|_| ()),
	];
	for answer in forbidden {
		let e = answer.expect_err("forbidden");
		assert_eq!((e.status(), e.code()), (Some(403), "forbidden"), "{e}");
	}
	as_reader.balance().await.expect("a reader reads");
	as_reader.metrics().await.expect("a reader scrapes");
	// Revoked: unknown from now on.
	admin.revoke_api_key(&shop.key.id).await.expect("revoke");
	let e = as_shop.events(0, None).await.expect_err("revoked");
	assert_eq!((e.status(), e.code()), (Some(401), "unauthorized"), "{e}");
	let e = ApiClient::new(&url, "not-a-key").unwrap().events(0, None).await.unwrap_err();
	assert_eq!(e.status(), Some(401));
	net.shutdown().await;
}

/// Event kinds an `invoice` key may read: its invoices' life, nothing of payments, channels
/// or the wallet.
const INVOICE_KINDS: &[&str] =
	&["invoice_paid", "invoice_accepted", "invoice_expired", "invoice_canceled"];

/// An invoice key reads only invoice events, in the list and in the stream, while the admin
/// key reads everything (the payment with its preimage, channels, the wallet).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invoice_keys_read_only_invoice_events() {
	let net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("alice", "bob", 1_000_000, 300_000_000).await;
	let (alice, bob) = (net.api("alice"), net.api("bob"));
	// Alice pays (payment_succeeded with the preimage) and is paid (invoice_paid).
	let theirs = bob.create_invoice(Some(5_000_000), "to bob", None).await.expect("invoice");
	let paid = alice.pay(&pay_request(&theirs.bolt11), true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded);
	let ours = alice.create_invoice(Some(7_000_000), "to alice", None).await.expect("invoice");
	let paid = bob.pay(&pay_request(&ours.bolt11), true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded);
	net.wait_for("alice's invoice_paid", || async {
		all_events(&alice, 0).await.iter().any(|e| paid_hash(e) == Some(&ours.payment_hash))
	})
	.await;
	let everything = all_events(&alice, 0).await;
	let kinds: Vec<&str> = everything.iter().map(|e| e.event.kind()).collect();
	for kind in ["payment_succeeded", "channel_ready", "onchain_received", "invoice_paid"] {
		assert!(kinds.contains(&kind), "the admin key reads {kind}: {kinds:?}");
	}

	let shop = alice.create_api_key(ApiScope::Invoice, Some("shop")).await.expect("key");
	let as_shop = ApiClient::new(&net.node("alice").api_url(), &shop.secret).expect("client");
	let listed = all_events(&as_shop, 0).await;
	let listed_kinds: Vec<&str> = listed.iter().map(|e| e.event.kind()).collect();
	assert!(listed_kinds.iter().all(|k| INVOICE_KINDS.contains(k)), "{listed_kinds:?}");
	let expected: Vec<&EventRecord> =
		everything.iter().filter(|e| INVOICE_KINDS.contains(&e.event.kind())).collect();
	assert_eq!(listed.iter().collect::<Vec<_>>(), expected);
	assert!(listed.iter().any(|e| paid_hash(e) == Some(&ours.payment_hash)));

	// The stream from the start: the invoice events, and nothing before them.
	let mut stream = as_shop.event_stream(Some(0)).await.expect("stream");
	let mut streamed = Vec::new();
	while streamed.len() < expected.len() {
		let record = stream.next_within(Duration::from_secs(60)).await.expect("event").expect("ok");
		assert!(INVOICE_KINDS.contains(&record.event.kind()), "streamed {record:?}");
		streamed.push(record);
	}
	assert_eq!(streamed.iter().collect::<Vec<_>>(), expected);
	// A live one: the next invoice event comes, the payment events of a new payment do not.
	let more = bob.create_invoice(Some(1_000_000), "more", None).await.expect("invoice");
	alice.pay(&pay_request(&more.bolt11), true).await.expect("pay");
	let short = alice.create_invoice(Some(1_000), "short", Some(1)).await.expect("invoice");
	let record = stream.next_within(Duration::from_secs(60)).await.expect("event").expect("ok");
	match &record.event {
		NodeEvent::InvoiceExpired { invoice } => {
			assert_eq!(invoice.payment_hash, short.payment_hash)
		}
		other => panic!("an invoice key streamed {other:?}"),
	}
	net.shutdown().await;
}

/// A stream opened with a key ends once the key is revoked, and carries nothing recorded
/// after the revocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revoked_key_ends_its_stream() {
	let net = TestNet::new(&["alice"]).await;
	let admin = net.api("alice");
	let shop = admin.create_api_key(ApiScope::Invoice, Some("shop")).await.expect("key");
	let as_shop = ApiClient::new(&net.node("alice").api_url(), &shop.secret).expect("client");
	let mut stream = as_shop.event_stream(None).await.expect("stream");
	// The stream is live: it carries an invoice event.
	let first = admin.create_invoice(Some(1_000), "first", Some(1)).await.expect("invoice");
	let record = stream.next_within(Duration::from_secs(60)).await.expect("event").expect("ok");
	assert!(
		matches!(&record.event, NodeEvent::InvoiceExpired { invoice }
			if invoice.payment_hash == first.payment_hash),
		"{record:?}"
	);
	admin.revoke_api_key(&shop.key.id).await.expect("revoke");
	let after = admin.create_invoice(Some(1_000), "after", Some(1)).await.expect("invoice");
	net.wait_for("the second invoice_expired", || async {
		all_events(&admin, 0).await.iter().any(|e| {
			matches!(&e.event, NodeEvent::InvoiceExpired { invoice }
				if invoice.payment_hash == after.payment_hash)
		})
	})
	.await;
	let ended = tokio::time::timeout(fulgur_tests::STEP, async {
		while let Some(record) = stream.next().await {
			let record = match record {
				Ok(record) => record,
				// A connection cut short ends the stream too.
				Err(_) => break,
			};
			assert!(
				!matches!(&record.event, NodeEvent::InvoiceExpired { invoice }
					if invoice.payment_hash == after.payment_hash),
				"a revoked key's stream carried an event recorded after the revocation"
			);
		}
	})
	.await;
	assert!(
		ended.is_ok(),
		"the stream is still open {:?} after its key was revoked",
		fulgur_tests::STEP
	);
	net.shutdown().await;
}
