//! LNbits, installed from PyPI and run for real, with fulgur's LND REST surface as its
//! `LndRestWallet` funding source (over TLS with the node's own certificate, the admin
//! macaroon in hex): an LNbits invoice paid by another node is seen paid, and an invoice of
//! another node paid through LNbits is reported paid with the routing fee the node paid.
//! The line is carol - bob - alice, alice under LNbits, so every payment pays bob a fee.

use std::collections::BTreeMap;

use fulgur_api::wire::payments::PayRequest;
use fulgur_node::{ApiScope, PaymentId};
use fulgur_tests::lnbits::Lnbits;
use fulgur_tests::topology::ChannelSpec;
use fulgur_tests::TestNet;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lnbits_lnd_rest_wallet_receives_and_pays() {
	let mut net = TestNet::new(&["alice", "bob", "carol"]).await;
	net.open_channels(&[
		ChannelSpec { push_msat: 400_000_000, ..ChannelSpec::private("alice", "bob", 1_000_000) },
		ChannelSpec { push_msat: 400_000_000, ..ChannelSpec::private("bob", "carol", 1_000_000) },
	])
	.await;
	let alice = net.nodes.iter().position(|n| n.name == "alice").expect("alice");
	let lnd = net.nodes[alice].serve_lnd_rest(0).await.expect("LND REST");
	let funding = BTreeMap::from([
		("LNBITS_BACKEND_WALLET_CLASS".to_string(), "LndRestWallet".to_string()),
		("LND_REST_ENDPOINT".to_string(), lnd.url()),
		("LND_REST_CERT".to_string(), lnd.tls_cert_path().display().to_string()),
		("LND_REST_MACAROON".to_string(), lnd.macaroon_hex(ApiScope::Admin)),
	]);
	let lnbits = Lnbits::start(&net.dir.path().join("lnbits"), &funding).await.expect("LNbits");
	let shop = lnbits.create_wallet("shop").await.expect("wallet");

	// Receiving: an LNbits invoice, paid by carol through bob.
	let (hash, bolt11) =
		lnbits.create_invoice(&shop, 20_000, "coffee").await.expect("LNbits invoice");
	let paid_by_carol = PayRequest { invoice: bolt11, amount_msat: None, max_fee_msat: None };
	net.api("carol").pay(&paid_by_carol, true).await.expect("carol pays");
	net.wait_for("LNbits sees its invoice paid", || async {
		lnbits.payment(&shop, &hash).await.is_ok_and(|p| p.paid)
	})
	.await;
	assert_eq!(lnbits.balance_msat(&shop).await.expect("balance"), 20_000_000);

	// Paying: carol's invoice, paid from the LNbits wallet through alice and bob.
	let carol_invoice =
		net.api("carol").create_invoice(Some(5_000_000), "tea", None).await.expect("invoice");
	let paid = lnbits.pay_invoice(&shop, &carol_invoice.bolt11).await;
	let paid = paid.unwrap_or_else(|e| panic!("{e}\n{}", lnbits.log_tail()));
	assert_eq!(paid["payment_hash"], carol_invoice.payment_hash.as_str(), "{paid}");
	net.wait_for("LNbits reports its payment paid", || async {
		lnbits.payment(&shop, &carol_invoice.payment_hash).await.is_ok_and(|p| p.paid)
	})
	.await;
	let reported = lnbits.payment(&shop, &carol_invoice.payment_hash).await.expect("payment");
	let hash_bytes: [u8; 32] =
		bitcoin::hex::FromHex::from_hex(&carol_invoice.payment_hash).expect("hex");
	let record = net.node("alice").node.get_payment(&PaymentId(hash_bytes)).expect("record");
	let fee_msat = record.fee_msat.expect("fee known");
	assert!(fee_msat > 0, "bob charged a fee: {record:?}");
	assert_eq!(reported.fee_msat.abs(), fee_msat as i64, "{}", reported.raw);
	assert_eq!(reported.preimage, record.preimage, "{}", reported.raw);
	let balance = lnbits.balance_msat(&shop).await.expect("balance");
	assert_eq!(balance, 20_000_000 - 5_000_000 - fee_msat as i64);
	drop(lnbits);
	net.shutdown().await;
}
