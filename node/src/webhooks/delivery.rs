//! One task per webhook: reads the journal from the webhook's cursor, POSTs each matching
//! event with an HMAC-SHA256 signature over the attempt's timestamp and the body, retries
//! with exponential backoff, and moves the cursor only once the receiver answered 2xx. Of an
//! answer's body at most [`MAX_RESPONSE_BODY`] is read: a receiver cannot make the node
//! buffer more. Every attempt is signed afresh at its own time, so a receiver that refuses
//! old timestamps refuses a captured delivery replayed later.

use std::sync::Arc;

use bitcoin::hashes::{sha256, Hash, HashEngine, Hmac, HmacEngine};
use bitcoin::hex::DisplayHex;
use fulgur_tower_protocol::body::{read_limited, MAX_RESPONSE_BODY};
use hyper::client::HttpConnector;
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper::{Body, Client, Method, Request};

use super::tls::{self, HttpsConnector};
use super::{DeliveryState, Registration, Webhooks};
use crate::config::{WEBHOOK_FIRST_RETRY_DELAY, WEBHOOK_MAX_RETRY_DELAY, WEBHOOK_REQUEST_TIMEOUT};
use crate::journal::{EventRecord, Journal};
use crate::logger::FulgurLogger;
use crate::shutdown::StopSignal;

/// The signature header: `sha256=<hex HMAC-SHA256(secret, signed message)>`, the signed
/// message being [`signed_message`] of the timestamp header and the body.
pub const SIGNATURE_HEADER: &str = "x-fulgur-signature";
/// The attempt's time (UNIX seconds, decimal), covered by the signature.
pub const TIMESTAMP_HEADER: &str = "x-fulgur-timestamp";
/// The event's index, to drop duplicates without parsing the body.
const INDEX_HEADER: &str = "x-fulgur-event-index";
/// The event's kind.
const KIND_HEADER: &str = "x-fulgur-event-type";
/// Events read from the journal at a time.
const BATCH: usize = 100;

/// What a delivery's signature covers: the `X-Fulgur-Timestamp` value as sent (decimal UNIX
/// seconds), a `.`, then the body's bytes exactly as sent, e.g. `1764590999.{"index":7,...}`.
pub fn signed_message(timestamp: u64, body: &[u8]) -> Vec<u8> {
	let mut message = format!("{timestamp}.").into_bytes();
	message.extend_from_slice(body);
	message
}

/// `sha256=<hex>` of the HMAC-SHA256 of `message` keyed with the webhook's secret (the whole
/// `whsec_...` string, as bytes): what receivers recompute, over [`signed_message`], to check
/// a delivery.
pub fn signature(secret: &str, message: &[u8]) -> String {
	let mut engine = HmacEngine::<sha256::Hash>::new(secret.as_bytes());
	engine.input(message);
	let mac = Hmac::<sha256::Hash>::from_engine(engine);
	format!("sha256={}", mac.to_byte_array().to_lower_hex_string())
}

/// What a webhook's worker uses: the registrations and cursors, the journal it reads, the log
/// and the stop signal.
#[derive(Clone)]
pub(crate) struct WebhookDelivery {
	/// Registrations and delivery cursors.
	pub(crate) webhooks: Arc<Webhooks>,
	/// The events delivered.
	pub(crate) journal: Arc<Journal>,
	/// Log.
	pub(crate) logger: Arc<FulgurLogger>,
	/// Ends the workers.
	pub(crate) stop: StopSignal,
}

impl WebhookDelivery {
	/// Starts the worker of webhook `id`.
	pub(crate) fn spawn(&self, id: String) -> tokio::task::JoinHandle<()> {
		tokio::spawn(run_worker(self.clone(), id))
	}
}

/// How a webhook's requests go out: hyper's pool, plain or through verified TLS.
pub(crate) enum Transport {
	/// `http://` receivers (the node's shared client).
	Plain(Client<HttpConnector>),
	/// `https://` receivers, verified with the webhook's trust anchors.
	Tls(Client<HttpsConnector>),
}

