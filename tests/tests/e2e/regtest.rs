//! `fulgur regtest up`'s network: alice pays carol over two hops, and again after a restart.

use fulgur::regtest::RegtestNetwork;
use fulgur_api::wire::payments::{PayRequest, PaymentStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn regtest_network_routes_two_hops_and_restarts() {
	let dir = tempfile::tempdir().expect("temp dir");
	let network = RegtestNetwork::up(dir.path(), 3).await.expect("network up");
	let file = network.file();
	assert_eq!(file.nodes.len(), 3);
	let written = std::fs::read_to_string(dir.path().join("network.json")).expect("network.json");
	let parsed: serde_json::Value = serde_json::from_str(&written).expect("json");
	assert!(parsed["bitcoind"]["rpc_url"].is_string());
	assert_eq!(parsed["nodes"][2]["name"], "carol");
	// Each node's Phoenixd-compatible API, on loopback, with its two passwords from its data
	// dir.
	let carol = &parsed["nodes"][2];
	let phoenixd_url = carol["phoenixd_url"].as_str().expect("phoenixd_url");
	assert!(phoenixd_url.starts_with("http://127.0.0.1:"), "{phoenixd_url}");
	let password_file = std::fs::read_to_string(dir.path().join("carol/phoenixd/password"));
	assert_eq!(carol["phoenixd_password"].as_str(), Some(password_file.expect("file").trim()));
	let limited = carol["phoenixd_limited_password"].as_str().expect("limited password");
	assert_eq!(limited.len(), 64);
	assert_ne!(Some(limited), carol["phoenixd_password"].as_str());
	// And its LND REST surface: HTTPS on loopback, the certificate and macaroons in its data dir.
	let lnd_url = carol["lnd_rest_url"].as_str().expect("lnd_rest_url");
	assert!(lnd_url.starts_with("https://127.0.0.1:"), "{lnd_url}");
	let cert = carol["lnd_tls_cert_path"].as_str().expect("lnd_tls_cert_path");
	assert_eq!(std::path::Path::new(cert), dir.path().join("carol/lnd/tls.cert"));
	let admin = std::fs::read(dir.path().join("carol/lnd/admin.macaroon")).expect("macaroon");
	let admin_hex = bitcoin::hex::DisplayHex::to_lower_hex_string(admin.as_slice());
	assert_eq!(carol["lnd_admin_macaroon_hex"].as_str(), Some(admin_hex.as_str()));
	let invoice_hex = carol["lnd_invoice_macaroon_hex"].as_str().expect("invoice macaroon");
	assert_ne!(invoice_hex, admin_hex);

	let pay_carol = |network: &RegtestNetwork, amount: u64, label: String| {
		let alice = network.nodes[0].client();
		let carol = network.nodes[2].client();
		async move {
			let invoice = carol.create_invoice(Some(amount), &label, None).await.expect("invoice");
			let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
			let paid = alice.pay(&req, true).await.expect("pay");
			assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
			assert!(paid.fee_msat.unwrap_or(0) > 0, "bob charged a forwarding fee: {paid:?}");
		}
	};
	pay_carol(&network, 50_000_000, "two hops".into()).await;
	// And back: carol pays alice.
	let invoice = network.nodes[0].client().create_invoice(Some(1_000_000), "back", None).await;
	let req = PayRequest {
		invoice: invoice.expect("invoice").bolt11,
		amount_msat: None,
		max_fee_msat: None,
	};
	let paid = network.nodes[2].client().pay(&req, true).await.expect("pay back");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	network.down().await;

	let network = RegtestNetwork::up(dir.path(), 3).await.expect("network restarts");
	assert_eq!(network.file().nodes[0].node_id, file.nodes[0].node_id);
	assert_eq!(network.file().nodes[0].api_url, file.nodes[0].api_url);
	assert_eq!(network.file().nodes[0].phoenixd_password, file.nodes[0].phoenixd_password);
	let lnd = |f: &fulgur::regtest::NetworkFile| {
		f.nodes[0].lnd.as_ref().map(|l| (l.lnd_rest_url.clone(), l.lnd_admin_macaroon_hex.clone()))
	};
	assert_eq!(lnd(&network.file()), lnd(&file), "same port and macaroon after a restart");
	pay_carol(&network, 20_000_000, "after restart".into()).await;
	network.down().await;
}
