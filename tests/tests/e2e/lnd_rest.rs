//! The LND REST surface over real TLS against a regtest node: the certificate it made is the
//! only root the client trusts, requests carry the node's macaroons, and the answers follow
//! LND's JSON rules (string int64s, base64 bytes in bodies, hex where LND uses hex, streams of
//! `{"result":..}` lines). Money moves both ways between two real nodes.

use std::net::SocketAddr;
use std::sync::Arc;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
use fulgur_compat::lnd_rest::encoding::{base64, base64_url, decode_base64};
use fulgur_node::ApiScope;
use fulgur_tests::TestNet;
use hyper::body::HttpBody;
use hyper::{Body, Method, Request};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An HTTPS client that trusts only the node's own certificate.
struct LndClient {
	addr: SocketAddr,
	tls: tokio_rustls::TlsConnector,
	macaroon: Option<String>,
}

impl LndClient {
	fn new(addr: SocketAddr, cert_path: &std::path::Path, macaroon: Option<String>) -> LndClient {
		let mut roots = rustls::RootCertStore::empty();
		for cert in CertificateDer::pem_file_iter(cert_path).expect("cert file") {
			roots.add(cert.expect("cert")).expect("root");
		}
		let provider = Arc::new(rustls::crypto::ring::default_provider());
		let config = rustls::ClientConfig::builder_with_provider(provider)
			.with_safe_default_protocol_versions()
			.expect("versions")
			.with_root_certificates(roots)
			.with_no_client_auth();
		LndClient { addr, tls: tokio_rustls::TlsConnector::from(Arc::new(config)), macaroon }
	}

	fn with(&self, macaroon: Option<String>) -> LndClient {
		LndClient { addr: self.addr, tls: self.tls.clone(), macaroon }
	}

	/// Sends one request (server name `name`) and returns the status and the body.
	async fn send_as(
		&self, name: &str, method: Method, path: &str, body: Option<Value>,
	) -> (u16, Body) {
		let tcp = tokio::net::TcpStream::connect(self.addr).await.expect("connect");
		let server_name = ServerName::try_from(name.to_string()).expect("server name");
		let tls = self.tls.connect(server_name, tcp).await.expect("TLS handshake");
		let (mut sender, conn) = hyper::client::conn::handshake(tls).await.expect("http");
		tokio::spawn(conn);
		let mut req = Request::builder().method(method).uri(path).header("host", "localhost");
		if let Some(macaroon) = &self.macaroon {
			// Header names are matched in any letter case.
			req = req.header("GRPC-METADATA-MACAROON", macaroon.as_str());
		}
		let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
		let response = sender.send_request(req.body(body).expect("request")).await.expect("send");
		(response.status().as_u16(), response.into_body())
	}

	async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
		let (status, body) = self.send_as("localhost", method, path, body).await;
		let bytes = hyper::body::to_bytes(body).await.expect("body");
		let text = String::from_utf8_lossy(&bytes).to_string();
		(status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}")))
	}

	async fn get(&self, path: &str) -> Value {
		let (status, body) = self.call(Method::GET, path, None).await;
		assert_eq!(status, 200, "GET {path}: {body}");
		body
	}

	async fn post(&self, path: &str, body: Value) -> Value {
		let (status, body) = self.call(Method::POST, path, Some(body)).await;
		assert_eq!(status, 200, "POST {path}: {body}");
		body
	}

	/// A stream's lines, read one at a time.
	async fn stream(&self, method: Method, path: &str, body: Option<Value>) -> Lines {
		let (status, body) = self.send_as("localhost", method, path, body).await;
		assert_eq!(status, 200, "{path}");
		Lines { body, buffer: Vec::new() }
	}
}

struct Lines {
	body: Body,
	buffer: Vec<u8>,
}

