//! Deliveries end to end inside the node: a real journal, the registrations and a webhook's
//! worker POSTing to a receiver on a local port, plain or over TLS with a certificate made
//! here (rcgen), checking what the receiver got and what the webhook's state says.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::*;
use crate::journal::NodeEvent;
use lightning::util::logger::Level;

use crate::logger::FulgurLogger;
use crate::shutdown::StopSignal;

/// One request a receiver got: its headers (names in lower case) and body.
#[derive(Clone, Debug)]
struct Received {
	headers: HashMap<String, String>,
	body: Vec<u8>,
}

/// What a receiver saw.
type Log = Arc<Mutex<Vec<Received>>>;

/// A receiver answering 200 to every request, over TLS when given a server configuration.
async fn receiver(tls: Option<Arc<ServerConfig>>) -> (SocketAddr, Log) {
	let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
	let addr = listener.local_addr().expect("addr");
	let log: Log = Arc::default();
	let seen = Arc::clone(&log);
	tokio::spawn(async move {
		while let Ok((tcp, _)) = listener.accept().await {
			let seen = Arc::clone(&seen);
			let tls = tls.clone();
			tokio::spawn(async move {
				match tls {
					// A refused handshake ends the connection: nothing is recorded.
					Some(config) => {
						if let Ok(stream) = TlsAcceptor::from(config).accept(tcp).await {
							serve(stream, seen).await;
						}
					}
					None => serve(tcp, seen).await,
				}
			});
		}
	});
	(addr, log)
}

/// Reads HTTP/1.1 requests from one connection and answers each 200.
async fn serve(mut stream: impl AsyncRead + AsyncWrite + Unpin, seen: Log) {
	let mut buffer = Vec::new();
	loop {
		let head_end = loop {
			if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
				break end + 4;
			}
			let mut chunk = [0u8; 4096];
			match stream.read(&mut chunk).await {
				Ok(0) | Err(_) => return,
				Ok(n) => buffer.extend_from_slice(&chunk[..n]),
			}
		};
		let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
		let headers: HashMap<String, String> = head
			.lines()
			.skip(1)
			.filter_map(|line| line.split_once(':'))
			.map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
			.collect();
		let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
		while buffer.len() < head_end + length {
			let mut chunk = [0u8; 4096];
			match stream.read(&mut chunk).await {
				Ok(0) | Err(_) => return,
				Ok(n) => buffer.extend_from_slice(&chunk[..n]),
			}
		}
		let body = buffer[head_end..head_end + length].to_vec();
		buffer.drain(..head_end + length);
		seen.lock().expect("log").push(Received { headers, body });
		let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
		if stream.write_all(answer).await.is_err() {
			return;
		}
	}
}

/// A self-signed certificate for `names` (PEM) and the TLS server configuration using it.
fn self_signed(names: &[&str]) -> (String, Arc<ServerConfig>) {
	let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
	let certified = rcgen::generate_simple_self_signed(names).expect("certificate");
	let cert = CertificateDer::from(certified.cert.der().to_vec());
	let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
	let provider = Arc::new(rustls::crypto::ring::default_provider());
	let config = ServerConfig::builder_with_provider(provider)
		.with_safe_default_protocol_versions()
		.expect("versions")
		.with_no_client_auth()
		.with_single_cert(vec![cert], key)
		.expect("server config");
	(certified.cert.pem(), Arc::new(config))
}

/// A node's webhook machinery on a fresh store, its workers started by `delivery.spawn`.
struct Rig {
	_dir: tempfile::TempDir,
	delivery: WebhookDelivery,
}

impl Rig {
	async fn new() -> Rig {
		let dir = tempfile::tempdir().expect("tempdir");
		let store: Arc<DynStore> =
			Arc::new(crate::store::SledStore::open(&dir.path().join("store")).expect("open"));
		let journal = Journal::open(Arc::clone(&store)).expect("journal");
		let webhooks = Arc::new(Webhooks::load(store).await.expect("webhooks"));
		let logger = Arc::new(
			FulgurLogger::new(&dir.path().join("test.log"), "test", Level::Debug).expect("log"),
		);
		let delivery = WebhookDelivery { webhooks, journal, logger, stop: StopSignal::new() };
		Rig { _dir: dir, delivery }
	}

	/// Appends one event to the journal.
	async fn append(&self) {
		let event = NodeEvent::PeerDisconnected { node_id: "02".into() };
		self.delivery.journal.append(event).await.expect("append");
	}

	/// The webhook's state once `done` holds (waiting up to a minute).
	async fn wait_for(&self, id: &str, done: impl Fn(&WebhookInfo) -> bool) -> WebhookInfo {
		for _ in 0..1200 {
			let hook = self.delivery.webhooks.list().into_iter().find(|h| h.id == id);
			if let Some(hook) = hook.filter(|h| done(h)) {
				return hook;
			}
			tokio::time::sleep(Duration::from_millis(50)).await;
		}
		panic!("webhook {id}: condition not met: {:?}", self.delivery.webhooks.list());
	}
}

/// Checks one delivery's timestamp and signature with the webhook's secret, as a receiver
/// does.
fn check_signed(received: &Received, secret: &str) {
	let timestamp = received.headers.get("x-fulgur-timestamp").expect("an X-Fulgur-Timestamp");
	let at: u64 = timestamp.parse().expect("UNIX seconds");
	let now = fulgur_base::clock::unix_now();
	assert!(at <= now && now - at < 600, "timestamp {at}, now {now}");
	let mut signed = format!("{timestamp}.").into_bytes();
	signed.extend_from_slice(&received.body);
	let expected = signature(secret, &signed);
	assert_eq!(received.headers.get(SIGNATURE_HEADER), Some(&expected));
	let record: crate::journal::EventRecord =
		serde_json::from_slice(&received.body).expect("an event record");
	assert_eq!(received.headers.get("x-fulgur-event-index"), Some(&record.index.to_string()));
}

