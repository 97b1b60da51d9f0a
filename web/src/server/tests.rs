//! The server's unit tests: everything a request goes through before it reaches the node
//! (key, scope, request parser, rejections), with the handlers replaced by an echo of the parsed call.

use super::*;
use crate::api::PageQuery;
use crate::extract::read_body;
use fulgur_api::routes::Call;
use fulgur_api::routes::Endpoint;
use fulgur_api::wire::keys::ApiScope;
use serde_json::{json, Value};
use warp::http::StatusCode;
use warp::hyper::body::Bytes;
use warp::Stream;

const KEY: &str = "0123456789abcdef";
const SHOP_KEY: &str = "5h0p5h0p5h0p5h0p";
const READ_KEY: &str = "r3adr3adr3adr3ad";

/// The admin key, plus an invoice and a read-only key.
fn no_node() -> NodeSlot {
	NodeSlot { node: Arc::new(OnceLock::new()), startup: Some(Startup::new()) }
}

#[tokio::test]
async fn a_starting_node_answers_503_starting_to_everything() {
	let filter = app(no_node(), keys(), Arc::from(KEY), closing().subscribe());
	for (method, path) in [("GET", "/v1/info"), ("GET", "/v1/channels"), ("POST", "/v1/payments")] {
		let response = request(method, path).body("{").reply(&filter).await;
		assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{method} {path}");
		let body: Value = serde_json::from_slice(response.body()).unwrap();
		assert_eq!(body["code"], "starting", "{body}");
		assert!(body["message"].as_str().unwrap().contains("starting"), "{body}");
	}
}

fn keys() -> Keys {
	let key = |id: &str, scope| fulgur_node::ApiKeyInfo {
		id: id.into(),
		scope,
		label: None,
		created_at: 1,
	};
	Keys::new(Arc::from(KEY), move |token| match token {
		SHOP_KEY => Some(key("5h", fulgur_node::ApiScope::Invoice)),
		READ_KEY => Some(key("r3", fulgur_node::ApiScope::Readonly)),
		_ => None,
	})
}

fn closing() -> watch::Sender<bool> {
	watch::channel(false).0
}

/// The API with the handlers replaced by an echo of the parsed call: everything a
/// request goes through before it reaches the node.
fn app_without_node() -> impl Filter<Extract = impl Reply, Error = Infallible> + Clone {
	finish(
		authenticated_routes(keys())
			.map(|_, call: Call| warp::reply::json(&format!("{call:?}")).into_response()),
	)
}

fn request(method: &str, path: &str) -> warp::test::RequestBuilder {
	warp::test::request().method(method).path(path).header("authorization", format!("Bearer {KEY}"))
}

async fn send(req: warp::test::RequestBuilder) -> (StatusCode, Value) {
	let res = req.reply(&app_without_node()).await;
	assert_eq!(res.headers()["content-type"], "application/json", "{res:?}");
	let body = serde_json::from_slice(res.body()).expect("JSON body");
	(res.status(), body)
}

async fn call(req: warp::test::RequestBuilder) -> Call {
	req.filter(&authenticated_routes(keys())).await.expect("routed").1
}

