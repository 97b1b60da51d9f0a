//! Webhooks: a merchant registers a URL (`http://` or `https://`, the latter verified against
//! Mozilla's roots or the webhook's own CA certificate) and the event kinds it wants; every
//! matching event of the journal is POSTed to it, signed with a timestamp, in index order,
//! retried with exponential backoff until the receiver answers 2xx. Delivery is at least once: a receiver may see an event
//! again (after a crash between its answer and our bookkeeping) and drops it by `index`.
//!
//! The journal is the outbox: each webhook keeps a durable cursor (`fulgur_webhook_outbox`)
//! at the next event index to deliver, advanced only after a 2xx answer, so nothing between
//! the cursor and the journal's head is ever lost, whatever restarts in between: the
//! journal's retention keeps every event from the oldest cursor on ([`Webhooks::oldest_cursor`]).

mod delivery;
#[cfg(test)]
mod delivery_tests;
mod tls;

pub(crate) use delivery::WebhookDelivery;
pub use delivery::{signature, signed_message, SIGNATURE_HEADER, TIMESTAMP_HEADER};
pub use tls::MAX_CA_CERT_PEM;

use std::sync::Arc;

use bitcoin::hex::DisplayHex;
use hyper::Uri;
use serde::{Deserialize, Serialize};

use crate::journal::{Journal, EVENT_KINDS};
use crate::records::stored::webhook::{StoredDelivery, StoredWebhook};
use crate::records::{Record, RecordStore};
use crate::store::DynStore;
use crate::NodeError;

/// Namespace of webhook registrations (with their secrets).
const HOOKS_NAMESPACE: &str = "fulgur_webhooks";
/// Namespace of each webhook's delivery cursor.
const OUTBOX_NAMESPACE: &str = "fulgur_webhook_outbox";
/// Random bytes of a signing secret.
const SECRET_BYTES: usize = 32;
/// Random bytes of a webhook id.
const ID_BYTES: usize = 8;
/// Most webhooks a node keeps (each has its own delivery task).
pub const MAX_WEBHOOKS: usize = 100;

/// A webhook as listed (the secret is only shown at creation).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookInfo {
	/// The webhook's id (hex).
	pub id: String,
	/// Where events are POSTed (`http://...` or `https://...`).
	pub url: String,
	/// Event kinds delivered; empty means every kind.
	pub events: Vec<String>,
	/// Creation time (UNIX seconds).
	pub created_at: u64,
	/// Delivery progress.
	pub delivery: DeliveryState,
}

/// Where a webhook's deliveries stand.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeliveryState {
	/// Index of the next event to consider; everything before it was delivered or skipped.
	pub next_index: u64,
	/// Events delivered (2xx answers).
	pub delivered: u64,
	/// Failed attempts at the current event.
	pub failed_attempts: u32,
	/// Why the last attempt failed.
	pub last_error: Option<String>,
	/// When the current event is tried again (UNIX seconds), while failing.
	pub next_attempt_at: Option<u64>,
}

/// A webhook as the node keeps it: what is listed, and its signing secret.
#[derive(Clone, Debug)]
struct Registration {
	id: String,
	url: String,
	events: Vec<String>,
	created_at: u64,
	secret: String,
	/// The only CA an `https://` receiver's certificate may chain to (PEM), if given.
	ca_cert_pem: Option<String>,
}

impl Record for Registration {
	type Stored = StoredWebhook;

	fn to_stored(&self) -> StoredWebhook {
		let Registration { id, url, events, created_at, secret, ca_cert_pem } = self.clone();
		StoredWebhook { id, url, events, created_at, secret, ca_cert_pem }
	}

	fn from_stored(stored: StoredWebhook) -> Registration {
		let StoredWebhook { id, url, events, created_at, secret, ca_cert_pem } = stored;
		Registration { id, url, events, created_at, secret, ca_cert_pem }
	}
}

impl Record for DeliveryState {
	type Stored = StoredDelivery;

	fn to_stored(&self) -> StoredDelivery {
		let DeliveryState { next_index, delivered, failed_attempts, last_error, next_attempt_at } =
			self.clone();
		StoredDelivery { next_index, delivered, failed_attempts, last_error, next_attempt_at }
	}