impl Lines {
	/// The next line as JSON (each must be one compact object on its own line); `None` at the
	/// end of the stream.
	async fn next(&mut self) -> Option<Value> {
		loop {
			if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
				let line: Vec<u8> = self.buffer.drain(..=end).collect();
				let text = String::from_utf8(line).expect("utf-8");
				let value: Value = serde_json::from_str(text.trim()).expect("a JSON line");
				assert_eq!(text, format!("{value}\n"), "one compact object per line");
				return Some(value);
			}
			let chunk = tokio::time::timeout(fulgur_tests::STEP, self.body.data())
				.await
				.expect("a stream line in time")?;
			self.buffer.extend_from_slice(&chunk.expect("chunk"));
		}
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lnd_rest_over_tls_receives_and_sends() {
	let mut net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("alice", "bob", 1_000_000, 300_000_000).await;
	let alice_index = net.nodes.iter().position(|n| n.name == "alice").expect("alice");
	let lnd = net.nodes[alice_index].serve_lnd_rest(0).await.expect("LND REST");
	let (addr, cert) = (lnd.local_addr(), lnd.tls_cert_path());
	let hex = |scope| Some(lnd.macaroon_hex(scope));
	let (admin_hex, invoice_hex, readonly_hex) =
		(hex(ApiScope::Admin), hex(ApiScope::Invoice), hex(ApiScope::Readonly));
	assert!(cert.ends_with("lnd/tls.cert"));
	let admin = LndClient::new(addr, &cert, admin_hex.map(|h| h.to_uppercase()));
	let alice_id = net.node("alice").node.node_id().to_string();

	// TLS is not optional: plain HTTP gets no HTTP answer.
	let mut plain = tokio::net::TcpStream::connect(addr).await.expect("connect");
	plain.write_all(b"GET /v1/getinfo HTTP/1.1\r\nhost: x\r\n\r\n").await.expect("write");
	let mut answer = Vec::new();
	let _ = tokio::time::timeout(fulgur_tests::STEP, plain.read_to_end(&mut answer)).await;
	assert!(!answer.starts_with(b"HTTP/"), "plain HTTP answered: {answer:?}");

	// The certificate names 127.0.0.1 too.
	let (status, _) = admin.send_as("127.0.0.1", Method::GET, "/v1/getinfo", None).await;
	assert_eq!(status, 200);
	let info = admin.get("/v1/getinfo").await;
	assert_eq!(info["identity_pubkey"], alice_id.as_str());
	assert_eq!(info["version"], "0.19.0-beta");
	assert_eq!(info["chains"], json!([{ "chain": "bitcoin", "network": "regtest" }]));
	assert_eq!(info["num_active_channels"], 1);
	assert!(info["best_header_timestamp"].is_string(), "int64 as a string: {info}");
	let balance = admin.get("/v1/balance/channels").await;
	let local_msat: u64 =
		net.node("alice").node.list_channels().iter().map(|c| c.local_balance_msat).sum();
	assert_eq!(balance["balance"], (local_msat / 1000).to_string(), "{balance}");
	assert_eq!(balance["local_balance"]["msat"], local_msat.to_string());

	// Scopes: no macaroon, a forged one, and too little permission are refused in LND's shape.
	let (status, body) = admin.with(None).call(Method::GET, "/v1/getinfo", None).await;
	assert_eq!((status, body["code"].as_i64()), (401, Some(16)), "{body}");
	assert_eq!(body["details"], json!([]));
	let forged = admin.with(Some("02".repeat(60)));
	assert_eq!(forged.call(Method::GET, "/v1/getinfo", None).await.0, 401);
	let readonly = admin.with(readonly_hex);
	let (status, body) =
		readonly.call(Method::POST, "/v1/invoices", Some(json!({ "value": 5 }))).await;
	assert_eq!((status, body["message"].as_str()), (403, Some("permission denied")), "{body}");
	let invoice_scope = admin.with(invoice_hex);
	let send = json!({ "payment_request": "lnbcrt1", "timeout_seconds": 30 });
	let (status, body) = invoice_scope.call(Method::POST, "/v2/router/send", Some(send)).await;
	assert_eq!((status, body["message"].as_str()), (403, Some("permission denied")), "{body}");
	assert_eq!(readonly.get("/v1/balance/channels").await, balance, "readonly reads");
	// As LND's invoice macaroon: invoices and the on-chain balance, not the node's state.
	for path in ["/v1/getinfo", "/v1/balance/channels", "/v1/channels", "/v1/payments"] {
		let (status, body) = invoice_scope.call(Method::GET, path, None).await;
		assert_eq!((status, body["message"].as_str()), (403, Some("permission denied")), "{path}");
	}
	invoice_scope.get("/v1/invoices").await;
	invoice_scope.get("/v1/balance/blockchain").await;

	// Bad input: LND-shaped errors, no panic.
	let (status, body) = admin.call(Method::POST, "/v1/invoices", None).await;
	assert_eq!(status, 200, "an empty body is an amountless invoice: {body}");
	for bad in [json!({ "value": "12x" }), json!({ "value": -1 }), json!({ "r_preimage": "AQID" })]
	{
		let (status, body) = admin.call(Method::POST, "/v1/invoices", Some(bad.clone())).await;
		assert_eq!((status, body["code"].as_i64()), (400, Some(3)), "{bad}: {body}");
	}
	let (status, body) = admin.call(Method::GET, "/v1/invoice/nothex", None).await;
	assert_eq!((status, body["code"].as_i64()), (400, Some(3)), "{body}");
	let (status, _) =
		admin.call(Method::GET, &format!("/v1/invoice/{}", "00".repeat(32)), None).await;
	assert_eq!(status, 404);

	// Receiving: an invoice for the client's preimage (as LNbits makes them), paid by bob,
	// seen settled on the subscription and by lookup.
	let mut invoices = admin.stream(Method::GET, "/v1/invoices/subscribe", None).await;
	let preimage = [7u8; 32];
	let hash = sha256::Hash::hash(&preimage).to_byte_array();
	let added = admin
		.post(
			"/v1/invoices",
			json!({ "value": "1000", "memo": "coffee", "private": "True",
				"r_preimage": base64(&preimage), "r_hash": base64(&hash) }),
		)
		.await;
	assert_eq!(added["r_hash"], base64(&hash));
	assert!(added["add_index"].is_string());
	let bolt11 = added["payment_request"].as_str().expect("payment_request").to_string();
	let decoded = admin.get(&format!("/v1/payreq/{bolt11}")).await;
	assert_eq!(decoded["payment_hash"], hash.to_lower_hex_string(), "hex in PayReq");
	assert_eq!(decoded["num_satoshis"], "1000");
	let request = fulgur_api::wire::payments::PayRequest {
		invoice: bolt11.clone(),
		amount_msat: None,
		max_fee_msat: None,
	};
	net.api("bob").pay(&request, true).await.expect("bob pays");
	let settled = loop {
		let line = invoices.next().await.expect("an invoice line");
		let invoice = line["result"].clone();
		if invoice["r_hash"] == base64(&hash) && invoice["state"] == "SETTLED" {
			break invoice;
		}
	};
	assert_eq!(settled["settled"], true);
	assert_eq!(settled["r_preimage"], base64(&preimage), "the client's preimage was used");
	assert_eq!(settled["amt_paid_msat"], "1000000");
	assert!(settled["settle_index"].as_str().is_some_and(|i| i != "0"));
	let looked_up = admin.get(&format!("/v1/invoice/{}", hash.to_lower_hex_string())).await;
	assert_eq!(
		(looked_up["state"].as_str(), looked_up["settled"].as_bool()),
		(Some("SETTLED"), Some(true))
	);
	let by_query = admin.get(&format!("/v1/invoice?r_hash={}", base64_url(&hash))).await;
	assert_eq!(by_query["payment_request"], bolt11.as_str());
	let listed = admin.get("/v1/invoices?reversed=True&num_max_invoices=10").await;
	let listed = listed["invoices"].as_array().expect("invoices").clone();
	assert_eq!(listed.len(), 2, "the amountless one and ours");
	assert!(listed.iter().any(|i| i["r_hash"] == base64(&hash) && i["state"] == "SETTLED"));
	let pending = admin.get("/v1/invoices?pending_only=true").await;
	assert_eq!(pending["invoices"].as_array().map(Vec::len), Some(1), "{pending}");
	// A description hash (LNURL-pay's metadata) is committed to instead of a memo; not on hold
	// invoices; it must be 32 bytes.
	let metadata_hash = sha256::Hash::hash(b"[[\"text/plain\",\"coffee\"]]").to_byte_array();
	let committed = admin
		.post(
			"/v1/invoices",
			json!({ "value_msat": "21000", "memo": "kept in the record",
				"description_hash": base64(&metadata_hash) }),
		)
		.await;
	let committed_bolt11 = committed["payment_request"].as_str().expect("payment_request");
	let decoded = admin.get(&format!("/v1/payreq/{committed_bolt11}")).await;
	assert_eq!(decoded["description_hash"], metadata_hash.to_lower_hex_string(), "{decoded}");
	assert_eq!(decoded["description"], "", "{decoded}");
	let (status, body) = admin
		.call(
			Method::POST,
			"/v1/invoices",
			Some(json!({ "value": 1, "description_hash": base64(&[1u8; 31]) })),
		)
		.await;
	assert_eq!((status, body["code"].as_i64()), (400, Some(3)), "{body}");
	let (status, body) = admin
		.call(
			Method::POST,
			"/v2/invoices/hodl",
			Some(json!({ "value": 1, "hash": base64(&[2u8; 32]),
				"description_hash": base64(&metadata_hash) })),
		)
		.await;
	assert_eq!(status, 501, "{body}");

	// Sending: bob's invoice, paid through /v2/router/send with only the final update.
	let bob_invoice =
		net.api("bob").create_invoice(Some(2_000_000), "tea", None).await.expect("bob's invoice");
	let send = json!({ "payment_request": bob_invoice.bolt11, "fee_limit_msat": "10000",
		"timeout_seconds": 30, "no_inflight_updates": true, "allow_self_payment": "False" });
	let mut sent = admin.stream(Method::POST, "/v2/router/send", Some(send)).await;
	let last = sent.next().await.expect("the final payment");
	assert!(sent.next().await.is_none(), "only the final update");
	let payment = &last["result"];
	assert_eq!(payment["status"], "SUCCEEDED", "{last}");
	assert_eq!(payment["payment_hash"], bob_invoice.payment_hash.as_str(), "hex in Payment");
	let preimage_hex = payment["payment_preimage"].as_str().expect("preimage").to_string();
	assert_eq!(preimage_hex.len(), 64);
	assert_eq!(payment["fee_msat"], "0", "a direct channel");
	assert_eq!(payment["value_msat"], "2000000");
	assert_eq!(payment["failure_reason"], "FAILURE_REASON_NONE");
	let bob_hash: Vec<u8> =
		bitcoin::hex::FromHex::from_hex(&bob_invoice.payment_hash).expect("hex");
	assert_eq!(decode_base64(&base64_url(&bob_hash)), Some(bob_hash.clone()));
	let mut tracked = admin
		.stream(Method::GET, &format!("/v2/router/track/{}", base64_url(&bob_hash)), None)
		.await;
	let line = tracked.next().await.expect("tracked");
	assert_eq!(line["result"]["status"], "SUCCEEDED");
	assert_eq!(line["result"]["payment_preimage"], preimage_hex.as_str());
	// A stream that fails at once answers as grpc-gateway does: the status and {"error":..}.
	let unknown = format!("/v2/router/track/{}", base64_url(&[9; 32]));
	let (status, body) = admin.call(Method::GET, &unknown, None).await;
	assert_eq!(status, 404, "{body}");
	assert_eq!(body["error"]["message"], "payment isn't initiated", "{body}");
	let again = json!({ "payment_request": bob_invoice.bolt11, "timeout_seconds": 30 });
	let (status, body) = admin.call(Method::POST, "/v2/router/send", Some(again)).await;
	assert_eq!(status, 409, "{body}");
	assert_eq!(body["error"]["message"], "invoice is already paid", "{body}");
	let payments = admin.get("/v1/payments?include_incomplete=True&max_payments=20").await;
	assert_eq!(payments["payments"][0]["payment_hash"], bob_invoice.payment_hash.as_str());
	assert_eq!(payments["payments"][0]["status"], "SUCCEEDED");

	// Keysend as LND clients send it: their preimage in record 5482373484, its hash as
	// payment_hash, and a custom record for the payee (odd, so bob need not know it).
	let bob_id = net.node("bob").node.node_id();
	let keysend_preimage = [11u8; 32];
	let keysend_hash = sha256::Hash::hash(&keysend_preimage).to_byte_array();
	let keysend = |preimage: &[u8; 32]| {
		json!({ "dest": base64(&bob_id.serialize()), "amt_msat": "3000", "timeout_seconds": 30,
			"payment_hash": base64(&keysend_hash), "no_inflight_updates": true,
			"dest_custom_records": { "5482373484": base64(preimage), "7629169": base64(b"boost") } })
	};
	let (status, body) =
		admin.call(Method::POST, "/v2/router/send", Some(keysend(&[12u8; 32]))).await;
	assert_eq!(
		(status, body["code"].as_i64()),
		(400, Some(3)),
		"a preimage of another hash: {body}"
	);
	// timeout_seconds is the payment's retry time: up to an hour.
	let mut long = keysend(&keysend_preimage);
	long["timeout_seconds"] = json!(7200);
	let (status, body) = admin.call(Method::POST, "/v2/router/send", Some(long)).await;
	assert_eq!(status, 400, "{body}");
	assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("3600")), "{body}");
	let mut low = keysend(&keysend_preimage);
	low["dest_custom_records"]["34349"] = json!(base64(b"x"));
	let (status, body) = admin.call(Method::POST, "/v2/router/send", Some(low)).await;
	assert_eq!(status, 400, "{body}");
	assert_eq!(body["message"], "no custom records with types below 65536 allowed");
	let mut sent =
		admin.stream(Method::POST, "/v2/router/send", Some(keysend(&keysend_preimage))).await;
	let last = sent.next().await.expect("the keysend's final state");
	assert_eq!(last["result"]["status"], "SUCCEEDED", "{last}");
	assert_eq!(last["result"]["payment_hash"], keysend_hash.to_lower_hex_string());
	assert_eq!(last["result"]["payment_preimage"], keysend_preimage.to_lower_hex_string());
	assert_eq!(last["result"]["value_msat"], "3000");
	// Tracked by its hash, as LND clients follow a payment.
	let track = format!("/v2/router/track/{}", base64_url(&keysend_hash));
	let tracked = admin.stream(Method::GET, &track, None).await.next().await.expect("tracked");
	assert_eq!(tracked["result"]["status"], "SUCCEEDED", "{tracked}");
	let bob = net.node("bob").node.clone();
	let bob_received = || bob.get_payment(&fulgur_node::PaymentId(keysend_hash));
	net.wait_for("bob records the keysend", || {
		let seen =
			bob_received().is_some_and(|p| p.status == fulgur_node::PaymentStatus::Succeeded);
		async move { seen }
	})
	.await;
	let received = bob_received().expect("bob recorded the keysend");
	assert_eq!(received.direction, fulgur_node::PaymentDirection::Inbound);
	assert_eq!(received.status, fulgur_node::PaymentStatus::Succeeded);
	assert_eq!(received.amount_msat, Some(3000));
	drop(invoices);
	net.shutdown().await;
}

