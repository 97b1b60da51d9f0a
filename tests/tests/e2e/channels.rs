//! Closing channels: funds come back on-chain, after sweeping where needed.

use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_node::OpenChannelRequest;
use fulgur_tests::TestNet;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cooperative_close_returns_funds_to_both_wallets() {
	let net = TestNet::new(&["alice", "bob"]).await;
	let (alice, bob) = (net.api("alice"), net.api("bob"));
	let bob_before = bob.balance().await.expect("balance").onchain_confirmed_sat;
	let channel = net.open_channel("alice", "bob", 400_000, 100_000_000).await;
	let alice_after_open = alice.balance().await.expect("balance").onchain_confirmed_sat;

	alice.close_channel(&channel, false).await.expect("close");
	net.wait_for("closing transaction in the mempool", || async {
		net.bitcoind.mempool_size().await.unwrap_or(0) > 0
	})
	.await;
	net.mine(1).await;
	net.wait_for("both wallets hold their share", || async {
		let a = alice.balance().await.map(|b| b.onchain_confirmed_sat).unwrap_or(0);
		let b = bob.balance().await.map(|b| b.onchain_confirmed_sat).unwrap_or(0);
		// alice had 300,000 sat in the channel, bob 100,000 (minus closing fee for alice).
		a > alice_after_open + 290_000 && b == bob_before + 100_000
	})
	.await;
	assert!(alice.list_channels().await.expect("channels").is_empty());
	net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn force_close_funds_are_swept_back() {
	let net = TestNet::new(&["alice", "bob"]).await;
	let (alice, bob) = (net.api("alice"), net.api("bob"));
	let bob_before = bob.balance().await.expect("balance").onchain_confirmed_sat;
	let channel = net.open_channel("alice", "bob", 400_000, 100_000_000).await;
	let alice_after_open = alice.balance().await.expect("balance").onchain_confirmed_sat;

	alice.close_channel(&channel, true).await.expect("force close");
	// The commitment (and its anchor bump) confirm; bob's output is free after one block,
	// alice's after her to_self_delay: keep mining until both have been swept.
	net.wait_for("both wallets hold their share after sweeping", || async {
		net.mine(6).await;
		tokio::time::sleep(std::time::Duration::from_millis(300)).await;
		let a = alice.balance().await.map(|b| b.onchain_confirmed_sat).unwrap_or(0);
		let b = bob.balance().await.map(|b| b.onchain_confirmed_sat).unwrap_or(0);
		a > alice_after_open + 280_000 && b > bob_before + 90_000
	})
	.await;
	let balance = alice.balance().await.expect("balance");
	assert_eq!(balance.lightning_claimable_sat, 0, "{balance:?}");
	net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batch_open_funds_several_channels_with_one_transaction() {
	let net = TestNet::new(&["alice", "bob", "carol"]).await;
	let requests: Vec<OpenChannelRequest> = ["bob", "bob", "carol"]
		.iter()
		.map(|name| OpenChannelRequest {
			node_id: net.node(name).node.node_id(),
			address: net.node(name).p2p_addr(),
			amount_sat: 300_000,
			push_msat: Some(10_000_000),
			announce: Some(false),
		})
		.collect();
	let opened = net.node("alice").node.open_channels(requests).await.expect("batch open");
	assert_eq!(opened.len(), 3);
	let txids: std::collections::HashSet<_> =
		opened.iter().map(|o| o.funding_txid.clone().expect("funded")).collect();
	assert_eq!(txids.len(), 1, "one funding transaction for the batch: {opened:?}");
	// LDK broadcasts the batch once every counterparty has signed.
	net.wait_for("the batch transaction in the mempool", || async {
		net.bitcoind.mempool_size().await.unwrap_or(0) == 1
	})
	.await;
	net.mine(6).await;
	net.wait_for("all three channels usable", || async {
		let channels = net.api("alice").list_channels().await.unwrap_or_default();
		channels.iter().filter(|c| c.is_usable).count() == 3
	})
	.await;
	for name in ["bob", "carol"] {
		let invoice =
			net.api(name).create_invoice(Some(1_000_000), "batch", None).await.expect("invoice");
		let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
		let paid = net.api("alice").pay(&req, true).await.expect("pay");
		assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	}
	net.shutdown().await;
}

/// A cooperative close asked for while the peer is away waits for it to come back (LDK
/// refuses to begin one while the peer is disconnected) instead of failing at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cooperative_close_waits_for_a_peer_that_is_reconnecting() {
	let mut net = TestNet::new(&["alice", "bob"]).await;
	let channel = net.open_channel("alice", "bob", 400_000, 100_000_000).await;
	let (index, bob) = net.take("bob");
	bob.stop().await;
	net.wait_for("alice sees bob gone", || async {
		net.channel("alice", &channel).await.is_some_and(|c| !c.is_usable)
	})
	.await;

	let alice = net.api("alice");
	let closing = {
		let channel = channel.clone();
		tokio::spawn(async move { alice.close_channel(&channel, false).await })
	};
	net.start_again("bob", index).await;
	let closed = closing.await.expect("the close task");
	closed.expect("the close waited for bob to reconnect");
	net.wait_for("the closing transaction in the mempool", || async {
		net.bitcoind.mempool_size().await.unwrap_or(0) > 0
	})
	.await;
	net.mine(1).await;
	net.wait_for("the channel gone at alice", || async {
		net.channel("alice", &channel).await.is_none()
	})
	.await;
	net.shutdown().await;
}