#[tokio::test]
async fn unauthorized_without_or_with_wrong_key() {
	let no_key = warp::test::request().method("GET").path("/v1/info");
	let res = no_key.reply(&app_without_node()).await;
	assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
	assert_eq!(res.headers()["www-authenticate"], "Bearer");
	let body: Value = serde_json::from_slice(res.body()).unwrap();
	assert_eq!(body["code"], "unauthorized");
	assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));

	for header in ["Bearer wrong", "Bearer ", "Basic MDEyMzQ1Njc4OWFiY2RlZg==", KEY] {
		let req = warp::test::request().path("/v1/info").header("authorization", header);
		let (status, body) = send(req).await;
		assert_eq!(status, StatusCode::UNAUTHORIZED, "{header}");
		assert_eq!(body["code"], "unauthorized");
	}
	// Unknown routes too: nothing is revealed without the key.
	let req = warp::test::request().path("/nope");
	assert_eq!(send(req).await.0, StatusCode::UNAUTHORIZED);
	// The right key passes.
	let (status, _) = send(request("GET", "/v1/info")).await;
	assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn malformed_body_is_400_invalid_request() {
	let req = request("POST", "/v1/onchain/send").body("{\"address\": ");
	let (status, body) = send(req).await;
	assert_eq!(status, StatusCode::BAD_REQUEST);
	assert_eq!(body["code"], "invalid_request");
	assert!(body["message"].as_str().unwrap().contains("EOF"), "{body}");

	let req = request("POST", "/v1/onchain/send").json(&json!({"address": "x", "amount_sat": "5"}));
	let (status, body) = send(req).await;
	assert_eq!(status, StatusCode::BAD_REQUEST);
	assert_eq!(body["code"], "invalid_request");
	assert!(body["message"].as_str().unwrap().contains("invalid type"), "{body}");

	let req = request("POST", "/v1/payments").json(&json!({"amount_msat": 5}));
	let (status, body) = send(req).await;
	assert_eq!(status, StatusCode::BAD_REQUEST);
	assert!(body["message"].as_str().unwrap().contains("missing field `invoice`"), "{body}");

	let req = request("POST", "/v1/channels")
		.json(&json!({"node_id": "n", "address": "a", "amount_sat": -1}));
	assert_eq!(send(req).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_field_is_400_invalid_request() {
	let req = request("POST", "/v1/invoices")
		.json(&json!({"description": "coffee", "amount_msat": 1000, "amount": 1}));
	let (status, body) = send(req).await;
	assert_eq!(status, StatusCode::BAD_REQUEST);
	assert_eq!(body["code"], "invalid_request");
	assert!(body["message"].as_str().unwrap().contains("unknown field `amount`"), "{body}");

	let req = request("POST", "/v1/onchain/address").json(&json!({"type": "p2tr"}));
	assert_eq!(send(req).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn zero_amounts_are_400_invalid_amount() {
	let cases = [
		("/v1/onchain/send", json!({"address": "bcrt1q", "amount_sat": 0})),
		("/v1/channels", json!({"node_id": "02ab", "address": "h:1", "amount_sat": 0})),
		("/v1/payments/keysend", json!({"node_id": "02ab", "amount_msat": 0})),
		("/v1/payments", json!({"invoice": "lnbcrt1", "amount_msat": 0})),
		("/v1/invoices", json!({"description": "d", "amount_msat": 0})),
		("/v1/offers", json!({"description": "d", "amount_msat": 0})),
	];
	for (path, body) in cases {
		let (status, answer) = send(request("POST", path).json(&body)).await;
		assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
		assert_eq!(answer["code"], "invalid_amount", "{path}");
	}
}

#[tokio::test]
async fn oversized_body_is_413() {
	let big = format!("{{\"description\": \"{}\"}}", "x".repeat(BODY_LIMIT_BYTES));
	let (status, body) = send(request("POST", "/v1/invoices").body(&big)).await;
	assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
	assert_eq!(body["code"], "payload_too_large");

	// Without a Content-Length, counted while reading.
	let chunk = || Ok::<_, warp::Error>(Bytes::from(vec![b' '; 40_000]));
	let stream = futures_stream(vec![chunk(), chunk()]);
	let e = read_body(None, stream).await.unwrap_err();
	assert_eq!(rejection_error(&e).code(), "payload_too_large");

	// Just under the limit is fine.
	let padding = " ".repeat(BODY_LIMIT_BYTES - 40);
	let ok = format!("{{\"description\": \"d\"}}{padding}");
	assert!(ok.len() <= BODY_LIMIT_BYTES);
	assert_eq!(send(request("POST", "/v1/invoices").body(&ok)).await.0, StatusCode::OK);
}

/// A stream over a vector of chunks, without pulling in a futures crate.
fn futures_stream(
	chunks: Vec<Result<Bytes, warp::Error>>,
) -> impl Stream<Item = Result<Bytes, warp::Error>> {
	struct Chunks(std::vec::IntoIter<Result<Bytes, warp::Error>>);
	impl Stream for Chunks {
		type Item = Result<Bytes, warp::Error>;
		fn poll_next(
			mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>,
		) -> std::task::Poll<Option<Self::Item>> {
			std::task::Poll::Ready(self.0.next())
		}
	}
	Chunks(chunks.into_iter())
}

#[tokio::test]
async fn unknown_route_is_404_json() {
	for path in ["/", "/v1", "/v1/nope", "/v2/info", "/v1/info/extra", "/v1/channels/x/open"] {
		let (status, body) = send(request("GET", path)).await;
		assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
		assert_eq!(body["code"], "not_found");
	}
}

#[tokio::test]
async fn wrong_method_is_405_json() {
	let cases = [
		("POST", "/v1/info"),
		("DELETE", "/v1/channels"),
		("GET", "/v1/onchain/send"),
		("PUT", "/v1/peers"),
		("GET", "/v1/channels/abcd/close"),
		("POST", "/v1/payments/abcd"),
	];
	for (method, path) in cases {
		let (status, body) = send(request(method, path)).await;
		assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
		assert_eq!(body["code"], "method_not_allowed");
	}
}

#[tokio::test]
async fn bad_page_query_is_400() {
	for query in ["?limit=0", "?limit=1001", "?limit=x", "?cursor=abc", "?page=2"] {
		let (status, body) = send(request("GET", &format!("/v1/invoices{query}"))).await;
		assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
		assert_eq!(body["code"], "invalid_request");
	}
}

#[tokio::test]
async fn routes_parse_requests() {
	let c = call(request("GET", "/v1/payments?limit=5&cursor=17.ab")).await;
	assert!(
		matches!(&c, Call::ListPayments { input: q } if q.limit == Some(5) && q.cursor.as_deref() == Some("17.ab")),
		"{c:?}"
	);
	let c = call(request("GET", "/v1/invoices")).await;
	assert!(matches!(&c, Call::ListInvoices { input: q } if *q == PageQuery::default()), "{c:?}");
	// Optional bodies: empty, or `{}`.
	let c = call(request("POST", "/v1/onchain/address")).await;
	assert!(matches!(c, Call::NewAddress { .. }), "{c:?}");
	let c = call(request("POST", "/v1/channels/ab12/close")).await;
	assert!(
		matches!(&c, Call::CloseChannel { channel_id, input } if channel_id == "ab12" && !input.force),
		"{c:?}"
	);
	let c = call(request("POST", "/v1/channels/ab12/close").json(&json!({"force": true}))).await;
	assert!(matches!(&c, Call::CloseChannel { input, .. } if input.force), "{c:?}");
	let c = call(request("DELETE", "/v1/peers/02ab")).await;
	assert!(matches!(&c, Call::DisconnectPeer { node_id } if node_id == "02ab"), "{c:?}");
	let c = call(
		request("POST", "/v1/payments/keysend")
			.json(&json!({"node_id": "02ab", "amount_msat": 5, "wait": true})),
	)
	.await;
	assert!(matches!(&c, Call::Keysend { input: r } if r.amount_msat == 5 && r.wait), "{c:?}");
	let c = call(request("GET", "/v1/payments/keysend")).await;
	assert!(matches!(&c, Call::GetPayment { payment_id } if payment_id == "keysend"), "{c:?}");
	let c = call(request("POST", "/v1/channels").json(
		&json!({"node_id": "02ab", "address": "h:1", "amount_sat": 100000, "push_msat": null}),
	))
	.await;
	assert!(
		matches!(&c, Call::OpenChannel { input: r } if r.amount_sat == 100_000 && r.announce.is_none()),
		"{c:?}"
	);
	let c = call(request("GET", "/v1/invoices/ffee")).await;
	assert!(matches!(&c, Call::GetInvoice { payment_hash } if payment_hash == "ffee"), "{c:?}");
	let c = call(request("GET", "/v1/channels/ffee")).await;
	assert!(matches!(&c, Call::GetChannel { channel_id } if channel_id == "ffee"), "{c:?}");
	let hook =
		json!({"url": "https://shop.example/h", "ca_cert_pem": "-----BEGIN CERTIFICATE-----"});
	let c = call(request("POST", "/v1/webhooks").json(&hook)).await;
	assert!(
		matches!(&c, Call::CreateWebhook { input: r } if r.ca_cert_pem.as_deref() == hook["ca_cert_pem"].as_str()),
		"{c:?}"
	);
	let c =
		call(request("POST", "/v1/webhooks").json(&json!({"url": "http://shop.example/h"}))).await;
	assert!(matches!(&c, Call::CreateWebhook { input: r } if r.ca_cert_pem.is_none()), "{c:?}");
	let c = call(request("POST", "/v1/offers").json(&json!({"description": "d"}))).await;
	assert!(matches!(&c, Call::CreateOffer { input: r } if r.amount_msat.is_none()), "{c:?}");
	for (method, path, expected) in [
		("GET", "/v1/info", "Info"),
		("GET", "/v1/balance", "Balance"),
		("GET", "/v1/openapi.json", "OpenApi"),
		("GET", "/metrics", "Metrics"),
	] {
		let c = call(request(method, path)).await;
		assert_eq!(format!("{c:?}"), expected);
	}
}

/// Every route of the table, with its example body, reaches the request parser as itself: the
/// table (and so the OpenAPI document) lists exactly what the server serves.
#[tokio::test]
async fn every_table_route_is_served_as_itself() {
	for route in Endpoint::ALL {
		let spec = route.spec();
		let path = concrete_path(&spec);
		let mut req = request(spec.method, &path);
		if let Some(body) = spec.body {
			req = req.header("content-type", "application/json").body(body.example);
		}
		assert_eq!(Endpoint::find(spec.method, &path), Some(*route), "{} {path}", spec.method);
		let routed = req.filter(&authenticated_routes(keys())).await;
		match routed {
			Ok((_, call)) => assert_eq!(call.route(), *route, "{} {path}", spec.method),
			Err(e) => panic!("{} {path} not routed: {e:?}", spec.method),
		}
	}
}

#[tokio::test]
async fn scopes_give_401_or_403_with_json() {
	let cases = [
		// (key, method, path, body, expected status)
		(SHOP_KEY, "POST", "/v1/invoices", r#"{"description": "tea"}"#, 200),
		(SHOP_KEY, "GET", "/v1/invoices", "", 200),
		(SHOP_KEY, "GET", "/v1/invoices/ab", "", 200),
		(SHOP_KEY, "GET", "/v1/events?after=3", "", 200),
		(SHOP_KEY, "GET", "/v1/openapi.json", "", 200),
		(SHOP_KEY, "GET", "/v1/payments", "", 403),
		(SHOP_KEY, "POST", "/v1/payments", r#"{"invoice": "lnbcrt1"}"#, 403),
		(SHOP_KEY, "GET", "/v1/balance", "", 403),
		(SHOP_KEY, "GET", "/metrics", "", 403),
		(SHOP_KEY, "POST", "/v1/keys", r#"{"scope": "admin"}"#, 403),
		(READ_KEY, "GET", "/v1/payments", "", 200),
		(READ_KEY, "GET", "/metrics", "", 200),
		(READ_KEY, "GET", "/v1/events", "", 200),
		(READ_KEY, "POST", "/v1/invoices", r#"{"description": "tea"}"#, 403),
		(READ_KEY, "GET", "/v1/keys", "", 403),
		(READ_KEY, "DELETE", "/v1/webhooks/ab", "", 403),
		(KEY, "GET", "/v1/keys", "", 200),
		(KEY, "DELETE", "/v1/keys/ab", "", 200),
		("unknown", "GET", "/v1/invoices", "", 401),
		("unknown", "GET", "/v1/nope", "", 401),
	];
	for (key, method, path, body, expected) in cases {
		let req = warp::test::request()
			.method(method)
			.path(path)
			.header("authorization", format!("Bearer {key}"))
			.body(body);
		let (status, answer) = send(req).await;
		assert_eq!(status.as_u16(), expected, "{key} {method} {path}: {answer}");
		match expected {
			401 => assert_eq!(answer["code"], "unauthorized"),
			403 => {
				assert_eq!(answer["code"], "forbidden");
				assert!(answer["message"].as_str().is_some_and(|m| m.contains("scope")));
			}
			_ => {}
		}
	}
}

/// The table's path of `spec` with every `{parameter}` filled in.
fn concrete_path(spec: &crate::endpoints::RouteSpec) -> String {
	spec.path
		.split('/')
		.map(|s| if s.starts_with('{') { "ab12" } else { s })
		.collect::<Vec<_>>()
		.join("/")
}

/// Every route of the table a key may not use answers 403 to it, whatever its query and
/// body: the scope is checked before either is parsed.
#[tokio::test]
async fn forbidden_before_query_or_body_is_parsed() {
	let mut checked = 0;
	for (key, scope) in [(SHOP_KEY, ApiScope::Invoice), (READ_KEY, ApiScope::Readonly)] {
		for route in Endpoint::ALL {
			let spec = route.spec();
			if spec.access.allows(scope) {
				continue;
			}
			let path = format!("{}?limit=x&cursor=%zz&after=-1&bogus", concrete_path(&spec));
			let req = warp::test::request()
				.method(spec.method)
				.path(&path)
				.header("authorization", format!("Bearer {key}"))
				.header("content-type", "application/json")
				.header("last-event-id", "not-a-number")
				.body("{\"malformed\": ");
			let (status, answer) = send(req).await;
			assert_eq!(
				(status, answer["code"].as_str()),
				(StatusCode::FORBIDDEN, Some("forbidden")),
				"{} {} with a key of scope {}: {answer}",
				spec.method,
				spec.path,
				scope.as_str()
			);
			checked += 1;
		}
	}
	assert!(checked > 20, "{checked}");
	// Spellings of a path the request parser may still match are no way around the check.
	for path in ["//v1/payments", "/v1//payments", "/v1/payments/", "/v1/./payments"] {
		let req = warp::test::request()
			.method("POST")
			.path(path)
			.header("authorization", format!("Bearer {SHOP_KEY}"))
			.body("{\"malformed\": ");
		let (status, answer) = send(req).await;
		assert!(matches!(status.as_u16(), 403 | 404), "{path}: {status} {answer}");
	}
}

/// Over a real connection: a forbidden request with a body still on its way is answered
/// 403 at once; the server does not wait for (or read) the body.
#[tokio::test]
async fn forbidden_without_waiting_for_the_body() {
	use tokio::io::{AsyncReadExt, AsyncWriteExt};
	let server =
		start(app_without_node(), "127.0.0.1:0".parse().unwrap(), closing(), no_node()).unwrap();
	let addr = server.local_addr();
	let mut answers = Vec::new();
	for route in Endpoint::ALL {
		let spec = route.spec();
		if spec.body.is_none() || spec.access.allows(ApiScope::Invoice) {
			continue;
		}
		let head = format!(
			"{} {} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {SHOP_KEY}\r\n\
			content-type: application/json\r\ncontent-length: 4096\r\n\r\n{{\"a",
			spec.method,
			concrete_path(&spec)
		);
		answers.push(tokio::spawn(async move {
			let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
			socket.write_all(head.as_bytes()).await.expect("write");
			// The rest of the body never comes: only an answer that did not wait for
			// it arrives.
			let mut answer = vec![0u8; 1024];
			let read = tokio::time::timeout(Duration::from_secs(30), socket.read(&mut answer))
				.await
				.map(|n| n.map(|n| String::from_utf8_lossy(&answer[..n]).into_owned()));
			(spec, read)
		}));
	}
	assert!(answers.len() > 10, "{}", answers.len());
	for answer in answers {
		let (spec, read) = answer.await.expect("task");
		let text = match read {
			Ok(Ok(text)) => text,
			Ok(Err(e)) => panic!("{} {}: {e}", spec.method, spec.path),
			Err(_) => {
				panic!("{} {}: no answer while the body is pending", spec.method, spec.path)
			}
		};
		assert!(text.starts_with("HTTP/1.1 403"), "{} {}: {text}", spec.method, spec.path);
	}
	server.shutdown().await;
}

#[tokio::test]
async fn event_queries_parse() {
	let c = call(request("GET", "/v1/events?after=7&limit=3")).await;
	assert!(
		matches!(&c, Call::ListEvents { input: q } if q.after == Some(7) && q.limit == Some(3)),
		"{c:?}"
	);
	let c = call(request("GET", "/v1/events/stream?after=4")).await;
	assert!(matches!(&c, Call::EventStream { input: r } if r.after == Some(4)), "{c:?}");
	let c = call(request("GET", "/v1/events/stream?after=4").header("last-event-id", "9")).await;
	assert!(matches!(&c, Call::EventStream { input: r } if r.after == Some(9)), "{c:?}");
	let c = call(request("GET", "/v1/events/stream")).await;
	assert!(matches!(&c, Call::EventStream { input: r } if r.after.is_none()), "{c:?}");
	for bad in ["/v1/events?after=x", "/v1/events?limit=0", "/v1/events/stream?from=1"] {
		assert_eq!(send(request("GET", bad)).await.0, StatusCode::BAD_REQUEST, "{bad}");
	}
	let bad_id = request("GET", "/v1/events/stream").header("last-event-id", "x");
	assert_eq!(send(bad_id).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn over_http_with_the_client() {
	use crate::client::{ApiClient, Method};
	let server =
		start(app_without_node(), "127.0.0.1:0".parse().unwrap(), closing(), no_node()).unwrap();
	let url = format!("http://{}", server.local_addr());
	let client = ApiClient::new(&url, KEY).unwrap();

	let answer = client.request(Method::GET, "/v1/info", None).await.unwrap();
	assert_eq!(answer, json!("Info"));
	let answer = client
		.request(Method::POST, "/v1/peers", Some(json!({"node_id": "02ab", "address": "h:1"})))
		.await
		.unwrap();
	assert!(answer.as_str().unwrap().starts_with("ConnectPeer"), "{answer}");

	let e = ApiClient::new(&url, "wrong").unwrap().info().await.unwrap_err();
	assert_eq!((e.status(), e.to_string().as_str()), (Some(401), "unauthorized: invalid API key"));
	let e = client.request(Method::GET, "/v1/nope", None).await.unwrap_err();
	assert_eq!((e.status(), e.code()), (Some(404), "not_found"));
	let e = client.request(Method::PUT, "/v1/info", None).await.unwrap_err();
	assert_eq!((e.status(), e.code()), (Some(405), "method_not_allowed"));
	let big = json!({"description": "x".repeat(BODY_LIMIT_BYTES)});
	let e = client.request(Method::POST, "/v1/invoices", Some(big)).await.unwrap_err();
	assert_eq!((e.status(), e.code()), (Some(413), "payload_too_large"));
	let e = client.send_onchain("bcrt1q", 0).await.unwrap_err();
	assert_eq!((e.status(), e.code()), (Some(400), "invalid_amount"));

	server.shutdown().await;
	let e = client.info().await.unwrap_err();
	assert_eq!(e.code(), "connection_failed", "{e}");
}

#[tokio::test]
async fn binding_a_used_port_is_an_io_error() {
	let filter = warp::any().map(|| "ok".into_response());
	let first = start(filter, "127.0.0.1:0".parse().unwrap(), closing(), no_node()).unwrap();
	let e = start(filter, first.local_addr(), closing(), no_node()).unwrap_err();
	assert_eq!(e.kind(), io::ErrorKind::AddrInUse, "{e}");
	let addr = first.local_addr();
	first.shutdown().await;
	// The port is free again.
	let again =
		start(warp::any().map(|| "ok".into_response()), addr, closing(), no_node()).unwrap();
	again.shutdown().await;
}
