//! Chain following through `lightning-block-sync`, fed by a [`ForkingChain`] in bitcoind's
//! place: what the component tests, which call `Listen` by hand, cannot show. A reorg that
//! happened while the tower was stopped is walked back at start-up (`sync_to_tip`), and a live
//! one by the poller (`spawn_poller`, polling with `SpvClient::poll_best_tip`), with the
//! responder acting as in the hand-driven reorg tests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::Network;
use fulgur_base::forking_chain::ForkingChain;
use lightning_block_sync::poll::ValidatedBlockHeader;
use lightning_block_sync::UnboundedCache;
use tokio::sync::{oneshot, watch};

use super::*;
use crate::locator::Locator;
use crate::server::chain;
use crate::server::responder::Tracker;

/// What a (re)starting tower does before serving: sync from its stored tip to the source's.
async fn start_up_sync(
	source: &Arc<ForkingChain>, h: &Harness,
) -> Result<ValidatedBlockHeader, String> {
	chain::sync_to_tip(source, Network::Regtest, &h.listener, &mut UnboundedCache::new()).await
}

fn tracker_of(h: &Harness, dispute: &Transaction, sk: &SecretKey) -> Tracker {
	let locator = Locator::from_txid(&dispute.compute_txid());
	h.core.responder.tracker(&locator, &UserId::from_secret_key(sk)).expect("a tracker")
}

/// Waits (generously) until `condition` holds; the poller runs on its own thread.
async fn wait_until(what: &str, condition: impl Fn() -> bool) {
	let deadline = Instant::now() + Duration::from_secs(60);
	while !condition() {
		assert!(Instant::now() < deadline, "timed out waiting until {what}");
		tokio::time::sleep(Duration::from_millis(10)).await;
	}
}

#[tokio::test]
async fn a_reorg_while_stopped_is_walked_back_at_restart_and_the_penalty_resent() {
	let source = Arc::new(ForkingChain::new());
	let h = Harness::new();
	assert_eq!(
		start_up_sync(&source, &h).await.unwrap().height,
		0,
		"a fresh tower starts at the tip"
	);
	let sk = user_sk(1);
	h.register(&sk);
	let dispute = dispute_tx(1);
	let penalty = penalty_tx(&dispute);
	h.core.watcher.add_appointment(&appointment_for(&dispute, &sk)).unwrap();
	source.mine(vec![]);
	source.mine(vec![dispute.clone()]);
	let stale_tip = source.mine(vec![penalty.clone()]);
	assert_eq!(start_up_sync(&source, &h).await.unwrap().header.block_hash(), stale_tip);
	assert_eq!(h.recorder.take(), vec![penalty.compute_txid()]);
	let tracker = tracker_of(&h, &dispute, &sk);
	assert_eq!((tracker.dispute_height, tracker.penalty_height), (Some(2), Some(3)));

	// Stopped; meanwhile a longer branch from block 1 replaces breach and penalty, the breach
	// confirming again in the branch's second block.
	let h = h.reopen();
	let new_tip = source.fork(1, vec![vec![], vec![dispute_tx(50), dispute.clone()], vec![]]);
	let synced = start_up_sync(&source, &h).await.expect("synced across the reorg");
	assert_eq!((synced.header.block_hash(), synced.height), (new_tip, 4));
	assert_eq!(h.core.db.tip().unwrap(), Some((new_tip, 4)));
	assert_eq!(h.core.gatekeeper.height(), 4);
	let (dispute_id, penalty_id) = (dispute.compute_txid(), penalty.compute_txid());
	assert_eq!(
		h.recorder.take(),
		vec![
			// Block 2: the breach is not in the chain: it goes out again, with the penalty.
			dispute_id, penalty_id,
			// Block 3: the breach confirms again: the penalty is re-sent.
			penalty_id, // Block 4: the penalty is still unconfirmed.
			penalty_id,
		]
	);
	let tracker = tracker_of(&h, &dispute, &sk);
	assert_eq!((tracker.dispute_height, tracker.penalty_height), (Some(3), None));
	assert_eq!(tracker.last_broadcast, 4);

	// The tracker is followed on the new branch: confirmed, buried, dropped.
	source.mine(vec![penalty.clone()]);
	for _ in 0..4 {
		source.mine(vec![]);
	}
	start_up_sync(&source, &h).await.unwrap();
	assert!(h.recorder.take().is_empty(), "confirmed at block 5");
	assert_eq!(h.core.responder.tracker_count(), 1, "5 confirmations of 6");
	source.mine(vec![]);
	start_up_sync(&source, &h).await.unwrap();
	assert_eq!(h.core.responder.tracker_count(), 0, "resolved");
}

