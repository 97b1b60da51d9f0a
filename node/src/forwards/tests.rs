//! Forwarding records from real LDK events: recorded once however often LDK hands an event
//! over (a failed step, a restart), apart for two forwards alike, failed ones capped; and
//! what the queries make of them.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lightning::events::{Event, HTLCHandlingFailureReason, HTLCHandlingFailureType};
use lightning::ln::types::ChannelId;
use lightning::ln::LocalHTLCFailureReason;
use lightning::util::logger::Level;

use super::query::{self, ForwardFilter, ForwardGrouping};
use super::*;
use crate::event::forward_seen;
use crate::store::failing::FailingStore;
use crate::store::SledStore;

const START: u64 = 1_700_000_000;

fn logger(dir: &tempfile::TempDir) -> Arc<FulgurLogger> {
	Arc::new(FulgurLogger::new(&dir.path().join("test.log"), "test", Level::Debug).expect("log"))
}

fn node(n: u8) -> PublicKey {
	let secret = SecretKey::from_slice(&[n; 32]).expect("key");
	PublicKey::from_secret_key(&Secp256k1::new(), &secret)
}

fn forwarded(out_msat: u64, fee_msat: u64) -> Event {
	Event::PaymentForwarded {
		prev_channel_id: Some(ChannelId([1; 32])),
		next_channel_id: Some(ChannelId([2; 32])),
		prev_user_channel_id: Some(7),
		next_user_channel_id: Some(8),
		prev_node_id: Some(node(1)),
		next_node_id: Some(node(2)),
		total_fee_earned_msat: Some(fee_msat),
		skimmed_fee_msat: None,
		claim_from_onchain_tx: false,
		outbound_amount_forwarded_msat: Some(out_msat),
	}
}

fn failed(next: u8) -> Event {
	Event::HTLCHandlingFailed {
		prev_channel_id: ChannelId([1; 32]),
		failure_type: HTLCHandlingFailureType::Forward {
			node_id: Some(node(2)),
			channel_id: ChannelId([next; 32]),
		},
		failure_reason: Some(HTLCHandlingFailureReason::Local {
			reason: LocalHTLCFailureReason::TemporaryChannelFailure,
		}),
	}
}

fn seen(event: &Event) -> ForwardSeen {
	forward_seen(event, |_| Some(node(9))).expect("a forward")
}

/// The handle as a node has it once started: its start-up pass is over.
async fn forwards_in(store: Arc<DynStore>, dir: &tempfile::TempDir) -> Forwards {
	let forwards = starting(store, dir).await;
	forwards.end_startup_replays().await;
	forwards
}

/// The handle as a node has it during its start-up pass over the manager's stored events.
async fn starting(store: Arc<DynStore>, dir: &tempfile::TempDir) -> Forwards {
	let journal = Journal::open(Arc::clone(&store)).expect("journal");
	let records = RecordStore::load(store, FORWARDS_NAMESPACE).await.expect("load");
	Forwards::with_records(records, journal, logger(dir), 3)
}

fn kinds(forwards: &Forwards) -> Vec<&'static str> {
	forwards.journal.read(0, 100).expect("read").iter().map(|e| e.event.kind()).collect()
}