/// `GET /v1/channels/closed` answers from the node's closed-channel records: capacity, the
/// closing transaction, LND's close type and our settled balance, filtered by LND's flags.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lnd_rest_lists_closed_channels_from_the_records() {
	let mut net = TestNet::new(&["alice", "bob"]).await;
	let channel = net.open_channel("alice", "bob", 500_000, 200_000_000).await;
	let alice_api = net.api("alice");
	alice_api.close_channel(&channel, false).await.expect("close");
	net.wait_for("the closing transaction in the mempool", || async {
		net.bitcoind.mempool_size().await.unwrap_or(0) > 0
	})
	.await;
	net.mine(1).await;
	net.wait_for("alice knows the closing transaction", || async {
		let closed = alice_api.list_closed_channels().await.unwrap_or_default();
		closed.iter().any(|c| c.channel_id == channel && c.closing_txid.is_some())
	})
	.await;
	let record = alice_api.list_closed_channels().await.expect("closed").remove(0);
	let alice_index = net.nodes.iter().position(|n| n.name == "alice").expect("alice");
	let lnd = net.nodes[alice_index].serve_lnd_rest(0).await.expect("LND REST");
	let readonly = Some(lnd.macaroon_hex(ApiScope::Readonly));
	let client = LndClient::new(lnd.local_addr(), &lnd.tls_cert_path(), readonly);
	let closed = client.get("/v1/channels/closed").await;
	let channels = closed["channels"].as_array().expect("channels");
	assert_eq!(channels.len(), 1, "{closed}");
	let c = &channels[0];
	assert_eq!(c["channel_id"], json!(channel));
	assert_eq!(c["capacity"], json!("500000"));
	assert_eq!(c["settled_balance"], json!(record.settled_balance_sat.to_string()));
	assert_eq!(c["closing_tx_hash"], json!(record.closing_txid.expect("txid")));
	assert_eq!(c["close_type"], json!("COOPERATIVE_CLOSE"));
	assert_eq!(c["remote_pubkey"], json!(net.node("bob").node.node_id().to_string()));
	let forced = client.get("/v1/channels/closed?local_force=true&remote_force=1").await;
	assert_eq!(forced["channels"], json!([]), "{forced}");
	let cooperative = client.get("/v1/channels/closed?cooperative=true").await;
	assert_eq!(cooperative["channels"].as_array().map(Vec::len), Some(1), "{cooperative}");
	let (status, _) = client.call(Method::GET, "/v1/channels/closed?breach=maybe", None).await;
	assert_eq!(status, 400);
	net.shutdown().await;
}

