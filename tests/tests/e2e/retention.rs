//! The event log's retention on a real node: events older than the retention go when the
//! node compacts (at start, then hourly), except what a webhook has not delivered yet;
//! counts stay right, a client sees where the log now starts, and indexes are never reused.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fulgur_api::wire::events::{EventRecord, NodeEvent};
use fulgur_api::ApiClient;
use fulgur_tests::TestNet;

/// A retention short enough for a test: everything recorded before the restart is old.
const SHORT: Duration = Duration::from_secs(1);

async fn all_events(client: &ApiClient) -> (Vec<EventRecord>, u64, u64) {
	let mut events = Vec::new();
	let mut after = 0;
	loop {
		let page = client.events(after, Some(100)).await.expect("events");
		events.extend(page.events.iter().cloned());
		match page.next_cursor {
			Some(next) => after = next.parse().expect("cursor is an index"),
			None => return (events, page.total, page.first_index),
		}
	}
}

/// Records an `invoice_expired` event and returns its index.
async fn expired_invoice(net: &TestNet, client: &ApiClient, what: &str) -> u64 {
	let invoice = client.create_invoice(Some(1_000), what, Some(1)).await.expect("invoice");
	let index_of = || async {
		let (events, ..) = all_events(client).await;
		events
			.iter()
			.find(|e| {
				matches!(&e.event, NodeEvent::InvoiceExpired { invoice: i }
				if i.payment_hash == invoice.payment_hash)
			})
			.map_or(0, |e| e.index)
	};
	net.wait_for(&format!("{what} expired"), || async { index_of().await > 0 }).await;
	index_of().await
}

/// Restarts alice with the short retention once her newest event is older than it, and waits
/// for the compaction that runs as she starts (a background task) to have passed: the oldest
/// event kept is then `first`.
async fn restart_and_compact(net: &mut TestNet, first: u64) {
	restart_when_old(net).await;
	let alice = net.api("alice");
	net.wait_for(&format!("compaction kept events from {first} on"), || async {
		all_events(&alice).await.2 == first
	})
	.await;
}

/// Restarts alice with the short retention once her newest event is older than it.
async fn restart_when_old(net: &mut TestNet) {
	let (events, ..) = all_events(&net.api("alice")).await;
	let newest = events.last().map_or(0, |e| e.timestamp);
	net.wait_for("the newest event older than the retention", || async {
		let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
		now > newest + SHORT.as_secs()
	})
	.await;
	let (index, alice) = net.take("alice");
	alice.stop().await;
	net.start_again_with("alice", index, |c| c.events_retention = SHORT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn old_events_go_but_not_before_webhooks_deliver_them() {
	let mut net = TestNet::new(&["alice"]).await;
	let alice = net.api("alice");
	// The wallet records the funding it received on its own schedule: let it, so no event
	// arrives between the snapshots below.
	net.wait_for("alice recorded her funding", || async {
		let (events, ..) = all_events(&alice).await;
		events.iter().any(|e| e.event.kind() == "onchain_received")
	})
	.await;
	let first = expired_invoice(&net, &alice, "first").await;
	// A webhook whose receiver is down: it stays at the next event.
	let hook = alice.create_webhook("http://127.0.0.1:1/down", &[]).await.expect("webhook");
	let cursor = hook.webhook.delivery.next_index;
	let undelivered = expired_invoice(&net, &alice, "undelivered").await;
	assert!(first < cursor && cursor <= undelivered);
	let (before, total_before, oldest_before) = all_events(&alice).await;
	assert_eq!((oldest_before, total_before), (1, before.len() as u64));

	restart_and_compact(&mut net, cursor).await;
	let alice = net.api("alice");
	let (left, total, first_index) = all_events(&alice).await;
	let expected: Vec<&EventRecord> = before.iter().filter(|e| e.index >= cursor).collect();
	assert_eq!(left.iter().collect::<Vec<_>>(), expected, "the webhook's events stay");
	assert_eq!((first_index, total), (cursor, expected.len() as u64));
	// A client reading from the start learns it missed removed events: first_index > 0 + 1.
	assert!(first_index > 1, "{first_index}");

	// Without the webhook, everything old goes but the newest event, and the next index
	// follows it.
	alice.delete_webhook(&hook.webhook.id).await.expect("delete");
	let newest = before.last().expect("events").index;
	restart_and_compact(&mut net, newest).await;
	let alice = net.api("alice");
	let (left, total, first_index) = all_events(&alice).await;
	assert_eq!(left.iter().map(|e| e.index).collect::<Vec<_>>(), vec![newest]);
	assert_eq!((first_index, total), (newest, 1));
	let next = expired_invoice(&net, &alice, "after").await;
	assert_eq!(next, newest + 1);
	net.shutdown().await;
}
