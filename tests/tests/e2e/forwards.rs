//! Forwarding records on a routing node: alice → bob → carol. bob records the forward of
//! alice's payment with the fee alice paid, its summaries by day and by channel agree, the
//! journal has `payment_forwarded`; a payment to an invoice carol canceled is a failed
//! forward with its reason (`forward_failed`); the metrics count both; bad filters are a
//! 400; and after bob restarts, the records are all there, none twice.

use fulgur_api::wire::events::NodeEvent;
use fulgur_api::wire::forwards::{
	ForwardGroupBy, ForwardRecord, ForwardStatus, ForwardsQuery, ForwardsSummaryQuery,
};
use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_api::{ApiClient, ClientError};
use fulgur_tests::TestNet;

const AMOUNT_MSAT: u64 = 50_000_000;

async fn forwards(api: &ApiClient, query: ForwardsQuery) -> Vec<ForwardRecord> {
	api.list_forwards(&query).await.expect("forwards").forwards
}

fn status(status: ForwardStatus) -> ForwardsQuery {
	ForwardsQuery { status: Some(status), ..Default::default() }
}

/// The forward events in bob's journal, by kind and forward id.
async fn forward_events(api: &ApiClient) -> Vec<(&'static str, String)> {
	let events = api.events(0, Some(1000)).await.expect("events").events;
	events
		.into_iter()
		.filter_map(|e| match e.event {
			NodeEvent::PaymentForwarded { forward } => Some(("payment_forwarded", forward.id)),
			NodeEvent::ForwardFailed { forward } => Some(("forward_failed", forward.id)),
			_ => None,
		})
		.collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bob_records_forwards_settled_and_failed_once_across_a_restart() {
	let mut net = TestNet::new(&["alice", "bob", "carol"]).await;
	let alice_bob = net.open_channel("alice", "bob", 1_000_000, 0).await;
	let bob_carol = net.open_channel("bob", "carol", 1_000_000, 0).await;
	let ids: Vec<String> =
		["alice", "bob", "carol"].iter().map(|n| net.node(n).node.node_id().to_string()).collect();
	let (alice, bob, carol) = (net.api("alice"), net.api("bob"), net.api("carol"));

	// alice pays carol through bob (carol's invoice hints at her private channel with bob).
	let invoice = carol.create_invoice(Some(AMOUNT_MSAT), "via bob", None).await.expect("inv");
	let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
	let paid = alice.pay(&req, true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	let fee = paid.fee_msat.expect("alice's fee");
	assert!(fee > 0, "{paid:?}");

	net.wait_for("bob's settled forward", || async {
		!forwards(&bob, status(ForwardStatus::Settled)).await.is_empty()
	})
	.await;
	let page = bob.list_forwards(&ForwardsQuery::default()).await.expect("forwards");
	assert_eq!(page.total, 1, "{page:?}");
	let settled = page.forwards[0].clone();
	assert_eq!(settled.status, ForwardStatus::Settled);
	assert_eq!(settled.fee_msat, Some(fee), "bob earned what alice paid: {settled:?}");
	assert_eq!(settled.out_amount_msat, Some(AMOUNT_MSAT));
	assert_eq!(settled.in_amount_msat, Some(AMOUNT_MSAT + fee));
	assert_eq!(settled.in_channel_id.as_deref(), Some(alice_bob.as_str()));
	assert_eq!(settled.out_channel_id.as_deref(), Some(bob_carol.as_str()));
	assert_eq!(settled.in_peer_node_id.as_deref(), Some(ids[0].as_str()));
	assert_eq!(settled.out_peer_node_id.as_deref(), Some(ids[2].as_str()));
	assert_eq!(settled.failure_reason, None);

	// Summaries: one day, one channel, the same totals.
	let by_day = ForwardsSummaryQuery { group_by: Some(ForwardGroupBy::Day), ..Default::default() };
	let by_day = bob.forwards_summary(&by_day).await.expect("by day");
	let by_channel =
		ForwardsSummaryQuery { group_by: Some(ForwardGroupBy::Channel), ..Default::default() };
	let by_channel = bob.forwards_summary(&by_channel).await.expect("by channel");
	assert_eq!(by_day.totals, by_channel.totals);
	assert_eq!((by_day.totals.count, by_day.totals.fees_msat), (1, fee));
	assert_eq!(by_day.totals.volume_msat, AMOUNT_MSAT);
	assert_eq!(by_day.buckets.len(), 1, "{by_day:?}");
	let day = &by_day.buckets[0];
	assert_eq!(day.day.as_deref(), Some(utc_day(settled.timestamp).as_str()));
	assert_eq!((day.count, day.fees_msat, day.channel_id.clone()), (1, fee, None));
	assert_eq!(by_channel.buckets.len(), 1, "{by_channel:?}");
	assert_eq!(by_channel.buckets[0].channel_id.as_deref(), Some(bob_carol.as_str()));
	assert_eq!(by_channel.buckets[0].fees_msat, fee);

	// A payment to an invoice carol canceled: carol fails it back, bob records the failure.
	let canceled = carol.create_invoice(Some(AMOUNT_MSAT), "canceled", None).await.expect("inv");
	carol.cancel_invoice(&canceled.payment_hash).await.expect("cancel");
	let req = PayRequest { invoice: canceled.bolt11, amount_msat: None, max_fee_msat: None };
	match alice.pay(&req, true).await {
		Err(ClientError::Api { code, .. }) if code == "payment_failed" => {}
		Ok(record) => assert_eq!(record.status, PaymentStatus::Failed, "{record:?}"),
		Err(e) => panic!("paying a canceled invoice: {e}"),
	}
	net.wait_for("bob's failed forward", || async {
		!forwards(&bob, status(ForwardStatus::Failed)).await.is_empty()
	})
	.await;
	let failed = forwards(&bob, status(ForwardStatus::Failed)).await;
	assert_eq!(failed.len(), 1, "{failed:?}");
	let failed = failed[0].clone();
	assert_eq!(failed.in_channel_id.as_deref(), Some(alice_bob.as_str()));
	assert_eq!(failed.out_channel_id.as_deref(), Some(bob_carol.as_str()));
	assert_eq!(failed.in_peer_node_id.as_deref(), Some(ids[0].as_str()));
	assert_eq!(failed.out_peer_node_id.as_deref(), Some(ids[2].as_str()));
	assert_eq!(failed.fee_msat, None);
	let reason = failed.failure_reason.clone().unwrap_or_default();
	assert!(reason.contains("next hop"), "carol failed it: {failed:?}");

	// Filters, newest first, and the summaries count settled forwards only.
	let all = bob.list_forwards(&ForwardsQuery::default()).await.expect("all");
	assert_eq!(all.total, 2);
	assert_eq!(all.forwards.iter().map(|f| &f.id).collect::<Vec<_>>(), [&failed.id, &settled.id]);
	let on_channel = ForwardsQuery { channel_id: Some(alice_bob.clone()), ..Default::default() };
	assert_eq!(bob.list_forwards(&on_channel).await.expect("channel").total, 2);
	let one = ForwardsQuery { limit: Some(1), ..Default::default() };
	let first = bob.list_forwards(&one).await.expect("page 1");
	assert_eq!(first.total, 2);
	let second =
		ForwardsQuery { limit: Some(1), cursor: first.next_cursor.clone(), ..Default::default() };
	let second = bob.list_forwards(&second).await.expect("page 2");
	assert_eq!(second.forwards, vec![settled.clone()]);
	assert_eq!(second.next_cursor, None);
	let later = ForwardsQuery { since: Some(failed.timestamp + 1), ..Default::default() };
	assert_eq!(bob.list_forwards(&later).await.expect("later").total, 0);
	let summary = bob.forwards_summary(&ForwardsSummaryQuery::default()).await.expect("summary");
	assert_eq!(summary.totals, by_day.totals);
	for bad in [
		ForwardsQuery { channel_id: Some("zz".into()), ..Default::default() },
		ForwardsQuery { since: Some(10), until: Some(9), ..Default::default() },
		ForwardsQuery { cursor: Some("nope".into()), ..Default::default() },
	] {
		match bob.list_forwards(&bad).await {
			Err(ClientError::Api { status: 400, code, .. }) => assert_eq!(code, "invalid_request"),
			other => panic!("{bad:?}: {other:?}"),
		}
	}

	// The journal has each once, the metrics count them.
	let journal =
		[("payment_forwarded", settled.id.clone()), ("forward_failed", failed.id.clone())];
	assert_eq!(forward_events(&bob).await, journal);
	let metrics = bob.metrics().await.expect("metrics");
	for line in [
		"fulgur_forwards_total{status=\"settled\"} 1".to_string(),
		"fulgur_forwards_total{status=\"failed\"} 1".to_string(),
		format!("fulgur_forward_fees_msat_total {fee}"),
		format!("fulgur_channel_forwards{{channel_id=\"{bob_carol}\",direction=\"out\"}} 1"),
		format!("fulgur_channel_forwards{{channel_id=\"{alice_bob}\",direction=\"in\"}} 1"),
	] {
		assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
	}

	// bob restarts (LDK hands over again what his manager on disk still held): nothing lost,
	// nothing twice.
	net.restart("bob").await;
	let bob = net.api("bob");
	let again = bob.list_forwards(&ForwardsQuery::default()).await.expect("after restart");
	assert_eq!(again.total, 2, "{again:?}");
	assert_eq!(again.forwards, all.forwards);
	assert_eq!(forward_events(&bob).await, journal);

	// And forwarding goes on: a second payment is a second settled record.
	net.wait_for("bob's channels usable again", || async {
		let mut usable = true;
		for (name, id) in [("bob", &alice_bob), ("bob", &bob_carol)] {
			usable &= net.channel(name, id).await.is_some_and(|c| c.is_usable);
		}
		usable
	})
	.await;
	let invoice = carol.create_invoice(Some(AMOUNT_MSAT), "again", None).await.expect("inv");
	let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
	let paid = alice.pay(&req, true).await.expect("pay again");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	net.wait_for("bob's second settled forward", || async {
		forwards(&bob, status(ForwardStatus::Settled)).await.len() == 2
	})
	.await;
	net.shutdown().await;
}

/// `YYYY-MM-DD` of a UNIX time, UTC, worked out apart from the node's own code: by counting
/// days from 1970 with the calendar's month lengths.
fn utc_day(unix_secs: u64) -> String {
	let mut days = unix_secs / 86_400;
	let mut year = 1970;
	loop {
		let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
		let length = if leap { 366 } else { 365 };
		if days < length {
			let months = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
			let mut month = 0;
			while days >= months[month] {
				days -= months[month];
				month += 1;
			}
			return format!("{year:04}-{:02}-{:02}", month + 1, days + 1);
		}
		days -= length;
		year += 1;
	}
}
