//! A node whose bitcoind comes back from an older copy of its data directory: when bitcoind is
//! behind the node's best block the node waits (its API says why) and goes on once bitcoind
//! has the block again; when bitcoind's chain replaced the node's blocks, the node rolls back
//! to the fork point from its own stored headers, as a live reorg would.

use std::path::Path;

use fulgur::regtest::launch::RunningNode;
use fulgur_api::wire::channels::OpenChannelRequest;
use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_api::{ApiClient, ClientError};
use fulgur_node::Startup;
use fulgur_tests::{copy_dir, TestNet};
use serde_json::json;

/// Blocks the nodes follow that bitcoind will lose (or have replaced).
const LOST_BLOCKS: u64 = 5;

/// Stops both nodes; returns their indexes in the net.
async fn stop_nodes(net: &mut TestNet) -> (usize, usize) {
	let (alice_index, alice) = net.take("alice");
	alice.stop().await;
	let (bob_index, bob) = net.take("bob");
	bob.stop().await;
	(alice_index, bob_index)
}

/// bitcoind "crashes" and comes back from `older`, a copy of its data directory.
async fn restart_bitcoind_from(net: &mut TestNet, older: &Path) {
	net.bitcoind
		.restart(|dir| {
			std::fs::remove_dir_all(dir)?;
			copy_dir(older, dir)
		})
		.await
		.expect("bitcoind restarts from the older copy");
}

/// Takes a copy of bitcoind's data directory (stopping it for a consistent copy).
async fn copy_bitcoind(net: &mut TestNet) -> std::path::PathBuf {
	let older = net.dir.path().join("bitcoind-older");
	net.bitcoind.restart(|dir| copy_dir(dir, &older)).await.expect("copy of bitcoind's data");
	older
}

async fn wait_at_tip(net: &TestNet, name: &str) {
	net.wait_for(&format!("{name} at bitcoind's tip"), || async {
		let tip = net.bitcoind.rpc("getbestblockhash", &[]).await.ok();
		let info = net.api(name).info().await.ok();
		matches!((tip, info), (Some(tip), Some(info)) if tip.as_str() == Some(&info.block_hash))
	})
	.await;
}

