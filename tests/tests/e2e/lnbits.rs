//! LNbits, installed from PyPI and run for real, on fulgur's compatibility surfaces: the
//! Phoenixd surface as LNbits' `PhoenixdWallet` funding source receives and pays.

use std::collections::BTreeMap;

use fulgur_compat::phoenixd::Passwords;
use fulgur_node::{PayRequest, PaymentHash, PaymentStatus};
use fulgur_tests::lnbits::Lnbits;
use fulgur_tests::topology::ChannelSpec;
use fulgur_tests::TestNet;

/// The harness itself: LNbits installs, starts, answers and makes wallets (on its void
/// funding source, which needs no node).
#[tokio::test(flavor = "multi_thread")]
async fn lnbits_starts_and_creates_wallets() {
	let dir = fulgur_tests::test_dir();
	let funding =
		BTreeMap::from([("LNBITS_BACKEND_WALLET_CLASS".to_string(), "VoidWallet".to_string())]);
	let lnbits = Lnbits::start(&dir.path().join("lnbits"), &funding).await.expect("LNbits starts");
	let wallet = lnbits.create_wallet("shop").await.expect("wallet");
	assert_eq!(wallet.admin_key.len(), 32, "{wallet:?}");
	assert_ne!(wallet.admin_key, wallet.invoice_key);
	assert_eq!(lnbits.balance_msat(&wallet).await.expect("balance"), 0);
}

/// LNbits on the Phoenixd surface of `shop`: through LNbits' own API a wallet's invoice is
/// paid by `customer` (two hops away) and seen paid, then the wallet pays an invoice of
/// `customer` and LNbits reports it paid with the routing fee `hub` took.
#[tokio::test(flavor = "multi_thread")]
async fn lnbits_receives_and_pays_through_the_phoenixd_surface() {
	let net = TestNet::new(&["shop", "hub", "customer"]).await;
	net.open_channels(&[
		ChannelSpec {
			from: "shop",
			to: "hub",
			amount_sat: 1_000_000,
			push_msat: 500_000_000,
			announce: true,
		},
		ChannelSpec {
			from: "hub",
			to: "customer",
			amount_sat: 1_000_000,
			push_msat: 500_000_000,
			announce: true,
		},
	])
	.await;
	let shop = net.node("shop");
	let passwords = Passwords::load_or_create(&shop.data_dir).expect("phoenixd passwords");
	let surface = fulgur_compat::phoenixd::serve(([127, 0, 0, 1], 0).into(), passwords.clone())
		.expect("phoenixd surface");
	surface.attach(shop.node.clone());
	let funding = BTreeMap::from([
		("LNBITS_BACKEND_WALLET_CLASS".to_string(), "PhoenixdWallet".to_string()),
		("PHOENIXD_API_ENDPOINT".to_string(), surface.url()),
		("PHOENIXD_API_PASSWORD".to_string(), passwords.full.clone()),
	]);
	let lnbits =
		Lnbits::start(&net.dir.path().join("lnbits"), &funding).await.expect("LNbits starts");
	let wallet = lnbits.create_wallet("shop").await.expect("wallet");

	// Receive: LNbits makes the invoice on the node, the customer pays, LNbits sees it paid.
	let (hash, bolt11) = lnbits.create_invoice(&wallet, 20_000, "coffee").await.expect("invoice");
	assert!(shop.node.get_invoice(&payment_hash(&hash)).is_some(), "the invoice is the node's");
	let customer = &net.node("customer").node;
	let request = PayRequest { invoice: bolt11, amount_msat: None, max_fee_msat: None };
	let paid = customer.pay(request, true).await.expect("customer pays");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	net.wait_for("LNbits sees its invoice paid", || async {
		lnbits.payment(&wallet, &hash).await.is_ok_and(|p| p.paid)
	})
	.await;
	let received = lnbits.payment(&wallet, &hash).await.expect("payment");
	assert_eq!(received.amount_msat, 20_000_000, "{:?}", received.raw);
	net.wait_for("LNbits credits the wallet", || async {
		lnbits.balance_msat(&wallet).await.is_ok_and(|b| b == 20_000_000)
	})
	.await;

	// Pay: LNbits pays the customer's invoice through the node, with the hub's fee.
	let invoice = customer.create_invoice(Some(5_000_000), "refund", None).await.expect("invoice");
	let payment = lnbits.pay_invoice(&wallet, &invoice.bolt11).await.expect("LNbits pays");
	assert_eq!(payment["payment_hash"], invoice.payment_hash.as_str(), "{payment}");
	net.invoice_paid("customer", &invoice.payment_hash).await;
	net.wait_for("LNbits reports its payment paid", || async {
		lnbits.payment(&wallet, &invoice.payment_hash).await.is_ok_and(|p| p.paid)
	})
	.await;
	let sent = lnbits.payment(&wallet, &invoice.payment_hash).await.expect("payment");
	let ours = shop
		.node
		.list_payments()
		.into_iter()
		.find(|p| p.payment_hash.as_deref() == Some(invoice.payment_hash.as_str()))
		.expect("the node's payment");
	let fee_msat = ours.fee_msat.expect("fee known");
	assert!(fee_msat > 0, "the hub charged a fee: {ours:?}");
	// LNbits keeps outgoing amounts and fees negative, in msat.
	assert_eq!(sent.amount_msat, -5_000_000, "{:?}", sent.raw);
	assert_eq!(
		sent.fee_msat,
		-i64::try_from(fee_msat.div_ceil(1000) * 1000).unwrap(),
		"{:?}",
		sent.raw
	);
	assert_eq!(sent.preimage, ours.preimage, "{:?}", sent.raw);

	// LNbits listened on /websocket all along (it says so when it connects, and when it
	// loses the connection).
	let log = lnbits.log();
	assert!(log.contains("connected to phoenixd invoices stream"), "{log}");
	assert!(!log.contains("lost connection to phoenixd invoices stream"), "{log}");

	drop(lnbits);
	surface.shutdown().await;
	net.shutdown().await;
}

fn payment_hash(hex: &str) -> PaymentHash {
	let mut bytes = [0u8; 32];
	for (i, byte) in bytes.iter_mut().enumerate() {
		*byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
	}
	PaymentHash(bytes)
}
