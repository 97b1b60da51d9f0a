//! Closed channels on real regtest: a force-close recorded on both sides with its type, its
//! closing transaction and its claimable funds until they are swept (then zero, and the
//! balance's `onchain_claimable_sat` back to 0); a cooperative close with its txid.

use fulgur_api::client::Method;
use fulgur_api::wire::channels::{ClosedChannelInfo, ListChannelsQuery};
use fulgur_api::ApiClient;
use fulgur_tests::TestNet;
use fulgur_web::openapi;

async fn closed(api: &ApiClient, channel_id: &str) -> Option<ClosedChannelInfo> {
	let all = api.list_closed_channels().await.ok()?;
	all.into_iter().find(|c| c.channel_id == channel_id)
}

async fn mempool_txids(net: &TestNet) -> Vec<String> {
	let mempool = net.bitcoind.rpc("getrawmempool", &[]).await.expect("mempool");
	let txids = mempool.as_array().cloned().unwrap_or_default();
	txids.iter().filter_map(|t| t.as_str().map(String::from)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_force_close_shows_its_claimable_funds_until_swept_on_both_sides() {
	let net = TestNet::new(&["alice", "bob"]).await;
	let (alice, bob) = (net.api("alice"), net.api("bob"));
	let channel = net.open_channel("alice", "bob", 400_000, 100_000_000).await;
	assert!(alice.list_closed_channels().await.expect("closed").is_empty());

	alice.close_channel(&channel, true).await.expect("force close");
	// Before any block: the commitment is unconfirmed, both sides' shares still to come.
	net.wait_for("alice records a local force-close", || async {
		closed(&alice, &channel).await.is_some()
	})
	.await;
	net.wait_for("bob records a remote force-close", || async {
		closed(&bob, &channel).await.is_some()
	})
	.await;
	let ours = closed(&alice, &channel).await.expect("alice's record");
	assert_eq!(ours.closing_type, "local_force", "{ours:?}");
	assert_eq!(ours.capacity_sat, 400_000, "{ours:?}");
	assert_eq!(ours.settled_balance_sat, 300_000, "{ours:?}");
	assert_eq!(ours.counterparty_node_id, Some(net.node("bob").node.node_id().to_string()));
	assert!(ours.claimable_sat > 250_000, "{ours:?}");
	let theirs = closed(&bob, &channel).await.expect("bob's record");
	assert_eq!(theirs.closing_type, "remote_force", "{theirs:?}");
	assert_eq!(theirs.settled_balance_sat, 100_000, "{theirs:?}");
	assert!(theirs.claimable_sat > 90_000, "{theirs:?}");
	let balance = alice.balance().await.expect("balance");
	assert!(balance.onchain_claimable_sat >= ours.claimable_sat, "{balance:?}");
	// The same list under `GET /v1/channels?state=closed`.
	let query = ListChannelsQuery { state: Some("closed".into()), ..Default::default() };
	let page = alice.list_channels_page(&query).await.expect("state=closed");
	assert!(page.channels.is_empty(), "{page:?}");
	assert_eq!(page.closed_channels.len(), 1, "{page:?}");
	assert_eq!(page.closed_channels[0].channel_id, channel);
	let bad = ListChannelsQuery { state: Some("gone".into()), ..Default::default() };
	let refused = alice.list_channels_page(&bad).await.expect_err("bad state");
	assert_eq!(refused.code(), "invalid_request", "{refused:?}");

	// The commitment confirms: both sides see the same closing transaction; alice's share
	// is locked for her to_self_delay, so it stays claimable after bob's is swept.
	net.wait_for("a commitment in the mempool", || async { !mempool_txids(&net).await.is_empty() })
		.await;
	net.mine(1).await;
	net.wait_for("both sides know the closing transaction", || async {
		let a = closed(&alice, &channel).await.and_then(|c| c.closing_txid);
		let b = closed(&bob, &channel).await.and_then(|c| c.closing_txid);
		a.is_some() && a == b
	})
	.await;
	let confirmed = closed(&alice, &channel).await.expect("record");
	assert!(confirmed.closing_height.is_some(), "{confirmed:?}");
	assert!(confirmed.claimable_sat > 250_000, "locked until the CSV delay: {confirmed:?}");

	// Past the CSV delay the sweeper takes everything back: nothing claimable any more.
	net.wait_for("both sides swept, nothing claimable", || async {
		net.mine(6).await;
		let a = closed(&alice, &channel).await.map(|c| c.claimable_sat);
		let b = closed(&bob, &channel).await.map(|c| c.claimable_sat);
		let balance = alice.balance().await.map(|b| b.onchain_claimable_sat).ok();
		let bob_balance = bob.balance().await.map(|b| b.onchain_claimable_sat).ok();
		a == Some(0) && b == Some(0) && balance == Some(0) && bob_balance == Some(0)
	})
	.await;
	let swept = closed(&alice, &channel).await.expect("record");
	// The record stays, as it was closed.
	assert_eq!((swept.closing_type.as_str(), swept.settled_balance_sat), ("local_force", 300_000));
	let wallet = alice.balance().await.expect("balance");
	assert!(wallet.onchain_confirmed_sat > 0, "{wallet:?}");
	net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cooperative_close_shows_as_cooperative_with_its_txid() {
	let net = TestNet::new(&["alice", "bob"]).await;
	let (alice, bob) = (net.api("alice"), net.api("bob"));
	let channel = net.open_channel("alice", "bob", 300_000, 50_000_000).await;
	alice.close_channel(&channel, false).await.expect("close");
	net.wait_for("the closing transaction in the mempool", || async {
		!mempool_txids(&net).await.is_empty()
	})
	.await;
	let closing_tx = mempool_txids(&net).await;
	net.mine(1).await;
	net.wait_for("both sides record the close with its txid", || async {
		let a = closed(&alice, &channel).await.and_then(|c| c.closing_txid);
		let b = closed(&bob, &channel).await.and_then(|c| c.closing_txid);
		a.is_some() && a == b
	})
	.await;
	for api in [&alice, &bob] {
		let record = closed(api, &channel).await.expect("record");
		assert_eq!(record.closing_type, "cooperative", "{record:?}");
		assert_eq!(record.capacity_sat, 300_000, "{record:?}");
		let txid = record.closing_txid.clone().expect("txid");
		assert_eq!(closing_tx, vec![txid], "{record:?}");
	}
	assert_eq!(closed(&bob, &channel).await.expect("bob").settled_balance_sat, 50_000);
	// Real answers hold to the OpenAPI description.
	let doc = alice.openapi().await.expect("openapi");
	let answers = [
		("/v1/channels/closed", "ListClosedChannelsResponse"),
		("/v1/channels?state=closed", "ListChannelsResponse"),
		("/v1/channels", "ListChannelsResponse"),
		("/v1/balance", "Balance"),
	];
	for (path, schema) in answers {
		let value = alice.request(Method::GET, path, None).await.expect(path);
		openapi::check(&doc, schema, &value).unwrap_or_else(|e| panic!("{path}: {e}: {value}"));
	}
	net.shutdown().await;
}

/// The closing transaction confirms while bob is offline: bob finds it in the blocks he
/// catches up on at start, and his record of the close survived the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_closing_transaction_confirmed_while_offline_is_found_at_start() {
	let mut net = TestNet::new(&["alice", "bob"]).await;
	let channel = net.open_channel("alice", "bob", 400_000, 100_000_000).await;
	net.api("alice").close_channel(&channel, true).await.expect("force close");
	net.wait_for("bob records the close", || async {
		closed(&net.api("bob"), &channel).await.is_some()
	})
	.await;
	net.wait_for("a commitment in the mempool", || async { !mempool_txids(&net).await.is_empty() })
		.await;
	let before = closed(&net.api("bob"), &channel).await.expect("bob's record");
	let (index, bob) = net.take("bob");
	bob.stop().await;
	net.mine(3).await;
	let alice = net.api("alice");
	net.wait_for("alice knows the closing transaction", || async {
		closed(&alice, &channel).await.and_then(|c| c.closing_txid).is_some()
	})
	.await;
	let ours = closed(&alice, &channel).await.expect("alice's record");
	net.start_again("bob", index).await;
	let bob = net.api("bob");
	let theirs = closed(&bob, &channel).await.expect("bob's record after the restart");
	assert_eq!(theirs.closing_type, "remote_force", "{theirs:?}");
	// Recorded once: whatever LDK hands over again at start keeps the first record.
	assert_eq!(theirs.closed_at, before.closed_at, "{theirs:?}");
	net.wait_for("bob found the closing transaction", || async {
		closed(&bob, &channel).await.and_then(|c| c.closing_txid).is_some()
	})
	.await;
	let theirs = closed(&bob, &channel).await.expect("bob's record");
	assert_eq!(
		(theirs.closing_txid, theirs.closing_height),
		(ours.closing_txid, ours.closing_height)
	);
	net.shutdown().await;
}

/// What decides whether a close is recorded, against real bitcoind: a funding outpoint that
/// never existed (what a stranger's free, fake channel has) is not seen; a real one is,
/// unspent and while the closing transaction spends it in the mempool (once that confirms,
/// the node knows the spend from the block it scanned).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_a_funding_output_bitcoind_has_seen_counts() {
	use fulgur_node::chain::BitcoindClient;
	use fulgur_node::logger::FulgurLogger;

	let net = TestNet::new(&["alice", "bob"]).await;
	let channel = net.open_channel("alice", "bob", 300_000, 0).await;
	let funding = net.channel("alice", &channel).await.and_then(|c| c.funding_txo).expect("txo");
	let funding: bitcoin::OutPoint = funding.parse().expect("outpoint");
	let dir = fulgur_tests::test_dir();
	let log = FulgurLogger::new(
		&dir.path().join("check.log"),
		"check",
		fulgur_node::config::Level::Debug,
	);
	let bitcoind = BitcoindClient::connect(
		&net.bitcoind.rpc_url(),
		net.bitcoind.rpc_user(),
		net.bitcoind.rpc_password(),
		bitcoin::Network::Regtest,
		253,
		fulgur_node::fee_policy::FeePolicy::default(),
		std::sync::Arc::new(log.expect("log")),
	)
	.await
	.expect("bitcoind client");
	let made_up = bitcoin::OutPoint { txid: "ab".repeat(32).parse().expect("txid"), vout: 0 };
	assert!(!bitcoind.outpoint_seen(&made_up).await.expect("rpc"), "a made-up funding");
	assert!(bitcoind.outpoint_seen(&funding).await.expect("rpc"), "unspent");

	net.api("alice").close_channel(&channel, false).await.expect("close");
	net.wait_for("the closing transaction in the mempool", || async {
		!mempool_txids(&net).await.is_empty()
	})
	.await;
	assert!(bitcoind.outpoint_seen(&funding).await.expect("rpc"), "spent in the mempool");
	net.mine(1).await;
	assert!(!bitcoind.outpoint_seen(&funding).await.expect("rpc"), "spent in a block");
	// Which the node knew from the block: the close is recorded, with its transaction.
	net.wait_for("alice records the close with its txid", || async {
		closed(&net.api("alice"), &channel).await.and_then(|c| c.closing_txid).is_some()
	})
	.await;
	net.shutdown().await;
}