#[tokio::test]
async fn a_delivery_signs_its_timestamp_with_its_body() {
	let rig = Rig::new().await;
	let (addr, log) = receiver(None).await;
	let url = format!("http://{addr}/hook");
	let (hook, secret) = rig
		.delivery
		.webhooks
		.create(&rig.delivery.journal, &url, vec![], None)
		.await
		.expect("create");
	let _worker = rig.delivery.spawn(hook.id.clone());
	rig.append().await;
	rig.wait_for(&hook.id, |h| h.delivery.delivered == 1).await;
	let received = log.lock().expect("log").clone();
	assert_eq!(received.len(), 1);
	check_signed(&received[0], &secret);
}

#[tokio::test]
async fn an_https_receiver_with_a_self_signed_certificate_given_as_ca_is_delivered_to() {
	let rig = Rig::new().await;
	let (ca_pem, server) = self_signed(&["127.0.0.1"]);
	let (addr, log) = receiver(Some(server)).await;
	let url = format!("https://{addr}/hook");
	let (hook, secret) = rig
		.delivery
		.webhooks
		.create(&rig.delivery.journal, &url, vec![], Some(ca_pem))
		.await
		.expect("create");
	let _worker = rig.delivery.spawn(hook.id.clone());
	rig.append().await;
	rig.append().await;
	let state = rig.wait_for(&hook.id, |h| h.delivery.delivered == 2).await;
	assert_eq!((state.delivery.failed_attempts, state.delivery.last_error), (0, None));
	let received = log.lock().expect("log").clone();
	assert_eq!(received.len(), 2);
	for delivery in &received {
		check_signed(delivery, &secret);
	}
}

#[tokio::test]
async fn an_https_receiver_not_trusted_is_refused_and_retried() {
	let rig = Rig::new().await;
	let (_ca_pem, server) = self_signed(&["127.0.0.1"]);
	let (addr, log) = receiver(Some(server)).await;
	// Without its certificate as the CA, only Mozilla's roots are trusted.
	let url = format!("https://{addr}/hook");
	let webhooks = &rig.delivery.webhooks;
	let (hook, _) =
		webhooks.create(&rig.delivery.journal, &url, vec![], None).await.expect("create");
	let _worker = rig.delivery.spawn(hook.id.clone());
	rig.append().await;
	let state = rig.wait_for(&hook.id, |h| h.delivery.failed_attempts >= 2).await;
	let error = state.delivery.last_error.expect("a last_error");
	assert!(error.contains("TLS handshake refused"), "{error}");
	assert!(error.contains("UnknownIssuer") && error.contains("ca_cert_pem"), "{error}");
	assert_eq!((state.delivery.delivered, state.delivery.next_index), (0, 1));
	assert!(state.delivery.next_attempt_at.is_some());
	assert!(log.lock().expect("log").is_empty(), "nothing is sent before the handshake");
}

#[tokio::test]
async fn an_https_receiver_whose_certificate_names_another_host_is_refused() {
	let rig = Rig::new().await;
	// Trusted (given as the CA), but issued for another name than the url's host.
	let (ca_pem, server) = self_signed(&["shop.example"]);
	let (addr, log) = receiver(Some(server)).await;
	let url = format!("https://{addr}/hook");
	let webhooks = &rig.delivery.webhooks;
	let (hook, _) =
		webhooks.create(&rig.delivery.journal, &url, vec![], Some(ca_pem)).await.expect("create");
	let _worker = rig.delivery.spawn(hook.id.clone());
	rig.append().await;
	let state = rig.wait_for(&hook.id, |h| h.delivery.failed_attempts >= 1).await;
	let error = state.delivery.last_error.expect("a last_error");
	assert!(error.contains("TLS handshake refused"), "{error}");
	assert!(error.contains("does not name the url's host"), "{error}");
	assert_eq!(state.delivery.delivered, 0);
	assert!(log.lock().expect("log").is_empty(), "nothing is sent before the handshake");
}

#[tokio::test]
async fn a_ca_certificate_is_checked_when_the_webhook_is_created() {
	let rig = Rig::new().await;
	let (ca_pem, _) = self_signed(&["127.0.0.1"]);
	let journal = &rig.delivery.journal;
	let webhooks = &rig.delivery.webhooks;
	let huge = format!("{ca_pem}{}", "x".repeat(MAX_CA_CERT_PEM));
	let cases = [
		("http://127.0.0.1:1/h", ca_pem.clone(), "only for an https:// url"),
		("https://127.0.0.1:1/h", "not a certificate".to_string(), "BEGIN CERTIFICATE"),
		("https://127.0.0.1:1/h", ca_pem.replace("MII", "MIX"), "ca_cert_pem"),
		("https://127.0.0.1:1/h", huge, "longer than"),
	];
	for (url, pem, why) in cases {
		let refused = webhooks.create(journal, url, vec![], Some(pem)).await.expect_err(why);
		assert_eq!(refused.code(), "invalid_request", "{refused}");
		assert!(refused.to_string().contains(why), "{refused}");
	}
	assert!(webhooks.list().is_empty(), "nothing refused is stored");
	// A blank CA is no CA.
	let (blank, _) = webhooks
		.create(journal, "http://127.0.0.1:1/h", vec![], Some(" \n".into()))
		.await
		.expect("blank");
	assert_eq!(webhooks.hooks.get(&blank.id).map(|h| h.ca_cert_pem), Some(None));
}