impl Transport {
	/// The transport of `hook`'s URL; the error (a stored CA that no longer reads) is the
	/// webhook's `last_error` at every attempt.
	pub(crate) fn of(webhooks: &Webhooks, hook: &Registration) -> Result<Transport, String> {
		if !super::is_https(&hook.url) {
			return Ok(Transport::Plain(webhooks.http.clone()));
		}
		let config = tls::client_config(hook.ca_cert_pem.as_deref())
			.map_err(|e| format!("the webhook's ca_cert_pem: {e}"))?;
		Ok(Transport::Tls(Client::builder().build(HttpsConnector::new(config))))
	}

	async fn request(&self, request: Request<Body>) -> Result<hyper::Response<Body>, hyper::Error> {
		match self {
			Transport::Plain(client) => client.request(request).await,
			Transport::Tls(client) => client.request(request).await,
		}
	}
}

/// Delivers webhook `id`'s events until the webhook is deleted or the node stops.
async fn run_worker(delivery: WebhookDelivery, id: String) {
	let mut appended = delivery.journal.subscribe();
	let mut changed = delivery.webhooks.hooks.subscribe();
	// A registration never changes (only its cursor does): one transport for its life.
	let Some(registered) = delivery.webhooks.hooks.get(&id) else { return };
	let transport = Transport::of(&delivery.webhooks, &registered);
	loop {
		let Some(hook) = delivery.webhooks.hooks.get(&id) else { return };
		let mut state = delivery.webhooks.outbox.get(&id).unwrap_or_default();
		let after = state.next_index.saturating_sub(1);
		let batch = match delivery.journal.read_async(after, BATCH).await {
			Ok(batch) => batch,
			Err(e) => {
				crate::error!(delivery.logger, "webhook {id}: reading events: {e}");
				Vec::new()
			}
		};
		if batch.is_empty() {
			tokio::select! {
				_ = delivery.stop.stopped() => return,
				_ = appended.changed() => {},
				// Any change of the registrations (a deletion) means: look again.
				_ = changed.recv() => {},
			}
			continue;
		}
		// Skipped events move the cursor in memory only, saved with the next delivery or at
		// the end of the batch.
		let mut unsaved = false;
		for event in batch {
			let wanted =
				hook.events.is_empty() || hook.events.iter().any(|k| k == event.event.kind());
			if wanted && !deliver(&delivery, &transport, &hook, &event, &mut state).await {
				return;
			}
			state.delivered += u64::from(wanted);
			state.next_index = event.index + 1;
			state.failed_attempts = 0;
			state.last_error = None;
			state.next_attempt_at = None;
			unsaved = !wanted;
			if wanted {
				if let Err(e) = save(&delivery, &id, &state).await {
					crate::error!(delivery.logger, "webhook {id}: saving its cursor: {e}");
				}
			}
		}
		if unsaved {
			if let Err(e) = save(&delivery, &id, &state).await {
				crate::error!(delivery.logger, "webhook {id}: saving its cursor: {e}");
			}
		}
	}
}

/// POSTs one event until a 2xx answer; false when the node stops or the webhook is deleted
/// first.
async fn deliver(
	delivery: &WebhookDelivery, transport: &Result<Transport, String>, hook: &Registration,
	event: &EventRecord, state: &mut DeliveryState,
) -> bool {
	let body = match serde_json::to_vec(event) {
		Ok(body) => body,
		Err(e) => {
			crate::error!(
				delivery.logger,
				"webhook {}: encoding event {}: {e}",
				hook.id,
				event.index
			);
			return true;
		}
	};
	let mut delay = WEBHOOK_FIRST_RETRY_DELAY;
	loop {
		let attempt = match transport {
			Ok(transport) => post(transport, &hook.url, &hook.secret, event, &body).await,
			Err(error) => Err(error.clone()),
		};
		let error = match attempt {
			Ok(()) => return true,
			Err(error) => error,
		};
		state.failed_attempts += 1;
		crate::info!(
			delivery.logger,
			"webhook {}: event {} attempt {} failed: {error}; next in {delay:?}",
			hook.id,
			event.index,
			state.failed_attempts
		);
		state.last_error = Some(error);
		state.next_attempt_at = Some(fulgur_base::clock::unix_now() + delay.as_secs());
		if let Err(e) = save(delivery, &hook.id, state).await {
			crate::error!(delivery.logger, "webhook {}: saving its state: {e}", hook.id);
		}
		tokio::select! {
			_ = delivery.stop.stopped() => return false,
			_ = tokio::time::sleep(delay) => {},
		}
		if delivery.webhooks.hooks.get(&hook.id).is_none() {
			return false;
		}
		delay = (delay * 2).min(WEBHOOK_MAX_RETRY_DELAY);
	}
}

