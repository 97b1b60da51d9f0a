//! The client against a stand-in server answering fixed JSON: how it reads answers and errors.

use super::*;
use serde_json::json;

#[test]
fn validates_base_url_and_key() {
	assert!(ApiClient::new("http://127.0.0.1:3000", "k").is_ok());
	assert!(ApiClient::new("http://127.0.0.1:3000/", "k").is_ok());
	for url in ["127.0.0.1:3000", "https://127.0.0.1:3000", "http://", "http://h:1/?x=1", ""] {
		let e = ApiClient::new(url, "k").unwrap_err();
		assert_eq!(e.code(), "invalid_input", "{url}");
	}
	assert!(ApiClient::new("http://127.0.0.1:3000", " ").is_err());
	assert!(ApiClient::new("http://127.0.0.1:3000", "a\nb").is_err());
}

#[test]
fn error_answers_become_api_errors() {
	let e = api_error(404, br#"{"code":"not_found","message":"no such channel"}"#);
	assert_eq!(e.to_string(), "not_found: no such channel");
	assert_eq!(e.status(), Some(404));
	let e = api_error(502, b"Bad Gateway");
	assert_eq!(e.to_string(), "http_502: Bad Gateway");
	let e = api_error(500, b"");
	assert_eq!(e.to_string(), "http_500: HTTP status 500");
}

#[test]
fn encodes_paths_and_queries() {
	assert_eq!(segment("02abCD"), "02abCD");
	assert_eq!(segment("a/b c"), "a%2Fb%20c");
	assert_eq!(query_string(&PageQuery::default()).unwrap(), "");
	let page = PageQuery { limit: Some(10), cursor: Some("20".into()) };
	assert_eq!(query_string(&page).unwrap(), "?limit=10&cursor=20");
}

#[test]
fn fills_paths_from_the_table() {
	let path = fill_path("/v1/channels/{channel_id}/close", &[("channel_id", "a/b")]).unwrap();
	assert_eq!(path, "/v1/channels/a%2Fb/close");
	assert!(fill_path("/v1/channels/{channel_id}", &[]).is_err());
	assert!(fill_path("/v1/channels/{channel_id}", &[("node_id", "x")]).is_err());
	assert!(fill_path("/v1/info", &[("node_id", "x")]).is_err());
}

/// A stand-in HTTP server answering fixed JSON, to check how the client reads answers.
fn fake_api() -> (String, tokio::sync::oneshot::Sender<()>) {
	use warp::Filter;
	let failed = json!({
		"code": "payment_failed",
		"message": "no route",
		"payment": {
			"payment_id": "aa", "payment_hash": "bb", "kind": "keysend",
			"direction": "outbound", "destination": "02ab", "invoice": null,
			"description": null, "amount_msat": 1000, "fee_msat": null, "max_fee_msat": null,
			"preimage": null, "status": "failed", "failure_reason": "no route",
			"created_at": 1, "completed_at": 2
		}
	});
	let keysend = warp::path!("v1" / "payments" / "keysend").map(move || {
		warp::reply::with_status(
			warp::reply::json(&failed),
			warp::http::StatusCode::UNPROCESSABLE_ENTITY,
		)
	});
	let pay = warp::path!("v1" / "payments").map(|| {
		warp::reply::with_status(
			warp::reply::json(&json!({"code": "payment_failed", "message": "gone"})),
			warp::http::StatusCode::UNPROCESSABLE_ENTITY,
		)
	});
	let auth =
		warp::path!("v1" / "info").and(warp::header::<String>("authorization")).map(|h: String| {
			let status = if h == "Bearer k" {
				warp::http::StatusCode::OK
			} else {
				warp::http::StatusCode::UNAUTHORIZED
			};
			warp::reply::with_status(
				warp::reply::json(&json!({"code": "unauthorized", "message": "invalid API key"})),
				status,
			)
		});
	let address = warp::path!("v1" / "onchain" / "address")
		.and(warp::body::json())
		.map(|body: Value| warp::reply::json(&json!({"address": body.to_string()})));
	let slow = warp::path!("v1" / "balance").then(|| async {
		tokio::time::sleep(Duration::from_secs(5)).await;
		warp::reply::json(&json!({}))
	});
	let routes = keysend.or(pay).or(auth).or(address).or(slow);
	let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
	let (addr, server) =
		warp::serve(routes).bind_with_graceful_shutdown(([127, 0, 0, 1], 0), async move {
			let _ = stopped.await;
		});
	tokio::spawn(server);
	(format!("http://{addr}"), stop)
}

#[tokio::test]
async fn reads_answers() {
	let (url, _stop) = fake_api();
	let client = ApiClient::new(&url, "k").unwrap();

	// A started payment that failed is the record, not an error.
	let record = client.keysend("02ab", 1000, true).await.unwrap();
	assert_eq!(record.status, crate::wire::payments::PaymentStatus::Failed);
	assert_eq!(record.failure_reason.as_deref(), Some("no route"));
	// Without a record it stays an error.
	let req = PayRequest { invoice: "x".into(), amount_msat: None, max_fee_msat: None };
	let e = client.pay(&req, true).await.unwrap_err();
	assert_eq!((e.status(), e.code()), (Some(422), "payment_failed"));

	// API errors carry status, code, message and body.
	let e = ApiClient::new(&url, "wrong").unwrap().request(Method::GET, "/v1/info", None).await;
	match e {
		Err(ClientError::Api { status: 401, code, message, body }) => {
			assert_eq!((code.as_str(), message.as_str()), ("unauthorized", "invalid API key"));
			assert!(body.contains("invalid API key"));
		}
		other => panic!("{other:?}"),
	}
	// A body-less POST is sent with an empty body; a typed answer is read.
	let e = client.new_address().await.unwrap_err();
	assert_eq!(e.status(), Some(400), "warp's json filter refuses the empty body: {e}");
	let value =
		client.request(Method::POST, "/v1/onchain/address", Some(json!({"a": 1}))).await.unwrap();
	assert_eq!(value, json!({"address": "{\"a\":1}"}));

	// The timeout holds.
	let quick = client.clone().with_timeout(Duration::from_millis(200));
	assert_eq!(
		quick.balance().await.unwrap_err(),
		ClientError::Timeout(Duration::from_millis(200))
	);
}

#[tokio::test]
async fn connection_refused_is_a_connection_error() {
	// Bind then drop a listener to find a port nobody listens on.
	let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
	let client = ApiClient::new(&format!("http://127.0.0.1:{port}"), "k").unwrap();
	let e = client.info().await.unwrap_err();
	assert!(matches!(e, ClientError::Connection(_)), "{e:?}");
	assert!(e.to_string().starts_with("connection_failed: "), "{e}");
}

/// A server that answers without end (or just too much) is cut off at the cap with a clear
/// error; the client never holds more than the cap.
#[tokio::test]
async fn an_answer_past_the_cap_is_refused_not_held() {
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = listener.local_addr().unwrap();
	tokio::spawn(async move {
		let (mut socket, _) = listener.accept().await.unwrap();
		use tokio::io::{AsyncReadExt, AsyncWriteExt};
		let mut request = [0u8; 4096];
		let _ = socket.read(&mut request).await;
		let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
			transfer-encoding: chunked\r\n\r\n";
		socket.write_all(head.as_bytes()).await.unwrap();
		let chunk = vec![b' '; 1 << 20];
		let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
		// Without end: the client must stop reading, not the server stop writing.
		while socket.write_all(&framed).await.is_ok() {}
	});
	let client = ApiClient::new(&format!("http://{addr}"), "k").unwrap();
	match client.request(Method::GET, "/v1/info", None).await {
		Err(ClientError::InvalidResponse(message)) => {
			assert!(message.contains("larger than"), "{message}")
		}
		other => panic!("expected a refused answer, got {other:?}"),
	}
}