	fn from_stored(stored: StoredDelivery) -> DeliveryState {
		let StoredDelivery { next_index, delivered, failed_attempts, last_error, next_attempt_at } =
			stored;
		DeliveryState { next_index, delivered, failed_attempts, last_error, next_attempt_at }
	}
}

/// The node's webhooks.
pub struct Webhooks {
	hooks: Arc<RecordStore<Registration>>,
	outbox: Arc<RecordStore<DeliveryState>>,
	http: hyper::Client<hyper::client::HttpConnector>,
}

impl Webhooks {
	/// Loads registrations and cursors (migrating them, see `records`). Blocking: call at
	/// start-up.
	pub async fn load(store: Arc<DynStore>) -> Result<Webhooks, NodeError> {
		Ok(Webhooks {
			hooks: RecordStore::load(Arc::clone(&store), HOOKS_NAMESPACE).await?,
			outbox: RecordStore::load(store, OUTBOX_NAMESPACE).await?,
			http: hyper::Client::builder().build_http(),
		})
	}

	/// Registers a webhook that gets the events appended from now on; returns it and its
	/// signing secret (shown once). `ca_cert_pem`, for an `https://` URL only, is the CA
	/// certificate (or the self-signed certificate) the receiver's must chain to, instead of
	/// Mozilla's roots. The caller starts its delivery task.
	pub(crate) async fn create(
		&self, journal: &Journal, url: &str, events: Vec<String>, ca_cert_pem: Option<String>,
	) -> Result<(WebhookInfo, String), NodeError> {
		let url = check_url(url)?;
		let ca_cert_pem = check_ca_cert(&url, ca_cert_pem)?;
		let mut events: Vec<String> = events.into_iter().map(|e| e.trim().to_string()).collect();
		if events.iter().any(|e| e == "*") {
			events.clear();
		}
		if let Some(unknown) = events.iter().find(|e| !EVENT_KINDS.contains(&e.as_str())) {
			return Err(NodeError::InvalidRequest(format!(
				"unknown event kind {unknown:?}; known kinds: {}",
				EVENT_KINDS.join(", ")
			)));
		}
		events.sort();
		events.dedup();
		if self.hooks.all().len() >= MAX_WEBHOOKS {
			return Err(NodeError::InvalidRequest(format!("at most {MAX_WEBHOOKS} webhooks")));
		}
		let id = rand::random::<[u8; ID_BYTES]>().to_lower_hex_string();
		let secret =
			format!("whsec_{}", rand::random::<[u8; SECRET_BYTES]>().to_lower_hex_string());
		let hook = Registration {
			id: id.clone(),
			url,
			events,
			created_at: fulgur_base::clock::unix_now(),
			secret: secret.clone(),
			ca_cert_pem,
		};
		// The cursor first: a webhook without one would start from the beginning.
		let state = DeliveryState { next_index: journal.latest() + 1, ..Default::default() };
		self.outbox.put(&id, state.clone()).await?;
		self.hooks.put(&id, hook.clone()).await?;
		Ok((info(hook, state), secret))
	}

	/// Every webhook, newest first.
	pub fn list(&self) -> Vec<WebhookInfo> {
		let mut all: Vec<WebhookInfo> = self
			.hooks
			.all()
			.into_iter()
			.map(|h| {
				let state = self.outbox.get(&h.id).unwrap_or_default();
				info(h, state)
			})
			.collect();
		all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
		all
	}

	/// Removes a webhook; its delivery task ends.
	pub async fn delete(&self, id: &str) -> Result<WebhookInfo, NodeError> {
		let id = id.trim().to_ascii_lowercase();
		let hook =
			self.hooks.get(&id).ok_or_else(|| NodeError::NotFound(format!("no webhook {id}")))?;
		let state = self.outbox.get(&id).unwrap_or_default();
		self.hooks.remove(&id).await?;
		self.outbox.remove(&id).await?;
		Ok(info(hook, state))
	}

	/// The lowest index a webhook has not delivered (or skipped) yet: the event log keeps
	/// everything from there. `None` without webhooks.
	pub(crate) fn oldest_cursor(&self) -> Option<u64> {
		self.hooks
			.all()
			.iter()
			.map(|hook| self.outbox.get(&hook.id).map_or(0, |state| state.next_index))
			.min()
	}

