//! `--receive-delay none`: alice → bob → carol, bob and carol without the hold for their own
//! receives. A payment to bob is processed by bob's early call (LDK's pending HTLC seen and
//! processed at once, not on LDK's random schedule); a payment through bob to carol keeps
//! bob's hold (his early calls do not move while he forwards) and is received early by carol.

use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_node::receive_delay::ReceiveDelay;
use fulgur_tests::TestNet;

const AMOUNT_MSAT: u64 = 20_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn receives_skip_the_hold_and_forwards_keep_it() {
	let net = TestNet::with_configs(&["alice", "bob", "carol"], |name, config| {
		if name != "alice" {
			config.receive_delay = ReceiveDelay::None;
		}
	})
	.await;
	net.open_channel("alice", "bob", 1_000_000, 0).await;
	net.open_channel("bob", "carol", 1_000_000, 0).await;
	let (alice, bob, carol) = (net.api("alice"), net.api("bob"), net.api("carol"));
	let early = |name: &str| net.node(name).node.receives_processed_early();

	// alice pays bob: bob processes the HTLC as soon as it is committed.
	let before = early("bob");
	let invoice = bob.create_invoice(Some(AMOUNT_MSAT), "to bob", None).await.expect("invoice");
	let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
	let paid = alice.pay(&req, true).await.expect("pay bob");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	assert!(early("bob") > before, "bob's receive was not processed early");

	// alice pays carol through bob: bob forwards on LDK's schedule, carol receives early.
	let (bob_before, carol_before) = (early("bob"), early("carol"));
	let invoice = carol.create_invoice(Some(AMOUNT_MSAT), "to carol", None).await.expect("invoice");
	let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
	let paid = alice.pay(&req, true).await.expect("pay carol");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	assert!(early("carol") > carol_before, "carol's receive was not processed early");
	assert_eq!(early("bob"), bob_before, "bob processed a forward without the hold");
	net.shutdown().await;
}