#[tokio::test]
async fn a_breach_only_on_the_stale_branch_is_kept_until_its_user_is_gone() {
	let source = Arc::new(ForkingChain::new());
	let h = Harness::new();
	start_up_sync(&source, &h).await.unwrap();
	let sk = user_sk(1);
	h.register(&sk); // at height 0: expires at 10, deleted at 12
	let dispute = dispute_tx(1);
	let (dispute_id, penalty_id) = (dispute.compute_txid(), penalty_tx(&dispute).compute_txid());
	h.core.watcher.add_appointment(&appointment_for(&dispute, &sk)).unwrap();
	source.mine(vec![]);
	source.mine(vec![dispute.clone()]);
	start_up_sync(&source, &h).await.unwrap();
	assert_eq!(h.recorder.take(), vec![penalty_id]);

	let h = h.reopen();
	source.fork(1, vec![vec![], vec![]]);
	assert_eq!(start_up_sync(&source, &h).await.unwrap().height, 3);
	assert_eq!(h.recorder.take(), vec![dispute_id, penalty_id, dispute_id, penalty_id]);
	let tracker = tracker_of(&h, &dispute, &sk);
	assert_eq!((tracker.dispute_height, tracker.penalty_height), (None, None));

	while source.tip().1 < 11 {
		source.mine(vec![]);
	}
	start_up_sync(&source, &h).await.unwrap();
	assert_eq!(h.core.responder.tracker_count(), 1, "kept while its user is registered");
	assert_eq!(h.recorder.take().len(), 2 * 8, "breach and penalty sent every block");
	source.mine(vec![]);
	start_up_sync(&source, &h).await.unwrap();
	assert_eq!(h.core.gatekeeper.user_count(), 0);
	assert_eq!(h.core.responder.tracker_count(), 0, "gone with its user");
}

#[tokio::test]
async fn a_restart_on_a_chain_that_never_saw_the_towers_blocks_is_refused() {
	let source = Arc::new(ForkingChain::new());
	let h = Harness::new();
	start_up_sync(&source, &h).await.unwrap();
	let sk = user_sk(1);
	h.register(&sk);
	let dispute = dispute_tx(1);
	h.core.watcher.add_appointment(&appointment_for(&dispute, &sk)).unwrap();
	source.mine(vec![]);
	let stale_tip = source.mine(vec![dispute.clone()]);
	start_up_sync(&source, &h).await.unwrap();
	h.recorder.take();

	// bitcoind comes back resynced onto another branch, knowing nothing of the tower's tip: the
	// tower cannot find the fork point, so it refuses to start and keeps its state as it was.
	let h = h.reopen();
	source.fork(1, vec![vec![], vec![]]);
	source.forget_stale_blocks();
	let e = start_up_sync(&source, &h).await.unwrap_err();
	assert!(e.contains(&format!("syncing from block {stale_tip}")), "{e}");
	assert_eq!(h.core.db.tip().unwrap(), Some((stale_tip, 2)));
	assert!(h.recorder.take().is_empty());
	let tracker = tracker_of(&h, &dispute, &sk);
	assert_eq!(tracker.dispute_height, Some(2));
}

#[tokio::test]
async fn the_poller_follows_a_live_reorg() {
	let source = Arc::new(ForkingChain::new());
	let h = Harness::new();
	let (stop, stopped) = watch::channel(false);
	let (ready, synced) = oneshot::channel();
	let listener = Arc::new(h.core.chain_listener());
	let interval = Duration::from_millis(5);
	let poller = chain::spawn_poller(
		Arc::clone(&source),
		Network::Regtest,
		listener,
		interval,
		stopped,
		ready,
	)
	.unwrap();
	assert_eq!(synced.await.unwrap(), Ok(0));
	let at_source_tip = || h.core.db.tip().unwrap() == Some(source.tip());

	let sk = user_sk(1);
	h.register(&sk);
	let dispute = dispute_tx(1);
	let penalty = penalty_tx(&dispute);
	let (dispute_id, penalty_id) = (dispute.compute_txid(), penalty.compute_txid());
	h.core.watcher.add_appointment(&appointment_for(&dispute, &sk)).unwrap();
	source.mine(vec![]);
	source.mine(vec![dispute.clone()]);
	wait_until("the breach block is processed", at_source_tip).await;
	assert_eq!(h.recorder.take(), vec![penalty_id]);

	// A longer branch from block 1 with the breach in its third block.
	let new_tip = source.fork(1, vec![vec![], vec![], vec![dispute.clone()]]);
	wait_until("the new branch is followed", at_source_tip).await;
	assert_eq!(h.core.db.tip().unwrap(), Some((new_tip, 4)));
	assert_eq!(h.recorder.take(), vec![dispute_id, penalty_id, dispute_id, penalty_id, penalty_id]);
	let tracker = tracker_of(&h, &dispute, &sk);
	assert_eq!((tracker.dispute_height, tracker.penalty_height), (Some(4), None));

	// The penalty confirms on the new branch and is followed until buried.
	source.mine(vec![penalty.clone()]);
	for _ in 0..5 {
		source.mine(vec![]);
	}
	wait_until("the penalty is buried", at_source_tip).await;
	assert!(h.recorder.take().is_empty());
	assert_eq!(h.core.responder.tracker_count(), 0);

	stop.send(true).unwrap();
	poller.join().unwrap();
}
