//! The client's side of the merchant endpoints: hold invoices, events, API keys, webhooks,
//! metrics and the OpenAPI document.

use fulgur_node::{ApiKeyInfo, ApiScope, InvoiceRecord, WebhookInfo};
use hyper::header::{ACCEPT, AUTHORIZATION};
use hyper::{Body, Request};
use serde_json::{json, Value};

use super::{query_string, segment, ApiClient, ClientError, Method};
use crate::api::events::ListEventsResponse;
use crate::api::keys::{CreatedKey, ListKeysResponse};
use crate::api::webhooks::{CreatedWebhook, ListWebhooksResponse};
use crate::api::PageQuery;

impl ApiClient {
	/// `POST /v1/invoices` with a `payment_hash`: a hold invoice for that hash (hex). A
	/// payment to it is held, the invoice `accepted`, until settled or canceled.
	pub async fn create_hold_invoice(
		&self, payment_hash: &str, amount_msat: Option<u64>, description: &str,
		expiry_secs: Option<u32>,
	) -> Result<InvoiceRecord, ClientError> {
		let body = json!({
			"amount_msat": amount_msat,
			"description": description,
			"expiry_secs": expiry_secs,
			"payment_hash": payment_hash,
		});
		self.call(Method::POST, "/v1/invoices", Some(body)).await
	}

	/// `POST /v1/invoices/{payment_hash}/settle`: claims an accepted hold invoice's payment
	/// with the preimage (hex); answers the invoice, `paid` once the node reported the claim.
	pub async fn settle_invoice(
		&self, payment_hash: &str, preimage: &str,
	) -> Result<InvoiceRecord, ClientError> {
		let path = format!("/v1/invoices/{}/settle", segment(payment_hash));
		self.call(Method::POST, &path, Some(json!({ "preimage": preimage }))).await
	}

	/// `POST /v1/invoices/{payment_hash}/cancel`: cancels an open invoice or an accepted hold
	/// invoice, whose payment is failed back.
	pub async fn cancel_invoice(&self, payment_hash: &str) -> Result<InvoiceRecord, ClientError> {
		let path = format!("/v1/invoices/{}/cancel", segment(payment_hash));
		self.call(Method::POST, &path, Some(json!({}))).await
	}

	/// `GET /v1/events?after=&limit=`: events after index `after`, oldest first.
	pub async fn events(
		&self, after: u64, limit: Option<usize>,
	) -> Result<ListEventsResponse, ClientError> {
		let mut path = format!("/v1/events?after={after}");
		if let Some(limit) = limit {
			path.push_str(&format!("&limit={limit}"));
		}
		self.call(Method::GET, &path, None).await
	}

	/// `POST /v1/keys`: a new scoped key, with its secret (shown once).
	pub async fn create_api_key(
		&self, scope: ApiScope, label: Option<&str>,
	) -> Result<CreatedKey, ClientError> {
		let body = json!({ "scope": scope, "label": label });
		self.call(Method::POST, "/v1/keys", Some(body)).await
	}

	/// `GET /v1/keys`: one page of keys.
	pub async fn list_api_keys(&self, page: &PageQuery) -> Result<ListKeysResponse, ClientError> {
		self.call(Method::GET, &format!("/v1/keys{}", query_string(page)?), None).await
	}

	/// `DELETE /v1/keys/{id}`.
	pub async fn revoke_api_key(&self, id: &str) -> Result<ApiKeyInfo, ClientError> {
		self.call(Method::DELETE, &format!("/v1/keys/{}", segment(id)), None).await
	}

	/// `POST /v1/webhooks`: a new webhook for `events` (empty: all), with its secret.
	pub async fn create_webhook(
		&self, url: &str, events: &[String],
	) -> Result<CreatedWebhook, ClientError> {
		let body = json!({ "url": url, "events": events });
		self.call(Method::POST, "/v1/webhooks", Some(body)).await
	}

	/// `GET /v1/webhooks`: one page of webhooks.
	pub async fn list_webhooks(
		&self, page: &PageQuery,
	) -> Result<ListWebhooksResponse, ClientError> {
		self.call(Method::GET, &format!("/v1/webhooks{}", query_string(page)?), None).await
	}

	/// `DELETE /v1/webhooks/{id}`.
	pub async fn delete_webhook(&self, id: &str) -> Result<WebhookInfo, ClientError> {
		self.call(Method::DELETE, &format!("/v1/webhooks/{}", segment(id)), None).await
	}

	/// `GET /v1/openapi.json`.
	pub async fn openapi(&self) -> Result<Value, ClientError> {
		self.request(Method::GET, "/v1/openapi.json", None).await
	}

	/// `GET /metrics`: the Prometheus text.
	pub async fn metrics(&self) -> Result<String, ClientError> {
		let uri = format!("{}/metrics", self.base);
		let request = Request::builder()
			.method(Method::GET)
			.uri(&uri)
			.header(AUTHORIZATION, self.authorization.clone())
			.header(ACCEPT, "text/plain")
			.body(Body::empty())
			.map_err(|e| ClientError::InvalidInput(format!("invalid request {uri}: {e}")))?;
		let (_, bytes) = self.exchange(request).await?;
		String::from_utf8(bytes.to_vec())
			.map_err(|e| ClientError::InvalidResponse(format!("metrics are not text: {e}")))
	}
}