#[tokio::test]
async fn a_forward_handed_over_again_is_recorded_once_also_after_a_restart() {
	let dir = tempfile::tempdir().expect("dir");
	let store: Arc<DynStore> = Arc::new(SledStore::open(&dir.path().join("db")).expect("open"));
	let event = forwarded(1_000_000, 1_001);
	let first = {
		let forwards = forwards_in(Arc::clone(&store), &dir).await;
		let first = forwards.record_at(seen(&event), START + 5).await.expect("record");
		let record = &forwards.records.all()[0];
		assert_eq!(record, &first);
		assert_eq!(record.status, ForwardStatus::Settled);
		assert_eq!(record.fee_msat, Some(1_001));
		assert_eq!(record.in_amount_msat, Some(1_001_001));
		assert_eq!(record.out_amount_msat, Some(1_000_000));
		assert_eq!(record.in_channel_id, Some(ChannelId([1; 32]).to_string()));
		assert_eq!(record.out_peer_node_id, Some(node(2).to_string()));
		assert_eq!(kinds(&forwards), vec!["payment_forwarded"]);
		first
	};
	// A restart: the manager on disk still held the event, LDK hands it over once more,
	// minutes after the first run's last record (the node was down meanwhile).
	drop(store);
	let store: Arc<DynStore> = Arc::new(SledStore::open(&dir.path().join("db")).expect("reopen"));
	let restarted = START + 300;
	let forwards = starting(Arc::clone(&store), &dir).await;
	let again = forwards.record_at(seen(&event), restarted + 2).await.expect("after restart");
	assert_eq!(again, first);
	assert_eq!(forwards.records.all().len(), 1, "recorded once across the restart");
	assert_eq!(kinds(&forwards), vec!["payment_forwarded"]);
	forwards.end_startup_replays().await;
	// A new forward alike in every field (same channels, same amounts) is a forward of its
	// own, at once and later on.
	forwards.record_at(seen(&event), restarted + 3).await.expect("new forward");
	assert_eq!(forwards.records.all().len(), 2);
	let later = restarted + FORWARD_REPLAY_WINDOW_SECS + 1;
	forwards.record_at(seen(&event), later).await.expect("new forward");
	assert_eq!(forwards.records.all().len(), 3);
	assert_eq!(kinds(&forwards), vec!["payment_forwarded"; 3]);
}

#[tokio::test]
async fn a_forward_settled_on_chain_reported_twice_is_recorded_once() {
	let dir = tempfile::tempdir().expect("dir");
	let forwards = forwards_in(Arc::new(crate::store::MemoryStore::new()), &dir).await;
	let mut on_chain = forwarded(1_000, 0);
	if let Event::PaymentForwarded { total_fee_earned_msat, claim_from_onchain_tx, .. } =
		&mut on_chain
	{
		*total_fee_earned_msat = None;
		*claim_from_onchain_tx = true;
	}
	forwards.record_at(seen(&on_chain), START).await.expect("first");
	forwards.record_at(seen(&on_chain), START + 5000).await.expect("again");
	assert_eq!(forwards.records.all().len(), 1);
	assert_eq!(kinds(&forwards), vec!["payment_forwarded"]);
}

#[tokio::test]
async fn a_forward_whose_event_write_failed_is_journaled_when_ldk_replays_it() {
	let dir = tempfile::tempdir().expect("dir");
	let store = FailingStore::new("fulgur_events");
	let forwards = forwards_in(Arc::clone(&store) as Arc<DynStore>, &dir).await;
	let event = forwarded(5_000, 5);
	store.failing.store(true, Ordering::SeqCst);
	assert!(forwards.on_forward(seen(&event)).await.is_err(), "replay asked");
	store.failing.store(false, Ordering::SeqCst);
	assert!(forwards.on_forward(seen(&event)).await.is_ok(), "the replay");
	assert_eq!(forwards.records.all().len(), 1);
	assert_eq!(kinds(&forwards), vec!["payment_forwarded"]);

	// A failed forward's event has no journal key: appended once all the same.
	store.failing.store(true, Ordering::SeqCst);
	assert!(forwards.on_forward(seen(&failed(3))).await.is_err(), "replay asked");
	store.failing.store(false, Ordering::SeqCst);
	assert!(forwards.on_forward(seen(&failed(3))).await.is_ok(), "the replay");
	assert_eq!(forwards.records.all().len(), 2);
	assert_eq!(kinds(&forwards), vec!["payment_forwarded", "forward_failed"]);
	// Handled (Ok), LDK never hands the event over again: the same content later is another
	// forward, in the same second too.
	assert!(forwards.on_forward(seen(&event)).await.is_ok());
	assert!(forwards.on_forward(seen(&event)).await.is_ok());
	assert_eq!(forwards.records.all().len(), 4);
	let mut ids: Vec<String> = forwards.records.all().into_iter().map(|f| f.id).collect();
	ids.sort();
	ids.dedup();
	assert_eq!(ids.len(), 4, "{ids:?}");
}

