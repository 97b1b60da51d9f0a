//! A burst over one channel: payments started together beyond what the channel carries at
//! once wait for a free HTLC slot instead of failing with "no route"; invoices and keysends
//! alike.

use std::time::Duration;

use fulgur_api::wire::invoices::InvoiceStatus;
use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_api::wire::PageQuery;
use fulgur_tests::TestNet;

/// Payments started at once: more than BOLT 2's 483 HTLCs a channel may carry.
const BURST: usize = 500;
/// Of them, every `KEYSEND_EVERY`th is a keysend, the rest pay invoices.
const KEYSEND_EVERY: usize = 5;
/// Above the dust limit, so every HTLC is an output of the commitments (and a slot of its own).
const AMOUNT_MSAT: u64 = 2_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_500_payments_over_one_channel_all_succeed() {
	let net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("alice", "bob", 5_000_000, 0).await;
	let bob = net.api("bob");
	let bob_id = net.node("bob").node.node_id().to_string();
	let mut invoices = Vec::with_capacity(BURST);
	for i in (0..BURST).filter(|i| i % KEYSEND_EVERY != 0) {
		let invoice = bob.create_invoice(Some(AMOUNT_MSAT), &format!("burst {i}"), None).await;
		invoices.push(invoice.expect("bob's invoice").bolt11);
	}

	// Every payment is started at once, as a client script does (without waiting).
	let mut started = tokio::task::JoinSet::new();
	for _ in 0..BURST / KEYSEND_EVERY {
		let (alice, bob_id) = (net.api("alice"), bob_id.clone());
		started.spawn(async move { alice.keysend(&bob_id, AMOUNT_MSAT, false).await });
	}
	let invoice_count = invoices.len();
	for invoice in invoices {
		let alice = net.api("alice");
		started.spawn(async move {
			let request = PayRequest { invoice, amount_msat: None, max_fee_msat: None };
			alice.pay(&request, false).await
		});
	}
	let mut refused = Vec::new();
	while let Some(answer) = started.join_next().await {
		match answer.expect("the pay task") {
			Ok(payment) if payment.status != PaymentStatus::Failed => {}
			Ok(payment) => refused.push(format!("{payment:?}")),
			Err(e) => refused.push(e.to_string()),
		}
	}
	assert!(refused.is_empty(), "{} of {BURST} refused, e.g. {:?}", refused.len(), refused.first());

	let alice = net.api("alice");
	let everything = PageQuery { limit: Some(1000), cursor: None };
	net.wait_for_within("every payment final", Duration::from_secs(300), || async {
		let payments = alice.list_payments(&everything).await.expect("payments").payments;
		payments.iter().all(|p| p.status != PaymentStatus::Pending)
	})
	.await;
	let payments = alice.list_payments(&everything).await.expect("payments").payments;
	let failed: Vec<_> = payments.iter().filter(|p| p.status != PaymentStatus::Succeeded).collect();
	assert!(
		failed.is_empty(),
		"{} of {BURST} did not succeed, e.g. {:?}",
		failed.len(),
		failed.first()
	);
	assert_eq!(payments.len(), BURST);
	let paid = bob.list_invoices(&everything).await.expect("invoices").invoices;
	assert_eq!(paid.iter().filter(|i| i.status == InvoiceStatus::Paid).count(), invoice_count);
	net.shutdown().await;
}
