//! A node restarted mid-way keeps its channels and keeps paying; a node whose store a newer
//! fulgur wrote to does not start, and misreads nothing.

use std::path::Path;

use fulgur::regtest::launch::RunningNode;
use fulgur_api::wire::invoices::InvoiceStatus;
use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_node::store::SledStore;
use fulgur_tests::TestNet;
use lightning::util::persist::KVStoreSync;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restarted_node_keeps_channels_and_pays() {
	let mut net = TestNet::new(&["alice", "bob"]).await;
	let channel = net.open_channel("alice", "bob", 1_000_000, 0).await;
	for round in 0..3 {
		let invoice = net
			.api("bob")
			.create_invoice(Some(10_000_000), &format!("before restart {round}"), None)
			.await
			.expect("invoice");
		let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
		let paid = net.api("alice").pay(&req, true).await.expect("pay");
		assert_eq!(paid.status, PaymentStatus::Succeeded);
	}
	let before = net.channel("alice", &channel).await.expect("channel");

	net.restart("alice").await;
	let info = net.api("alice").info().await.expect("info");
	assert_eq!(info.num_channels, 1);
	net.wait_for("channel usable again after restart", || async {
		net.channel("alice", &channel).await.map(|c| c.is_usable).unwrap_or(false)
	})
	.await;
	let after = net.channel("alice", &channel).await.expect("channel");
	assert_eq!(after.local_balance_msat, before.local_balance_msat);
	let payments = net.api("alice").list_payments(&Default::default()).await.expect("payments");
	assert_eq!(payments.total, 3);

	let invoice = net
		.api("bob")
		.create_invoice(Some(5_000_000), "after restart", None)
		.await
		.expect("invoice");
	let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
	let paid = net.api("alice").pay(&req, true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded);

	// And the other side restarting works too.
	net.restart("bob").await;
	net.wait_for("channel usable after bob restarts", || async {
		net.channel("alice", &channel).await.map(|c| c.is_usable).unwrap_or(false)
	})
	.await;
	let sent =
		net.api("alice").keysend(&net.node("bob").node.node_id().to_string(), 1_000, true).await;
	assert_eq!(sent.expect("keysend").status, PaymentStatus::Succeeded);
	net.shutdown().await;
}

/// Opens a stopped node's store, waiting until the node let go of it.
async fn open_store_of_stopped_node(net: &TestNet, dir: &Path) -> SledStore {
	let mut store = None;
	net.wait_for("the stopped node's store is free", || {
		let opened = SledStore::open(&dir.join("db")).ok();
		let free = opened.is_some();
		if free {
			store = opened;
		}
		async move { free }
	})
	.await;
	store.expect("store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_with_a_record_of_a_newer_version_does_not_start() {
	let mut net = TestNet::new(&["alice"]).await;
	let kept =
		net.api("alice").create_invoice(Some(1_000_000), "kept", None).await.expect("invoice");
	let (index, node) = net.take("alice");
	let dir = node.data_dir.clone();
	node.stop().await;
	// A newer fulgur's invoice record (version 4, `amount_msat` renamed): read as version 3
	// it would be an amountless invoice.
	let newer_hash = "ab".repeat(32);
	let newer = format!(
		r#"{{"v":4,"payment_hash":"{newer_hash}","bolt11":"lnbcrt1","description":"","amount":{{"msat":1000}},"created_at":1,"expires_at":2,"status":"open","add_index":9,"settle_index":null}}"#
	);
	{
		let store = open_store_of_stopped_node(&net, &dir).await;
		let bytes = newer.clone().into_bytes();
		KVStoreSync::write(&store, "fulgur_invoices", "", &newer_hash, bytes).expect("write");
	}
	let (dir, rpc, p2p, api) = net.launch_spec("alice");
	let refused = match RunningNode::start("alice", &dir, &rpc, p2p, api).await {
		Ok(node) => {
			let invoice = node.client().get_invoice(&newer_hash).await;
			panic!("started, reading the newer record as {invoice:?}")
		}
		Err(e) => e,
	};
	assert!(refused.contains(&format!("fulgur_invoices/{newer_hash}")), "{refused}");
	assert!(refused.contains("version 4") && refused.contains("up to 3"), "{refused}");

	// The store is as the newer fulgur left it; without that record the node starts, its
	// invoice as it was.
	{
		let store = open_store_of_stopped_node(&net, &dir).await;
		let found = KVStoreSync::read(&store, "fulgur_invoices", "", &newer_hash).expect("read");
		assert_eq!(found, newer.as_bytes());
		KVStoreSync::remove(&store, "fulgur_invoices", "", &newer_hash, false).expect("remove");
	}
	net.start_again("alice", index).await;
	let invoice = net.api("alice").get_invoice(&kept.payment_hash).await.expect("invoice");
	assert_eq!(invoice, kept);
	assert_eq!(invoice.status, InvoiceStatus::Open);
	net.shutdown().await;
}