#[tokio::test]
async fn failed_forwards_journal_a_bounded_number_of_events_an_hour() {
	let dir = tempfile::tempdir().expect("dir");
	let store: Arc<DynStore> = Arc::new(crate::store::MemoryStore::new());
	let forwards = forwards_in(store, &dir).await;
	let hour = START - START % 3600;
	let many = MAX_FAILED_FORWARD_EVENTS_PER_HOUR + 5;
	for n in 0..many {
		let event = failed(3);
		// Spread over the hour, each past the replay window of the one alike before.
		let at = hour + (n as u64) * (3600 / many as u64).max(1) % 3600;
		let mut seen = seen(&event);
		seen.digest[0] = (n % 256) as u8;
		seen.digest[1] = (n / 256) as u8;
		forwards.record_at(seen, at).await.expect("recorded");
	}
	let events = forwards.journal.read(0, 10_000).expect("read");
	assert_eq!(events.len(), MAX_FAILED_FORWARD_EVENTS_PER_HOUR, "capped within the hour");
	// The next hour has its own allowance.
	forwards.record_at(seen(&failed(250)), hour + 3600).await.expect("next hour");
	assert_eq!(forwards.journal.read(0, 10_000).expect("read").len(), events.len() + 1);
	// Failed forwards leave no key behind in the journal.
	assert!(events
		.iter()
		.all(|e| e.event.kind() == "forward_failed" && e.event.once_key().is_none()));
}

#[tokio::test]
async fn failed_forwards_are_capped_and_settled_ones_kept() {
	let dir = tempfile::tempdir().expect("dir");
	let store: Arc<DynStore> = Arc::new(SledStore::open(&dir.path().join("db")).expect("open"));
	let forwards = forwards_in(Arc::clone(&store), &dir).await;
	forwards.record_at(seen(&forwarded(1_000, 1)), START).await.expect("settled");
	for n in 0..6u8 {
		let record = forwards.record_at(seen(&failed(10 + n)), START + 1 + u64::from(n)).await;
		let record = record.expect("failed");
		assert_eq!(record.status, ForwardStatus::Failed);
		assert_eq!(record.failure_reason.as_deref(), Some("TemporaryChannelFailure"));
		assert_eq!(record.in_peer_node_id, Some(node(9).to_string()));
		assert_eq!(record.out_amount_msat, None);
	}
	let all = forwards.records.all();
	let failed_kept: Vec<_> = all.iter().filter(|f| f.status == ForwardStatus::Failed).collect();
	assert_eq!(failed_kept.len(), 3, "capped at 3: {all:?}");
	assert!(failed_kept.iter().all(|f| f.timestamp >= START + 4), "the oldest went first");
	assert_eq!(all.iter().filter(|f| f.status == ForwardStatus::Settled).count(), 1);
	// The cap holds across a restart too.
	drop(forwards);
	let forwards = forwards_in(store, &dir).await;
	forwards.record_at(seen(&failed(30)), START + 101).await.expect("one more");
	let failed_now =
		forwards.records.all().iter().filter(|f| f.status == ForwardStatus::Failed).count();
	assert_eq!(failed_now, 3);
}

#[test]
fn events_that_are_no_forward_are_not_recorded() {
	let receive = Event::HTLCHandlingFailed {
		prev_channel_id: ChannelId([1; 32]),
		failure_type: HTLCHandlingFailureType::InvalidOnion,
		failure_reason: None,
	};
	assert_eq!(forward_seen(&receive, |_| None), None);
}

fn record(id: &str, timestamp: u64, out: &str, status: ForwardStatus, fee: u64) -> ForwardRecord {
	ForwardRecord {
		id: id.into(),
		timestamp,
		in_channel_id: Some("in".into()),
		out_channel_id: Some(out.into()),
		in_peer_node_id: None,
		out_peer_node_id: None,
		in_amount_msat: Some(1000 + fee),
		out_amount_msat: Some(1000),
		fee_msat: Some(fee),
		status,
		failure_reason: None,
	}
}

