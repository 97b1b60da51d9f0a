//! A node restarted mid-way keeps its channels and keeps paying.

use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_tests::TestNet;

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