async fn pay(net: &TestNet, amount_msat: u64) {
	let invoice = net.api("bob").create_invoice(Some(amount_msat), "after", None).await;
	let req = PayRequest {
		invoice: invoice.expect("invoice").bolt11,
		amount_msat: None,
		max_fee_msat: None,
	};
	let paid = net.api("alice").pay(&req, true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn node_waits_for_a_bitcoind_behind_its_best_block() {
	let mut net = TestNet::new(&["alice", "bob"]).await;
	let channel = net.open_channel("alice", "bob", 1_000_000, 300_000_000).await;
	let older = copy_bitcoind(&mut net).await;
	let lost = net.bitcoind.mine_empty(LOST_BLOCKS).await.expect("mine");
	let mut raw_blocks = Vec::new();
	for hash in &lost {
		let raw = net.bitcoind.rpc("getblock", &[json!(hash.to_string()), json!(0)]).await;
		raw_blocks.push(raw.expect("raw block"));
	}
	for name in ["alice", "bob"] {
		wait_at_tip(&net, name).await;
	}
	let (alice_index, bob_index) = stop_nodes(&mut net).await;
	restart_bitcoind_from(&mut net, &older).await;

	// alice starts against a bitcoind without her best block: she waits, and her API says so.
	let (dir, rpc, p2p, api_port) = net.launch_spec("alice");
	let startup = Startup::new();
	let starting = tokio::spawn({
		let startup = std::sync::Arc::clone(&startup);
		async move {
			RunningNode::start_reporting("alice", &dir, &rpc, p2p, api_port, |_| {}, startup).await
		}
	});
	let key = std::fs::read_to_string(net.dir.path().join("alice").join("api_key"));
	let client = ApiClient::new(&format!("http://127.0.0.1:{api_port}"), key.expect("key").trim())
		.expect("client");
	net.wait_for("alice's API says she waits for bitcoind", || async {
		client.info().await.is_ok_and(|info| {
			!info.synced && info.sync_status.contains("waiting for bitcoind to reach")
		})
	})
	.await;
	let info = client.info().await.expect("info while starting");
	assert_eq!(info.block_hash, lost[lost.len() - 1].to_string(), "{info:?}");
	assert_eq!(info.num_channels, 1, "{info:?}");
	match client.list_channels().await {
		Err(ClientError::Api { status: 503, code, .. }) => assert_eq!(code, "starting"),
		other => panic!("expected 503 starting while alice starts: {other:?}"),
	}
	assert!(!starting.is_finished(), "alice cannot have started without her best block");

	// bitcoind catches up (the blocks arrive again, as they would from its peers).
	for raw in &raw_blocks {
		net.bitcoind.rpc("submitblock", std::slice::from_ref(raw)).await.expect("submitblock");
	}
	let alice = starting.await.expect("start task").expect("alice starts");
	net.put_back(alice_index, alice);
	net.start_again("bob", bob_index).await;
	wait_at_tip(&net, "alice").await;
	let info = net.api("alice").info().await.expect("info");
	assert!(info.synced && info.sync_status == "synced", "{info:?}");
	for name in ["alice", "bob"] {
		net.wait_for(&format!("channel usable at {name}"), || async {
			net.channel(name, &channel).await.is_some_and(|c| c.is_usable)
		})
		.await;
	}
	pay(&net, 5_000_000).await;
	net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn node_rolls_back_blocks_bitcoind_replaced_while_it_was_stopped() {
	let mut net = TestNet::new(&["alice", "bob"]).await;
	let channel = net.open_channel("alice", "bob", 1_000_000, 300_000_000).await;
	let older = copy_bitcoind(&mut net).await;

	// A second channel whose funding confirms only in blocks that will be replaced.
	net.wait_for("alice's change confirmed", || async {
		net.api("alice").balance().await.is_ok_and(|b| b.onchain_confirmed_sat > 600_000)
	})
	.await;
	let bob = net.node("bob");
	let second = net
		.api("alice")
		.open_channel(&OpenChannelRequest {
			node_id: bob.node.node_id().to_string(),
			address: bob.p2p_addr(),
			amount_sat: 500_000,
			push_msat: None,
			announce: Some(false),
		})
		.await
		.expect("second channel");
	let funding_txid = second.funding_txid.clone().expect("funding txid");
	let funding = net.bitcoind.rpc("getrawtransaction", &[json!(funding_txid)]).await;
	let funding = funding.expect("funding transaction");
	net.bitcoind.mine_empty(LOST_BLOCKS).await.expect("mine");
	net.wait_for("the second channel's funding confirmed at alice", || async {
		let confirmations =
			net.channel("alice", &second.channel_id).await.and_then(|c| c.confirmations);
		confirmations == Some(LOST_BLOCKS as u32)
	})
	.await;
	for name in ["alice", "bob"] {
		wait_at_tip(&net, name).await;
	}
	let (alice_index, bob_index) = stop_nodes(&mut net).await;
	restart_bitcoind_from(&mut net, &older).await;
	// The replacing chain: more blocks (more work) than the one the nodes followed, without
	// the funding transaction.
	net.bitcoind.mine_empty(LOST_BLOCKS + 2).await.expect("mine the other branch");

	net.start_again("alice", alice_index).await;
	net.start_again("bob", bob_index).await;
	for name in ["alice", "bob"] {
		wait_at_tip(&net, name).await;
	}
	// Rolled back: the second channel's funding is no longer confirmed, the first is intact.
	let rolled_back = net.channel("alice", &second.channel_id).await.expect("second channel");
	assert!(
		rolled_back.confirmations.unwrap_or(0) == 0 && !rolled_back.is_usable,
		"{rolled_back:?}"
	);
	for name in ["alice", "bob"] {
		net.wait_for(&format!("first channel usable at {name}"), || async {
			net.channel(name, &channel).await.is_some_and(|c| c.is_usable)
		})
		.await;
	}
	pay(&net, 5_000_000).await;
	// The funding is broadcast again and confirms on the new chain: the channel opens.
	net.bitcoind.rpc("sendrawtransaction", &[funding]).await.expect("funding again");
	net.mine(6).await;
	for name in ["alice", "bob"] {
		net.wait_for(&format!("second channel usable at {name}"), || async {
			net.channel(name, &second.channel_id).await.is_some_and(|c| c.is_usable)
		})
		.await;
	}
	net.shutdown().await;
}
