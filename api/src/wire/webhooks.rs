//! `POST /v1/webhooks`, `GET /v1/webhooks`, `DELETE /v1/webhooks/{id}` (admin only).
//!
//! Each delivery is `POST <url>` with the event record as JSON body (as in
//! `GET /v1/events`) and the headers `X-Fulgur-Timestamp: <UNIX seconds>`,
//! `X-Fulgur-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the
//! secret>`, `X-Fulgur-Event-Index` and `X-Fulgur-Event-Type`; a receiver refusing
//! timestamps more than a few minutes old refuses a replayed delivery. Any 2xx
//! answer acknowledges it; anything else is retried with exponential backoff (1 s, 2 s, 4 s,
//! ... up to 10 min), in index order. Delivery is at least once: drop repeats by index.

use serde::{Deserialize, Serialize};

use super::Validate;

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

/// `POST /v1/webhooks` body.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
	/// Where to POST events: `http://host[:port]/path` or `https://host[:port]/path` (the
	/// receiver's certificate verified against Mozilla's roots, or `ca_cert_pem`).
	pub url: String,
	/// Event kinds to deliver (see `EventRecord.type`); empty or `["*"]` for all.
	#[serde(default)]
	pub events: Vec<String>,
	/// For an `https://` receiver with its own CA or a self-signed certificate: that CA
	/// certificate (or the certificate itself), PEM, trusted instead of Mozilla's roots.
	/// Stored with the webhook; never listed.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub ca_cert_pem: Option<String>,
}

impl Validate for CreateWebhookRequest {}

/// `POST /v1/webhooks` answer: the webhook and its signing secret, shown only this once.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CreatedWebhook {
	/// The webhook.
	#[serde(flatten)]
	pub webhook: WebhookInfo,
	/// The HMAC-SHA256 key of `X-Fulgur-Signature` (the whole string, as bytes).
	pub secret: String,
}

/// `GET /v1/webhooks` answer: one page, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListWebhooksResponse {
	/// This page.
	pub webhooks: Vec<WebhookInfo>,
	/// Webhooks in all pages.
	pub total: usize,
	/// Pass as `cursor` for the next page; `null` on the last page.
	pub next_cursor: Option<String>,
}

/// `DELETE /v1/webhooks/{id}` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteWebhookRequest {
	/// The webhook's id.
	pub id: String,
}
