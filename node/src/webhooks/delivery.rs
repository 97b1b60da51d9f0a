//! One task per webhook: reads the journal from the webhook's cursor, POSTs each matching
//! event with an HMAC-SHA256 signature, retries with exponential backoff, and moves the
//! cursor only once the receiver answered 2xx. Of an answer's body at most
//! [`MAX_RESPONSE_BODY`] is read: a receiver cannot make the node buffer more.

use std::sync::Arc;

use bitcoin::hashes::{sha256, Hash, HashEngine, Hmac, HmacEngine};
use bitcoin::hex::DisplayHex;
use fulgur_tower_protocol::body::{read_limited, MAX_RESPONSE_BODY};
use hyper::client::HttpConnector;
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper::{Body, Client, Method, Request};

use super::{DeliveryState, Registration, Webhooks};
use crate::config::{WEBHOOK_FIRST_RETRY_DELAY, WEBHOOK_MAX_RETRY_DELAY, WEBHOOK_REQUEST_TIMEOUT};
use crate::journal::{EventRecord, Journal};
use crate::logger::FulgurLogger;
use crate::shutdown::StopSignal;

/// The signature header: `sha256=<hex HMAC-SHA256(secret, body)>`.
pub const SIGNATURE_HEADER: &str = "x-fulgur-signature";
/// The event's index, to drop duplicates without parsing the body.
const INDEX_HEADER: &str = "x-fulgur-event-index";
/// The event's kind.
const KIND_HEADER: &str = "x-fulgur-event-type";
/// Events read from the journal at a time.
const BATCH: usize = 100;

/// `sha256=<hex>` of the HMAC-SHA256 of `body` keyed with the webhook's secret (the whole
/// `whsec_...` string, as bytes): what receivers recompute to check a delivery.
pub fn signature(secret: &str, body: &[u8]) -> String {
	let mut engine = HmacEngine::<sha256::Hash>::new(secret.as_bytes());
	engine.input(body);
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

/// Delivers webhook `id`'s events until the webhook is deleted or the node stops.
async fn run_worker(delivery: WebhookDelivery, id: String) {
	let mut appended = delivery.journal.subscribe();
	let mut changed = delivery.webhooks.hooks.subscribe();
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
			if wanted && !deliver(&delivery, &hook, &event, &mut state).await {
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
	delivery: &WebhookDelivery, hook: &Registration, event: &EventRecord, state: &mut DeliveryState,
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
	let signed = signature(&hook.secret, &body);
	let mut delay = WEBHOOK_FIRST_RETRY_DELAY;
	loop {
		let error = match post(&delivery.webhooks.http, &hook.url, event, &body, &signed).await {
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

/// POSTs one event to `url`; `Ok` once it answered 2xx.
async fn post(
	http: &Client<HttpConnector>, url: &str, event: &EventRecord, body: &[u8], signed: &str,
) -> Result<(), String> {
	let request = Request::builder()
		.method(Method::POST)
		.uri(url)
		.header(CONTENT_TYPE, "application/json")
		.header(USER_AGENT, "fulgur-webhooks")
		.header(SIGNATURE_HEADER, signed)
		.header(INDEX_HEADER, event.index.to_string())
		.header(KIND_HEADER, event.event.kind())
		.body(Body::from(body.to_vec()))
		.map_err(|e| format!("invalid request: {e}"))?;
	let exchange = async {
		let response = http.request(request).await?;
		let status = response.status();
		// Read (and drop) the answer so the connection can be reused. The status is the
		// acknowledgement: an answer over the cap is left unread and its connection dropped.
		let _ = read_limited(response.into_body(), MAX_RESPONSE_BODY).await;
		Ok::<_, hyper::Error>(status)
	};
	match tokio::time::timeout(WEBHOOK_REQUEST_TIMEOUT, exchange).await {
		Err(_) => Err(format!("no answer within {}s", WEBHOOK_REQUEST_TIMEOUT.as_secs())),
		Ok(Err(e)) => Err(format!("{e}")),
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
		let http = Client::builder().build_http();
		let event = EventRecord {
			index: 1,
			timestamp: 0,
			event: NodeEvent::BreachSeen { channel_id: "00".into(), txid: "11".into() },
		};
		for announced in [true, false] {
			let (addr, written) = flooding_peer(announced).await.unwrap();
			let url = format!("http://{addr}/hook");
			// The 2xx status is the acknowledgement; the body is not needed.
			post(&http, &url, &event, b"{}", "sha256=00").await.expect("delivered");
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
