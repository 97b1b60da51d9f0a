//! The surface's refusals through its real route table, before any node is attached: a
//! request a refusal stops never reaches the node (which would answer 503 here).

use std::sync::Arc;

use base64::Engine;
use tokio::sync::{watch, Semaphore};

use super::{filter, Passwords, Surface, MAX_BODY_BYTES, MAX_WEBSOCKETS};

fn surface() -> (Arc<Surface>, Passwords) {
	let passwords = Passwords { full: "f".repeat(64), limited: "l".repeat(64) };
	let (_closing, closing_rx) = watch::channel(false);
	let surface = Arc::new(Surface {
		passwords: passwords.clone(),
		node: std::sync::OnceLock::new(),
		websockets: Arc::new(Semaphore::new(MAX_WEBSOCKETS)),
		closing: closing_rx,
	});
	(surface, passwords)
}

fn basic(password: &str) -> String {
	format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!(":{password}")))
}

async fn send(method: &str, path: &str, password: Option<&str>, body: &[u8]) -> (u16, String) {
	let (surface, _) = surface();
	let mut request = warp::test::request()
		.method(method)
		.path(path)
		.header("content-type", "application/x-www-form-urlencoded")
		.body(body);
	if let Some(password) = password {
		request = request.header("authorization", basic(password));
	}
	let response = request.reply(&filter(surface)).await;
	(response.status().as_u16(), String::from_utf8_lossy(response.body()).into_owned())
}

#[tokio::test]
async fn a_wrong_password_is_refused_on_every_path() {
	let full = "f".repeat(64);
	for (method, path) in [
		("GET", "/getinfo"),
		("POST", "/payinvoice"),
		("GET", "/payments/incoming/zz"),
		("GET", "/no-such-route"),
		("GET", "/websocket"),
	] {
		for password in [None, Some("wrong"), Some(&full[1..])] {
			let (status, body) = send(method, path, password, b"invoice=x").await;
			assert_eq!((status, body.as_str()), (401, "Unauthorized"), "{method} {path}");
		}
	}
}

#[tokio::test]
async fn the_limited_password_cannot_pay() {
	let limited = "l".repeat(64);
	let (status, _) = send("POST", "/payinvoice", Some(&limited), b"invoice=lnbcrt1").await;
	assert_eq!(status, 401);
	// It may create invoices and read: those pass authorization (and wait for the node).
	for (method, path, body) in [
		("POST", "/createinvoice", &b"amountSat=1&description=x"[..]),
		("GET", "/getinfo", b""),
		("GET", "/getbalance", b""),
		("GET", &format!("/payments/incoming/{}", "ab".repeat(32)), b""),
		("GET", &format!("/payments/outgoingbyhash/{}", "ab".repeat(32)), b""),
	] {
		let (status, body) = send(method, path, Some(&limited), body).await;
		assert_eq!((status, body.as_str()), (503, "The node is starting"), "{path}");
	}
	let full = "f".repeat(64);
	let (status, _) = send("POST", "/payinvoice", Some(&full), b"invoice=lnbcrt1").await;
	assert_eq!(status, 503);
}

#[tokio::test]
async fn bad_input_is_refused_with_phoenixd_shaped_errors() {
	let full = "f".repeat(64);
	let cases: Vec<(&str, String, Vec<u8>, u16, &str)> = vec![
		("POST", "/payinvoice".into(), b"".to_vec(), 400, "Missing parameter invoice"),
		(
			"POST",
			"/payinvoice".into(),
			b"invoice=x&invoice=y".to_vec(),
			400,
			"Parameter invoice given more than once",
		),
		(
			"POST",
			"/createinvoice".into(),
			b"amountSat=ten".to_vec(),
			400,
			"Invalid parameter amountSat: not a whole non-negative number",
		),
		(
			"GET",
			"/payments/incoming/1234".into(),
			b"".to_vec(),
			400,
			"Invalid parameter paymentHash: not 64 hex digits",
		),
		(
			"GET",
			"/payments/outgoingbyhash/".into(),
			b"".to_vec(),
			400,
			"Invalid parameter paymentHash: not 64 hex digits",
		),
		("GET", "/payinvoice".into(), b"".to_vec(), 404, "Not Found"),
		("POST", "/getinfo".into(), b"".to_vec(), 404, "Not Found"),
		("GET", "/nothing".into(), b"".to_vec(), 404, "Not Found"),
		(
			"POST",
			"/createinvoice".into(),
			vec![b'a'; MAX_BODY_BYTES + 1],
			413,
			"Request body larger than 16384 bytes",
		),
	];
	for (method, path, body, status, message) in cases {
		let answer = send(method, &path, Some(&full), &body).await;
		assert_eq!(answer, (status, message.to_string()), "{method} {path}");
	}
}