	/// The signing secret of webhook `id`.
	#[cfg(test)]
	pub(crate) fn secret(&self, id: &str) -> Option<String> {
		self.hooks.get(id).map(|hook| hook.secret)
	}

	/// Ids of every webhook (to start their tasks).
	pub(crate) fn ids(&self) -> Vec<String> {
		self.hooks.all().into_iter().map(|h| h.id).collect()
	}
}

fn info(hook: Registration, delivery: DeliveryState) -> WebhookInfo {
	WebhookInfo {
		id: hook.id,
		url: hook.url,
		events: hook.events,
		created_at: hook.created_at,
		delivery,
	}
}

/// Only `http://host[:port][/path]` or `https://host[:port][/path]`.
fn check_url(url: &str) -> Result<String, NodeError> {
	let url = url.trim();
	let invalid = |why: &str| NodeError::InvalidRequest(format!("webhook url {url:?}: {why}"));
	let uri: Uri = url.parse().map_err(|_| invalid("not a URL"))?;
	match uri.scheme_str() {
		Some("http") | Some("https") => {}
		_ => return Err(invalid("must start with http:// or https://")),
	}
	if uri.host().is_none_or(str::is_empty) {
		return Err(invalid("no host"));
	}
	Ok(url.to_string())
}

/// Whether `url` is an `https://` one (the scheme in any letter case).
fn is_https(url: &str) -> bool {
	url.parse::<Uri>().is_ok_and(|uri| uri.scheme_str() == Some("https"))
}

/// A CA certificate only for an `https://` URL, and one rustls can use (at least one PEM
/// certificate, at most [`MAX_CA_CERT_PEM`] bytes); blank means none.
fn check_ca_cert(url: &str, ca_cert_pem: Option<String>) -> Result<Option<String>, NodeError> {
	let Some(pem) = ca_cert_pem.filter(|pem| !pem.trim().is_empty()) else { return Ok(None) };
	let invalid = |why: &str| NodeError::InvalidRequest(format!("webhook ca_cert_pem: {why}"));
	if !is_https(url) {
		return Err(invalid("only for an https:// url"));
	}
	tls::client_config(Some(&pem)).map_err(|e| invalid(&e))?;
	Ok(Some(pem))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[tokio::test]
	async fn the_oldest_cursor_is_the_slowest_webhook() {
		let dir = tempfile::tempdir().expect("tempdir");
		let store: Arc<DynStore> =
			Arc::new(crate::store::SledStore::open(dir.path()).expect("open"));
		let journal = Journal::open(Arc::clone(&store)).expect("journal");
		let webhooks = Webhooks::load(store).await.expect("webhooks");
		assert_eq!(webhooks.oldest_cursor(), None);
		let event = crate::journal::NodeEvent::PeerDisconnected { node_id: "02".into() };
		journal.append(event.clone()).await.expect("append");
		let (slow, _) =
			webhooks.create(&journal, "http://127.0.0.1:1/a", vec![], None).await.expect("a");
		journal.append(event).await.expect("append");
		let (fast, _) =
			webhooks.create(&journal, "http://127.0.0.1:1/b", vec![], None).await.expect("b");
		assert_eq!((slow.delivery.next_index, fast.delivery.next_index), (2, 3));
		assert_eq!(webhooks.oldest_cursor(), Some(2));
		webhooks.delete(&slow.id).await.expect("delete");
		assert_eq!(webhooks.oldest_cursor(), Some(3));
	}

	#[test]
	fn only_http_and_https_urls() {
		assert!(check_url("http://127.0.0.1:8080/hook").is_ok());
		assert!(check_url(" http://shop.example/fulgur ").is_ok());
		assert!(check_url("https://shop.example/fulgur").is_ok());
		assert!(is_https("HTTPS://shop.example") && !is_https("http://shop.example"));
		for bad in ["ftp://x", "shop.example", "", "http://", "https://"] {
			assert_eq!(
				check_url(bad).map_err(|e| e.code()).err(),
				Some("invalid_request"),
				"{bad}"
			);
		}
	}
}