/// Stores the cursor, unless the webhook was deleted meanwhile (no orphan cursor then).
async fn save(
	delivery: &WebhookDelivery, id: &str, state: &DeliveryState,
) -> Result<(), crate::NodeError> {
	delivery
		.webhooks
		.outbox
		.update(id, |stored| {
			*stored = state.clone();
			true
		})
		.await
		.map(|_| ())
}

/// POSTs one event to `url`, signed with `secret` at this moment; `Ok` once it answered 2xx.
async fn post(
	transport: &Transport, url: &str, secret: &str, event: &EventRecord, body: &[u8],
) -> Result<(), String> {
	let timestamp = fulgur_base::clock::unix_now();
	let signed = signature(secret, &signed_message(timestamp, body));
	let request = Request::builder()
		.method(Method::POST)
		.uri(url)
		.header(CONTENT_TYPE, "application/json")
		.header(USER_AGENT, "fulgur-webhooks")
		.header(TIMESTAMP_HEADER, timestamp.to_string())
		.header(SIGNATURE_HEADER, signed)
		.header(INDEX_HEADER, event.index.to_string())
		.header(KIND_HEADER, event.event.kind())
		.body(Body::from(body.to_vec()))
		.map_err(|e| format!("invalid request: {e}"))?;
	let exchange = async {
		let response = transport.request(request).await?;
		let status = response.status();
		// Read (and drop) the answer so the connection can be reused. The status is the
		// acknowledgement: an answer over the cap is left unread and its connection dropped.
		let _ = read_limited(response.into_body(), MAX_RESPONSE_BODY).await;
		Ok::<_, hyper::Error>(status)
	};
	match tokio::time::timeout(WEBHOOK_REQUEST_TIMEOUT, exchange).await {
		Err(_) => Err(format!("no answer within {}s", WEBHOOK_REQUEST_TIMEOUT.as_secs())),
		Ok(Err(e)) => Err(tls::describe(&e)),
		Ok(Ok(status)) if status.is_success() => Ok(()),
		Ok(Ok(status)) => Err(format!("answered HTTP {}", status.as_u16())),
	}
}

#[cfg(test)]
mod tests {
	use fulgur_tower_protocol::body::flood::{flooding_peer, FLOOD};

	use super::*;
	use crate::journal::NodeEvent;

	#[tokio::test]
	async fn a_receiver_sending_a_huge_answer_is_cut_off() {
		let http = Transport::Plain(Client::builder().build_http());
		let event = EventRecord {
			index: 1,
			timestamp: 0,
			event: NodeEvent::BreachSeen { channel_id: "00".into(), txid: "11".into() },
		};
		for announced in [true, false] {
			let (addr, written) = flooding_peer(announced).await.unwrap();
			let url = format!("http://{addr}/hook");
			// The 2xx status is the acknowledgement; the body is not needed.
			post(&http, &url, "whsec_00", &event, b"{}").await.expect("delivered");
			let sent = written.await.unwrap();
			assert!(sent < FLOOD / 2, "the node kept reading the answer: {sent} bytes sent");
		}
	}

	#[test]
	fn signature_is_rfc4231_hmac_sha256() {
		// RFC 4231 test case 2.
		let sig = signature("Jefe", b"what do ya want for nothing?");
		assert_eq!(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	}
}
