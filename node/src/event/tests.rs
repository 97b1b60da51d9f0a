//! What the event handlers decide without a whole LDK node: how they record events
//! (`Journal::append_or_replay`, with a store that fails on demand in place of the disk), how
//! channel events settle the opens waiting for them, and which inbound channels the fee policy
//! lets through.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bitcoin::Network;
use lightning::chain::chaininterface::ConfirmationTarget;
use lightning::ln::types::ChannelId;
use lightning::util::logger::Level;

use crate::chain::FeeCache;
use crate::channels::{FundingBatch, PendingOpens, ReadyFunding};
use crate::fee_policy::FeePolicy;
use crate::journal::{Journal, NodeEvent};
use crate::logger::FulgurLogger;
use crate::store::failing::FailingStore;
use crate::store::{DynStore, MemoryStore, SledStore};

/// Where the journal keeps its events (`journal/mod.rs`).
const EVENTS_NAMESPACE: &str = "fulgur_events";

fn logger(dir: &tempfile::TempDir) -> Arc<FulgurLogger> {
	Arc::new(FulgurLogger::new(&dir.path().join("test.log"), "test", Level::Debug).unwrap())
}

fn channel_id(n: u8) -> String {
	format!("{n:02x}").repeat(32)
}

fn pending(n: u8) -> NodeEvent {
	NodeEvent::ChannelPending {
		channel_id: channel_id(n),
		counterparty_node_id: format!("02{}", "11".repeat(32)),
		funding_txo: format!("{}:0", "ab".repeat(32)),
	}
}

fn ready(n: u8) -> NodeEvent {
	NodeEvent::ChannelReady {
		channel_id: channel_id(n),
		counterparty_node_id: format!("02{}", "11".repeat(32)),
	}
}

fn closed(n: u8) -> NodeEvent {
	NodeEvent::ChannelClosed {
		channel_id: channel_id(n),
		counterparty_node_id: None,
		reason: "cooperative".into(),
	}
}

fn recorded(journal: &Journal) -> Vec<NodeEvent> {
	journal.read(0, 100).unwrap().into_iter().map(|record| record.event).collect()
}

#[tokio::test]
async fn an_event_whose_record_failed_is_recorded_when_ldk_replays_it() {
	let dir = tempfile::tempdir().unwrap();
	let logger = logger(&dir);
	let store = FailingStore::new(EVENTS_NAMESPACE);
	let journal = Journal::open(Arc::clone(&store) as Arc<DynStore>).unwrap();

	// The disk refuses the event: the handler asks LDK to hand it over again.
	store.failing.store(true, Ordering::SeqCst);
	assert!(journal.append_or_replay(pending(1), &logger).await.is_err(), "replay asked");
	store.failing.store(false, Ordering::SeqCst);

	// LDK's replay records it, and the one after (a restart) does not record it twice.
	assert!(journal.append_or_replay(pending(1), &logger).await.is_ok());
	assert!(journal.append_or_replay(pending(1), &logger).await.is_ok());
	assert_eq!(recorded(&journal), vec![pending(1)], "recorded once, not lost");
	assert_eq!(journal.recorded(&pending(1)).unwrap().map(|r| r.event), Some(pending(1)));
}

#[tokio::test]
async fn an_event_retention_removed_is_not_recorded_again() {
	let dir = tempfile::tempdir().unwrap();
	let logger = logger(&dir);
	let journal = Journal::open(Arc::new(MemoryStore::new()) as Arc<DynStore>).unwrap();
	journal.append_or_replay(closed(1), &logger).await.unwrap();
	journal.append_or_replay(pending(2), &logger).await.unwrap();
	let later = fulgur_base::clock::unix_now() + 10;
	assert_eq!(journal.compact(later, u64::MAX).unwrap(), 1, "all but the newest removed");
	assert!(journal.recorded(&closed(1)).unwrap().is_none(), "its event is gone");
	journal.append_or_replay(closed(1), &logger).await.unwrap();
	assert_eq!(recorded(&journal), vec![pending(2)], "its key still says it was recorded");
}

#[tokio::test]
async fn each_channel_step_is_recorded_once_however_often_ldk_hands_it_over() {
	let dir = tempfile::tempdir().unwrap();
	let logger = logger(&dir);
	{
		let store: Arc<DynStore> = Arc::new(SledStore::open(&dir.path().join("db")).unwrap());
		let journal = Journal::open(store).unwrap();
		for event in [pending(1), pending(1), pending(2), ready(1), ready(1), closed(1)] {
			journal.append_or_replay(event, &logger).await.unwrap();
		}
		assert_eq!(recorded(&journal), vec![pending(1), pending(2), ready(1), closed(1)]);
	}
	// After a restart LDK hands over what it had not seen handled; nothing is recorded twice,
	// and a new step still is.
	let store: Arc<DynStore> = Arc::new(SledStore::open(&dir.path().join("db")).unwrap());
	let journal = Journal::open(store).unwrap();
	for event in [closed(1), ready(1), ready(2)] {
		journal.append_or_replay(event, &logger).await.unwrap();
	}
	let indexes: Vec<u64> = journal.read(0, 100).unwrap().iter().map(|r| r.index).collect();
	assert_eq!(indexes, vec![1, 2, 3, 4, 5]);
	assert_eq!(recorded(&journal)[4], ready(2));
}

