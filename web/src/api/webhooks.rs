//! `POST /v1/webhooks`, `GET /v1/webhooks`, `DELETE /v1/webhooks/{id}` (admin only).
//!
//! Each delivery is `POST <url>` (`http://` or `https://`) with the event record as JSON
//! body (as in `GET /v1/events`) and the headers `X-Fulgur-Timestamp: <UNIX seconds>`,
//! `X-Fulgur-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the
//! secret>`, `X-Fulgur-Event-Index` and `X-Fulgur-Event-Type`. Any 2xx
//! answer acknowledges it; anything else is retried with exponential backoff (1 s, 2 s, 4 s,
//! ... up to 10 min), in index order. Delivery is at least once: drop repeats by index.

pub use fulgur_api::wire::webhooks::{
	CreateWebhookRequest, CreatedWebhook, DeleteWebhookRequest, ListWebhooksResponse, WebhookInfo,
};
use fulgur_node::Node;

use super::{paginate, PageQuery};
use crate::convert::ToWire;
use crate::error::ApiError;

/// `POST /v1/webhooks`.
pub(crate) async fn handle_create_webhook(
	node: Node, req: CreateWebhookRequest,
) -> Result<CreatedWebhook, ApiError> {
	let (webhook, secret) = node.create_webhook(&req.url, req.events, req.ca_cert_pem).await?;
	log_info!("webhook {} to {} created", webhook.id, webhook.url);
	Ok(CreatedWebhook { webhook: webhook.into_wire(), secret })
}

/// `GET /v1/webhooks`.
pub(crate) async fn handle_list_webhooks(
	node: Node, req: PageQuery,
) -> Result<ListWebhooksResponse, ApiError> {
	let page = paginate(node.list_webhooks(), &req)?;
	Ok(ListWebhooksResponse {
		webhooks: page.items.into_wire(),
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
	Ok(webhook.into_wire())
}
