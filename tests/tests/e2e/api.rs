//! The HTTP API's answers to bad requests, against a real node.

use fulgur_api::ApiClient;
use fulgur_tests::TestNet;
use serde_json::{json, Value};

async fn raw(url: &str, key: Option<&str>, method: &str, path: &str, body: &str) -> (u16, Value) {
	use tokio::io::{AsyncReadExt, AsyncWriteExt};
	let addr = url.trim_start_matches("http://");
	let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
	let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
	let request = format!(
		"{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
		body.len()
	);
	stream.write_all(request.as_bytes()).await.expect("write");
	let mut response = Vec::new();
	stream.read_to_end(&mut response).await.expect("read");
	let text = String::from_utf8_lossy(&response);
	let status: u16 = text.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
	let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
	let json = serde_json::from_str(body).unwrap_or(Value::Null);
	(status, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unauthorized_and_malformed_requests_get_json_errors() {
	let net = TestNet::new(&["alice"]).await;
	let node = net.node("alice");
	let url = node.api_url();

	let (status, body) = raw(&url, None, "GET", "/v1/info", "").await;
	assert_eq!(status, 401);
	assert_eq!(body["code"], "unauthorized");
	let (status, _) = raw(&url, Some("wrong"), "GET", "/v1/info", "").await;
	assert_eq!(status, 401);

	let key = Some(node.api_key.as_str());
	for (path, body) in [
		("/v1/invoices", "{not json"),
		("/v1/invoices", r#"{"description": 5}"#),
		("/v1/invoices", r#"{"description": "x", "amount_msat": -5}"#),
		("/v1/invoices", r#"{"description": "x", "surprise": true}"#),
		("/v1/payments", r#"{"invoice": "lnbcrt1nonsense"}"#),
		("/v1/payments/keysend", r#"{"node_id": "02zz", "amount_msat": 1000}"#),
		("/v1/onchain/send", r#"{"address": "bcrt1qnotanaddress", "amount_sat": 1000}"#),
		("/v1/channels", r#"{"node_id": "nope", "address": "127.0.0.1:1", "amount_sat": 100000}"#),
	] {
		let (status, json) = raw(&url, key, "POST", path, body).await;
		assert_eq!(status, 400, "{path} {body}: {json}");
		assert!(json["code"].is_string() && json["message"].is_string(), "{path}: {json}");
	}
	let (status, json) =
		raw(&url, key, "POST", "/v1/invoices", r#"{"description":"x","amount_msat":0}"#).await;
	assert_eq!((status, json["code"].as_str()), (400, Some("invalid_amount")), "{json}");
	let (status, json) = raw(&url, key, "GET", "/v1/invoices/00", "").await;
	assert!(status == 404 || status == 400, "{status} {json}");
	let missing = "11".repeat(32);
	let (status, json) = raw(&url, key, "GET", &format!("/v1/payments/{missing}"), "").await;
	assert_eq!((status, json["code"].as_str()), (404, Some("not_found")), "{json}");
	let (status, json) = raw(&url, key, "GET", "/v1/nothing-here", "").await;
	assert_eq!(status, 404, "{json}");

	// Valid requests that cannot be done: 422 with a code.
	let client: ApiClient = node.client();
	let stranger = "02".to_string() + &"11".repeat(32);
	let err = client.keysend(&stranger, 1000, true).await.expect_err("no channel");
	assert!(matches!(err.status(), Some(400) | Some(422)), "{err}");
	let address = client.new_address().await.expect("address");
	let err = client.send_onchain(&address, 21_000_000 * 100_000_000).await.expect_err("too much");
	assert_eq!(err.status(), Some(422), "{err}");
	let err = client
		.connect_peer(&("03".to_string() + &"22".repeat(32)), "127.0.0.1:1")
		.await
		.expect_err("nobody there");
	assert_eq!((err.status(), err.code()), (Some(422), "peer_unreachable"), "{err}");
	let _ = json!({});
	net.shutdown().await;
}

/// An answer: status, code, message.
type Expected = (u16, &'static str, String);

/// Ids the API cannot parse and ids it does not know: the codes, statuses and messages of
/// every endpoint that takes one, pinned as they were when the node parsed them (the API
/// parses them now, and the node's lookups answer nothing rather than an error).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_and_unknown_ids_answer_as_they_always_did() {
	let net = TestNet::new(&["alice"]).await;
	let node = net.node("alice");
	let (url, key) = (node.api_url(), Some(node.api_key.as_str()));
	let stranger = "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619";
	let (ab, ones) = ("ab".repeat(32), "11".repeat(32));
	let bad_key = |text: &str| (400, "invalid_node_id", format!("{text:?} is not a node id"));
	let bad_hex =
		|what: &str| (400, "invalid_request", format!("{what} must be 64 hex characters"));
	let bad_channel =
		|text: &str| (400, "invalid_request", format!("{text:?} is not a channel id"));
	let missing = |message: String| (404, "not_found", message);
	let keysend_bad_id =
		format!(r#"{{"node_id":"{stranger}","amount_msat":1000,"payment_id":"zz"}}"#);
	let settle_bad_preimage = r#"{"preimage":"zz"}"#.to_string();
	let settle = format!(r#"{{"preimage":"{ab}"}}"#);
	let cases: Vec<(&str, String, String, Expected)> = vec![
		("GET", "/v1/channels/nothex".into(), String::new(), bad_channel("nothex")),
		("GET", format!("/v1/channels/{ab}"), String::new(), missing(format!("no channel {ab}"))),
		("POST", "/v1/channels/nothex/close".into(), String::new(), bad_channel("nothex")),
		(
			"POST",
			format!("/v1/channels/{ab}/close"),
			r#"{"force":true}"#.into(),
			missing(format!("no channel {ab}")),
		),
		("GET", "/v1/invoices/nothex".into(), String::new(), missing("no invoice nothex".into())),
		(
			"GET",
			format!("/v1/invoices/{ones}"),
			String::new(),
			missing(format!("no invoice {ones}")),
		),
		("GET", "/v1/payments/nothex".into(), String::new(), missing("no payment nothex".into())),
		(
			"GET",
			format!("/v1/payments/{ones}"),
			String::new(),
			missing(format!("no payment {ones}")),
		),
		("POST", "/v1/invoices/nothex/settle".into(), settle.clone(), bad_hex("payment_hash")),
		("POST", format!("/v1/invoices/{ones}/settle"), settle_bad_preimage, bad_hex("preimage")),
		(
			"POST",
			format!("/v1/invoices/{ones}/settle"),
			settle,
			missing(format!("no invoice {ones}")),
		),
		("POST", "/v1/invoices/nothex/cancel".into(), String::new(), bad_hex("payment_hash")),
		(
			"POST",
			format!("/v1/invoices/{ones}/cancel"),
			String::new(),
			missing(format!("no invoice {ones}")),
		),
		(
			"POST",
			"/v1/invoices".into(),
			r#"{"description":"x","payment_hash":"zz"}"#.into(),
			bad_hex("payment_hash"),
		),
		(
			"POST",
			"/v1/payments/keysend".into(),
			r#"{"node_id":"02zz","amount_msat":1000}"#.into(),
			bad_key("02zz"),
		),
		("POST", "/v1/payments/keysend".into(), keysend_bad_id, bad_hex("payment_id")),
		(
			"POST",
			"/v1/peers".into(),
			r#"{"node_id":"nope","address":"127.0.0.1:1"}"#.into(),
			bad_key("nope"),
		),
		("DELETE", "/v1/peers/nope".into(), String::new(), bad_key("nope")),
		(
			"DELETE",
			format!("/v1/peers/{stranger}"),
			String::new(),
			missing(format!("no peer {stranger}")),
		),
		(
			"POST",
			"/v1/channels".into(),
			r#"{"node_id":"nope","address":"127.0.0.1:1","amount_sat":100000}"#.into(),
			bad_key("nope"),
		),
		(
			"POST",
			"/v1/routes".into(),
			r#"{"node_id":"02ab","amount_msat":1000}"#.into(),
			bad_key("02ab"),
		),
		(
			"POST",
			"/v1/probes".into(),
			r#"{"node_id":"02ab","amount_msat":1000}"#.into(),
			bad_key("02ab"),
		),
		("GET", "/v1/graph/nodes/02ab".into(), String::new(), bad_key("02ab")),
		(
			"GET",
			format!("/v1/graph/nodes/{stranger}"),
			String::new(),
			missing(format!("node {stranger} is not in the graph")),
		),
		(
			"GET",
			"/v1/graph/channels/1x2".into(),
			String::new(),
			(
				400,
				"invalid_request",
				r#"short_channel_id "1x2" is neither BLOCKxTXxOUTPUT nor a number"#.into(),
			),
		),
		(
			"GET",
			"/v1/graph/channels/500x1x0".into(),
			String::new(),
			missing("channel 500x1x0 is not in the graph".into()),
		),
		(
			"GET",
			"/v1/graph/channels/12345".into(),
			String::new(),
			missing("channel 12345 is not in the graph".into()),
		),
	];
	for (method, path, body, (status, code, message)) in cases {
		let (got, json) = raw(&url, key, method, &path, &body).await;
		let answer = (got, json["code"].as_str(), json["message"].as_str());
		assert_eq!(answer, (status, Some(code), Some(message.as_str())), "{method} {path} {body}");
	}
	net.shutdown().await;
}