#[tokio::test]
async fn peer_events_have_no_key_and_are_recorded_each_time() {
	let dir = tempfile::tempdir().unwrap();
	let logger = logger(&dir);
	let journal = Journal::open(Arc::new(MemoryStore::new()) as Arc<DynStore>).unwrap();
	let connected =
		NodeEvent::PeerConnected { node_id: format!("02{}", "22".repeat(32)), inbound: true };
	assert_eq!(connected.once_key(), None);
	journal.append_or_replay(connected.clone(), &logger).await.unwrap();
	journal.append_or_replay(connected.clone(), &logger).await.unwrap();
	assert_eq!(recorded(&journal), vec![connected.clone(), connected]);
}

fn ready_funding(n: u8) -> ReadyFunding {
	ReadyFunding {
		temporary_channel_id: ChannelId([n; 32]),
		counterparty: bitcoin::secp256k1::PublicKey::from_secret_key(
			&bitcoin::secp256k1::Secp256k1::signing_only(),
			&bitcoin::secp256k1::SecretKey::from_slice(&[n; 32]).unwrap(),
		),
		script: bitcoin::ScriptBuf::new(),
		amount_sat: 100_000 + u64::from(n),
		user_channel_id: u128::from(n),
	}
}

#[test]
fn a_batch_is_funded_once_with_all_its_channels() {
	let batch = FundingBatch::new(3);
	assert!(batch.add(ready_funding(1)).is_none());
	assert!(batch.add(ready_funding(2)).is_none());
	let all = batch.add(ready_funding(3)).expect("the last channel completes the batch");
	let ids: Vec<u128> = all.iter().map(|c| c.user_channel_id).collect();
	assert_eq!(ids, vec![1, 2, 3], "in the order LDK asked");
}

#[tokio::test]
async fn an_open_is_settled_by_its_first_outcome_only() {
	let opens = PendingOpens::default();
	let (tx, rx) = tokio::sync::oneshot::channel();
	opens.waiting.insert(7, tx);
	// `ChannelPending` settles it; a later `ChannelClosed` of the same channel finds nobody.
	let funded = (ChannelId([7; 32]), "ab".repeat(32));
	opens.settle(7, Ok(funded.clone()));
	opens.settle(7, Err("channel closed: cooperative".into()));
	assert_eq!(rx.await.unwrap(), Ok(funded));
	assert!(opens.waiting.is_empty());
	// An opener that stopped waiting, and an open nobody waits for, cost nothing.
	let (tx, rx) = tokio::sync::oneshot::channel();
	opens.waiting.insert(8, tx);
	drop(rx);
	opens.settle(8, Err("funding refused".into()));
	opens.settle(9, Err("unknown".into()));
	assert!(opens.waiting.is_empty(), "nothing left behind");
}

/// What `OpenChannelRequest`'s handler asks: the ceiling from our current estimates, then the
/// policy's verdict on the peer's commitment fee rate.
fn verdict(fees: &FeeCache, policy: &FeePolicy, peer_sat_per_kw: u32) -> Result<(), String> {
	policy.check_open(peer_sat_per_kw, fees.peer_fee_rate_ceiling())
}

#[test]
fn inbound_channels_are_judged_against_our_current_estimates() {
	// Regtest without estimates: the fixed rates other implementations use there pass.
	let policy = FeePolicy::default();
	let regtest = FeeCache::new(253, Network::Regtest, policy);
	assert!(verdict(&regtest, &policy, 12_500).is_ok());
	assert!(verdict(&regtest, &policy, 45_000).is_ok());
	let why = verdict(&regtest, &policy, 50_001).unwrap_err();
	assert!(why.contains("50001") && why.contains("50000"), "the peer is told why: {why}");

	// Mainnet: a peer at five times our highest estimate is refused until our estimate rises.
	let mainnet = FeeCache::new(253, Network::Bitcoin, policy);
	mainnet.set(ConfirmationTarget::MaximumFeeEstimate, Some(1_000));
	assert!(verdict(&mainnet, &policy, 4_000).is_ok());
	assert!(verdict(&mainnet, &policy, 5_000).is_err());
	mainnet.set(ConfirmationTarget::MaximumFeeEstimate, Some(1_250));
	assert!(verdict(&mainnet, &policy, 5_000).is_ok());

	// A configured ceiling is the ceiling, whatever we estimate.
	let fixed = FeePolicy { peer_fee_rate_ceiling_sat_per_kw: Some(3_000), ..policy };
	let configured = FeeCache::new(253, Network::Bitcoin, fixed);
	configured.set(ConfirmationTarget::MaximumFeeEstimate, Some(10_000));
	assert!(verdict(&configured, &fixed, 3_001).is_err());
}