#[test]
fn pages_go_newest_first_with_totals_and_summaries_add_up() {
	let day = crate::config::SECONDS_PER_DAY;
	let records = vec![
		record("a", START, "x", ForwardStatus::Settled, 1),
		record("b", START + 10, "y", ForwardStatus::Settled, 2),
		record("c", START + day, "x", ForwardStatus::Settled, 4),
		record("d", START + day + 1, "x", ForwardStatus::Failed, 0),
	];
	let all = ForwardFilter::default();
	let first = query::page(records.clone(), &all, 3, None);
	assert_eq!(first.total, 4);
	let ids: Vec<_> = first.forwards.iter().map(|f| f.id.as_str()).collect();
	assert_eq!(ids, ["d", "c", "b"]);
	assert_eq!(first.next_cursor.as_deref(), Some("b"));
	let second = query::page(records.clone(), &all, 3, first.next_cursor.as_deref());
	assert_eq!(second.forwards.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), ["a"]);
	assert_eq!(second.next_cursor, None);

	let settled_on_x = ForwardFilter {
		channel_id: Some("x".into()),
		status: Some(ForwardStatus::Settled),
		..Default::default()
	};
	assert_eq!(query::page(records.clone(), &settled_on_x, 10, None).total, 2);
	let since = ForwardFilter { since: Some(START + 10), until: Some(START + day), ..all.clone() };
	assert_eq!(query::page(records.clone(), &since, 10, None).total, 2);

	let by_day = query::summary(records.clone(), &all, ForwardGrouping::Day);
	let by_channel = query::summary(records.clone(), &all, ForwardGrouping::Channel);
	assert_eq!(by_day.totals, by_channel.totals);
	assert_eq!(by_day.totals.count, 3);
	assert_eq!(by_day.totals.fees_msat, 7);
	assert_eq!(by_day.totals.volume_msat, 3000);
	let days: Vec<_> =
		by_day.buckets.iter().map(|b| (b.key.as_str(), b.totals.fees_msat)).collect();
	assert_eq!(days, [("2023-11-14", 3), ("2023-11-15", 4)]);
	let channels: Vec<_> =
		by_channel.buckets.iter().map(|b| (b.key.as_str(), b.totals.count)).collect();
	assert_eq!(channels, [("x", 2), ("y", 1)]);

	let stats = query::stats(&records);
	assert_eq!((stats.settled, stats.failed, stats.fees_msat), (3, 1, 7));
	assert_eq!(stats.by_out_channel.get("x"), Some(&2));
}

#[test]
fn utc_days_follow_the_calendar() {
	assert_eq!(query::utc_day(0), "1970-01-01");
	assert_eq!(query::utc_day(951_782_400), "2000-02-29");
	assert_eq!(query::utc_day(951_868_799), "2000-02-29");
	assert_eq!(query::utc_day(951_868_800), "2000-03-01");
	assert_eq!(query::utc_day(1_709_164_800), "2024-02-29");
	assert_eq!(query::utc_day(1_735_689_599), "2024-12-31");
	assert_eq!(query::utc_day(4_102_444_800), "2100-01-01");
}

#[tokio::test]
async fn forwards_of_one_second_list_in_the_order_they_were_recorded() {
	let dir = tempfile::tempdir().expect("dir");
	let store: Arc<DynStore> = Arc::new(SledStore::open(&dir.path().join("db")).expect("open"));
	let forwards = forwards_in(store, &dir).await;
	// Several in one second, with digests in every order: the newest is listed first.
	let mut recorded = Vec::new();
	for fee in [5, 1, 9, 3] {
		let record = forwards.record_at(seen(&forwarded(1_000_000, fee)), START).await;
		recorded.push(record.expect("record").id);
	}
	let newest_first = query::page(forwards.records.all(), &ForwardFilter::default(), 10, None);
	let listed: Vec<String> = newest_first.forwards.into_iter().map(|f| f.id).collect();
	recorded.reverse();
	assert_eq!(listed, recorded);
}