/// The next line of `stream` that is about the invoice `r_hash` (base64).
async fn line_about(stream: &mut Lines, r_hash: &Value) -> Value {
	loop {
		let line = stream.next().await.expect("an invoice line");
		if line["result"]["r_hash"] == *r_hash {
			return line["result"].clone();
		}
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lnd_rest_invoice_subscription_resumes_from_stored_indexes() {
	let mut net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("bob", "alice", 1_000_000, 0).await;
	let alice_index = net.nodes.iter().position(|n| n.name == "alice").expect("alice");
	let lnd = net.nodes[alice_index].serve_lnd_rest(0).await.expect("LND REST");
	let admin = LndClient::new(
		lnd.local_addr(),
		&lnd.tls_cert_path(),
		Some(lnd.macaroon_hex(ApiScope::Admin)),
	);
	let index = |invoice: &Value, field: &str| -> u64 {
		invoice[field].as_str().and_then(|i| i.parse().ok()).unwrap_or_else(|| panic!("{invoice}"))
	};

	// A new invoice is sent live, OPEN, with the add_index its creation answered.
	let mut stream = admin.stream(Method::GET, "/v1/invoices/subscribe", None).await;
	let first = admin.post("/v1/invoices", json!({ "value": "2000", "memo": "first" })).await;
	let open = line_about(&mut stream, &first["r_hash"]).await;
	assert_eq!(open["state"], "OPEN", "{open}");
	assert_eq!(open["add_index"], first["add_index"]);
	assert_eq!(open["settle_index"], "0");
	let first_add = index(&first, "add_index");
	assert!(first_add > 0);

	// Paid: SETTLED with the next settle_index.
	let bolt11 = first["payment_request"].as_str().expect("payment_request").to_string();
	let request = fulgur_api::wire::payments::PayRequest {
		invoice: bolt11,
		amount_msat: None,
		max_fee_msat: None,
	};
	net.api("bob").pay(&request, true).await.expect("bob pays");
	let settled = line_about(&mut stream, &first["r_hash"]).await;
	assert_eq!(settled["state"], "SETTLED", "{settled}");
	assert_eq!(settled["add_index"], first["add_index"], "the add_index never changes");
	let first_settle = index(&settled, "settle_index");
	assert!(first_settle > 0);
	let second = admin.post("/v1/invoices", json!({ "value": "3000", "memo": "second" })).await;
	let open = line_about(&mut stream, &second["r_hash"]).await;
	assert_eq!(index(&open, "add_index"), first_add + 1, "{open}");
	let request = fulgur_api::wire::payments::PayRequest {
		invoice: second["payment_request"].as_str().expect("payment_request").to_string(),
		amount_msat: None,
		max_fee_msat: None,
	};
	net.api("bob").pay(&request, true).await.expect("bob pays again");
	let settled = line_about(&mut stream, &second["r_hash"]).await;
	assert_eq!(index(&settled, "settle_index"), first_settle + 1, "{settled}");
	drop(stream);

	// Added while nobody listened: a client resuming from the last add_index it saw gets it
	// first, then what is added next; one resuming from a settle_index gets the later settle.
	let third = admin.post("/v1/invoices", json!({ "value": "4000", "memo": "third" })).await;
	assert_eq!(index(&third, "add_index"), first_add + 2);
	let resume = format!("/v1/invoices/subscribe?add_index={}", first_add + 1);
	let mut resumed = admin.stream(Method::GET, &resume, None).await;
	let missed = resumed.next().await.expect("the missed invoice");
	assert_eq!(missed["result"]["r_hash"], third["r_hash"], "{missed}");
	assert_eq!(missed["result"]["state"], "OPEN");
	let fourth = admin.post("/v1/invoices", json!({ "value": "5000", "memo": "fourth" })).await;
	let live = resumed.next().await.expect("the next invoice");
	assert_eq!(live["result"]["r_hash"], fourth["r_hash"], "{live}");
	assert_eq!(index(&live["result"], "add_index"), first_add + 3);
	drop(resumed);
	let resume = format!("/v1/invoices/subscribe?settle_index={first_settle}");
	let mut resumed = admin.stream(Method::GET, &resume, None).await;
	let line = resumed.next().await.expect("the settled invoice");
	assert_eq!(line["result"]["r_hash"], second["r_hash"], "{line}");
	assert_eq!(line["result"]["state"], "SETTLED");
	drop(resumed);

	// The list pages by the same counters.
	let listed = admin.get(&format!("/v1/invoices?index_offset={first_add}")).await;
	let hashes: Vec<&Value> =
		listed["invoices"].as_array().expect("invoices").iter().map(|i| &i["r_hash"]).collect();
	assert_eq!(hashes, vec![&second["r_hash"], &third["r_hash"], &fourth["r_hash"]], "{listed}");
	assert_eq!(index(&listed, "first_index_offset"), first_add + 1);
	assert_eq!(index(&listed, "last_index_offset"), first_add + 3);
	let back = admin
		.get(&format!(
			"/v1/invoices?reversed=true&num_max_invoices=2&index_offset={}",
			first_add + 3
		))
		.await;
	let hashes: Vec<&Value> =
		back["invoices"].as_array().expect("invoices").iter().map(|i| &i["r_hash"]).collect();
	assert_eq!(hashes, vec![&second["r_hash"], &third["r_hash"]], "{back}");
	net.shutdown().await;
}
