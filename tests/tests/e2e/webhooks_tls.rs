//! Webhooks to an HTTPS receiver through the node's API: a receiver with a self-signed
//! certificate gets signed, timestamped deliveries once that certificate is the webhook's
//! `ca_cert_pem`, and is refused at the handshake (retried, with a `last_error` saying why)
//! without it.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use fulgur_api::wire::events::{EventRecord, NodeEvent};
use fulgur_api::wire::webhooks::{CreateWebhookRequest, WebhookInfo};
use fulgur_api::{ApiClient, ClientError};
use fulgur_tests::TestNet;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;
use warp::hyper::service::service_fn;
use warp::hyper::{Body, Request, Response};

/// What the receiver got: (timestamp header, signature header, body) per request.
type Seen = Arc<Mutex<Vec<(u64, String, Vec<u8>)>>>;

/// An HTTPS receiver on 127.0.0.1 with a self-signed certificate for that address, answering
/// 200; returns the certificate (PEM), its URL and what it saw.
async fn https_receiver() -> (String, String, Seen) {
	let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
	let cert = CertificateDer::from(certified.cert.der().to_vec());
	let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
	let provider = Arc::new(rustls::crypto::ring::default_provider());
	let config = rustls::ServerConfig::builder_with_provider(provider)
		.with_safe_default_protocol_versions()
		.unwrap()
		.with_no_client_auth()
		.with_single_cert(vec![cert], key)
		.unwrap();
	let acceptor = TlsAcceptor::from(Arc::new(config));
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let url = format!("https://{}/hook", listener.local_addr().unwrap());
	let seen: Seen = Arc::default();
	let log = Arc::clone(&seen);
	tokio::spawn(async move {
		while let Ok((tcp, _)) = listener.accept().await {
			let (acceptor, log) = (acceptor.clone(), Arc::clone(&log));
			tokio::spawn(async move {
				// A client refusing the certificate ends the handshake: nothing to serve.
				let Ok(tls) = acceptor.accept(tcp).await else { return };
				let service = service_fn(move |request: Request<Body>| {
					let log = Arc::clone(&log);
					async move {
						let header = |name: &str| {
							request
								.headers()
								.get(name)
								.and_then(|v| v.to_str().ok())
								.map(String::from)
						};
						let timestamp = header("x-fulgur-timestamp").and_then(|t| t.parse().ok());
						let signature = header("x-fulgur-signature").unwrap_or_default();
						let body = warp::hyper::body::to_bytes(request.into_body()).await;
						let body = body.map(|b| b.to_vec()).unwrap_or_default();
						log.lock().unwrap().push((timestamp.unwrap_or(0), signature, body));
						Ok::<_, Infallible>(Response::new(Body::empty()))
					}
				});
				let _ = warp::hyper::server::conn::Http::new().serve_connection(tls, service).await;
			});
		}
	});
	(certified.cert.pem(), url, seen)
}

async fn webhook(client: &ApiClient, id: &str) -> WebhookInfo {
	let all = client.list_webhooks(&Default::default()).await.expect("webhooks");
	all.webhooks.into_iter().find(|h| h.id == id).expect("the webhook")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_https_receiver_gets_signed_deliveries_with_its_certificate_as_ca() {
	let net = TestNet::new(&["alice"]).await;
	let alice = net.api("alice");
	let (ca_cert_pem, url, seen) = https_receiver().await;
	let events = vec!["invoice_expired".to_string()];
	// The same receiver twice: without its certificate (Mozilla's roots only), and with it.
	let untrusted = alice.create_webhook(&url, &events).await.expect("webhook");
	let req = CreateWebhookRequest {
		url: url.clone(),
		events: events.clone(),
		ca_cert_pem: Some(ca_cert_pem.clone()),
	};
	let trusted = alice.create_webhook_with(&req).await.expect("webhook with its CA");
	// A CA for a plain http:// url makes no sense: refused, nothing stored.
	let plain = CreateWebhookRequest {
		url: "http://127.0.0.1:1/h".into(),
		events: vec![],
		ca_cert_pem: Some(ca_cert_pem),
	};
	match alice.create_webhook_with(&plain).await {
		Err(ClientError::Api { status: 400, code, .. }) => assert_eq!(code, "invalid_request"),
		other => panic!("a CA on http:// accepted: {other:?}"),
	}

	let invoice = alice.create_invoice(Some(1_000), "over tls", Some(1)).await.expect("invoice");
	net.wait_for("the delivery over TLS", || async {
		webhook(&alice, &trusted.webhook.id).await.delivery.delivered == 1
	})
	.await;
	net.wait_for("the untrusted webhook's second attempt", || async {
		webhook(&alice, &untrusted.webhook.id).await.delivery.failed_attempts >= 2
	})
	.await;

	let refused = webhook(&alice, &untrusted.webhook.id).await.delivery;
	let error = refused.last_error.expect("a last_error");
	assert!(error.contains("UnknownIssuer") && error.contains("ca_cert_pem"), "{error}");
	assert_eq!(refused.delivered, 0);
	// Only the trusted webhook's requests got through the handshake.
	let seen = seen.lock().unwrap().clone();
	assert!(!seen.is_empty());
	for (timestamp, signature, body) in &seen {
		let signed = fulgur_node::webhook_signed_message(*timestamp, body);
		assert_eq!(*signature, fulgur_node::webhook_signature(&trusted.secret, &signed));
		let record: EventRecord = serde_json::from_slice(body).expect("an event record");
		assert!(
			matches!(&record.event, NodeEvent::InvoiceExpired { invoice: i }
				if i.payment_hash == invoice.payment_hash),
			"{record:?}"
		);
	}
	net.shutdown().await;
}
