//! `POST /v1/webhooks`, `GET /v1/webhooks`, `DELETE /v1/webhooks/{id}` (admin only).
//!
//! Each delivery is `POST <url>` with the event record as JSON body (as in
//! `GET /v1/events`) and the headers `X-Fulgur-Signature: sha256=<hex HMAC-SHA256 of the
//! body keyed with the secret>`, `X-Fulgur-Event-Index` and `X-Fulgur-Event-Type`. Any 2xx
//! answer acknowledges it; anything else is retried with exponential backoff (1 s, 2 s, 4 s,
//! ... up to 10 min), in index order. Delivery is at least once: drop repeats by index.

use fulgur_node::{Node, WebhookInfo};
use serde::{Deserialize, Serialize};

use super::{paginate, PageQuery, Validate};
use crate::error::ApiError;

/// `POST /v1/webhooks` body.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
	/// Where to POST events: `http://host[:port]/path` (no TLS: put a local proxy in front
	/// of an HTTPS receiver).
	pub url: String,
	/// Event kinds to deliver (see `EventRecord.type`); empty or `["*"]` for all.
	#[serde(default)]
	pub events: Vec<String>,
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

/// `POST /v1/webhooks`.
pub(crate) async fn handle_create_webhook(
	node: Node, req: CreateWebhookRequest,
) -> Result<CreatedWebhook, ApiError> {
	let (webhook, secret) = node.create_webhook(&req.url, req.events).await?;
	log_info!("webhook {} to {} created", webhook.id, webhook.url);
	Ok(CreatedWebhook { webhook, secret })
}

/// `GET /v1/webhooks`.
pub(crate) async fn handle_list_webhooks(
	node: Node, req: PageQuery,
) -> Result<ListWebhooksResponse, ApiError> {
	let page = paginate(node.list_webhooks(), &req)?;
	Ok(ListWebhooksResponse {
		webhooks: page.items,
		total: page.total,
		next_cursor: page.next_cursor,
	})
}

/// `DELETE /v1/webhooks/{id}`.
pub(crate) async fn handle_delete_webhook(
	node: Node, req: DeleteWebhookRequest,
) -> Result<WebhookInfo, ApiError> {
	let webhook = node.delete_webhook(&req.id).await?;
	log_info!("webhook {} deleted", webhook.id);
	Ok(webhook)
}
