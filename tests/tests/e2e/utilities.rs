//! The utilities on real nodes: decoding a bob invoice and a bob offer, garbage refused;
//! alice signs, bob verifies and recovers alice's node id, a tampered message does not
//! verify; the scopes (decode and verify readonly, sign admin).

use fulgur_api::client::Method;
use fulgur_api::wire::keys::ApiScope;
use fulgur_api::wire::utilities::DecodeRequest;
use fulgur_api::ApiClient;
use fulgur_tests::TestNet;
use fulgur_web::openapi;

fn decode(invoice: &str) -> DecodeRequest {
	DecodeRequest { invoice: invoice.to_string() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn decode_and_sign_verify_round_trip_between_nodes() {
	let net = TestNet::new(&["alice", "bob"]).await;
	let (alice, bob) = (net.api("alice"), net.api("bob"));
	net.open_channel("alice", "bob", 300_000, 0).await;
	let bob_id = net.node("bob").node.node_id().to_string();
	let alice_id = net.node("alice").node.node_id().to_string();

	let invoice = bob.create_invoice(Some(5_000_000), "coffee", Some(600)).await.expect("invoice");
	let decoded = alice.decode(&decode(&invoice.bolt11)).await.expect("decode bolt11");
	assert_eq!(decoded.kind, "bolt11");
	assert_eq!(decoded.network, "regtest");
	assert_eq!(decoded.payee.as_deref(), Some(bob_id.as_str()));
	assert_eq!(decoded.amount_msat, Some(5_000_000));
	assert_eq!(decoded.description.as_deref(), Some("coffee"));
	assert_eq!(decoded.payment_hash.as_deref(), Some(invoice.payment_hash.as_str()));
	assert_eq!(decoded.expiry_secs, Some(600));
	assert_eq!(decoded.created_at.map(|c| c + 600), decoded.expires_at);
	assert!(!decoded.expired && !decoded.features.is_empty(), "{decoded:?}");
	// Readable with a `lightning:` prefix too, and by a read-only key.
	let readonly = scoped(&net, "alice", ApiScope::Readonly).await;
	let prefixed = format!("lightning:{}", invoice.bolt11.to_uppercase());
	assert_eq!(readonly.decode(&decode(&prefixed)).await.expect("prefixed"), decoded);

	let offer = bob.create_offer(Some(21_000), "tea").await.expect("offer");
	let decoded = alice.decode(&decode(&offer)).await.expect("decode offer");
	assert_eq!(decoded.kind, "bolt12_offer");
	assert_eq!(decoded.network, "regtest");
	assert_eq!(decoded.amount_msat, Some(21_000));
	assert_eq!(decoded.description.as_deref(), Some("tea"));
	assert_eq!(decoded.payment_hash, None);

	for garbage in ["hello", "lnbcrt1qqqq", "lno1zzzz"] {
		let e = alice.decode(&decode(garbage)).await.expect_err(garbage);
		assert_eq!((e.code(), e.status()), ("invalid_invoice", Some(400)), "{garbage}: {e:?}");
	}

	let message = "fulgur says hello";
	let signature = alice.sign_message(message).await.expect("sign");
	let verified = bob.verify_message(message, &signature).await.expect("verify");
	assert!(verified.valid, "{verified:?}");
	assert_eq!(verified.node_id.as_deref(), Some(alice_id.as_str()));
	// A read-only key verifies too.
	let bob_readonly = scoped(&net, "bob", ApiScope::Readonly).await;
	assert_eq!(bob_readonly.verify_message(message, &signature).await.expect("ro"), verified);
	let tampered = bob.verify_message("fulgur says hellp", &signature).await.expect("tampered");
	assert!(!tampered.valid, "{tampered:?}");
	assert_ne!(tampered.node_id.as_deref(), Some(alice_id.as_str()));
	let e = bob.verify_message(message, "not a signature").await.expect_err("garbage");
	assert_eq!(e.status(), Some(400), "{e:?}");
	// Real answers hold to the OpenAPI description.
	let doc = alice.openapi().await.expect("openapi");
	for (schema, body) in [
		("DecodedInvoice", format!(r#"{{"invoice": "{}"}}"#, invoice.bolt11)),
		("DecodedInvoice", format!(r#"{{"invoice": "{offer}"}}"#)),
	] {
		let body = serde_json::from_str(&body).expect("body");
		let value = alice.request(Method::POST, "/v1/decode", Some(body)).await.expect("decode");
		openapi::check(&doc, schema, &value).unwrap_or_else(|e| panic!("{schema}: {e}: {value}"));
	}
	let signed = serde_json::json!({ "signature": signature });
	openapi::check(&doc, "SignMessageResponse", &signed).expect("signature fits");
	let value = serde_json::to_value(&verified).expect("json");
	openapi::check(&doc, "VerifyMessageResponse", &value).expect("verification fits");
	// Signing is the admin key's.
	let e = readonly.sign_message(message).await.expect_err("readonly signs");
	assert_eq!(e.status(), Some(403), "{e:?}");
	net.shutdown().await;
}

async fn scoped(net: &TestNet, name: &str, scope: ApiScope) -> ApiClient {
	let created = net.api(name).create_api_key(scope, None).await.expect("key");
	ApiClient::new(&net.node(name).api_url(), &created.secret).expect("client")
}
