//! The client's side of the merchant endpoints, beyond the generated methods: hold invoices,
//! events, API keys, webhooks and metrics in the shapes callers want.

use hyper::header::{ACCEPT, AUTHORIZATION};
use hyper::{Body, Request};

use super::{ApiClient, ClientError, Method};
use crate::wire::events::{EventsQuery, ListEventsResponse};
use crate::wire::invoices::{
	CancelInvoiceBody, CreateInvoiceRequest, InvoiceRecord, SettleInvoiceBody,
};
use crate::wire::keys::{ApiScope, CreateKeyRequest, CreatedKey};
use crate::wire::webhooks::{CreateWebhookRequest, CreatedWebhook};

impl ApiClient {
	/// `POST /v1/invoices` with a `payment_hash`: a hold invoice for that hash (hex). A
	/// payment to it is held, the invoice `accepted`, until settled or canceled.
	pub async fn create_hold_invoice(
		&self, payment_hash: &str, amount_msat: Option<u64>, description: &str,
		expiry_secs: Option<u32>,
	) -> Result<InvoiceRecord, ClientError> {
		let req = CreateInvoiceRequest {
			amount_msat,
			description: description.to_owned(),
			expiry_secs,
			payment_hash: Some(payment_hash.to_owned()),
		};
		self.create_invoice_with(&req).await
	}

	/// `POST /v1/invoices/{payment_hash}/settle`: claims an accepted hold invoice's payment
	/// with the preimage (hex); answers the invoice, `paid` once the node reported the claim.
	pub async fn settle_invoice(
		&self, payment_hash: &str, preimage: &str,
	) -> Result<InvoiceRecord, ClientError> {
		let body = SettleInvoiceBody { preimage: preimage.to_owned() };
		self.settle_invoice_with(payment_hash, &body).await
	}

	/// `POST /v1/invoices/{payment_hash}/cancel`: cancels an open invoice or an accepted hold
	/// invoice, whose payment is failed back.
	pub async fn cancel_invoice(&self, payment_hash: &str) -> Result<InvoiceRecord, ClientError> {
		self.cancel_invoice_with(payment_hash, &CancelInvoiceBody {}).await
	}

	/// `GET /v1/events?after=&limit=`: events after index `after`, oldest first.
	pub async fn events(
		&self, after: u64, limit: Option<usize>,
	) -> Result<ListEventsResponse, ClientError> {
		self.list_events(&EventsQuery { after: Some(after), cursor: None, limit }).await
	}

	/// `POST /v1/keys`: a new scoped key, with its secret (shown once).
	pub async fn create_api_key(
		&self, scope: ApiScope, label: Option<&str>,
	) -> Result<CreatedKey, ClientError> {
		let req = CreateKeyRequest { scope, label: label.map(str::to_owned) };
		self.create_api_key_with(&req).await
	}

	/// `POST /v1/webhooks`: a new webhook for `events` (empty: all), with its secret.
	pub async fn create_webhook(
		&self, url: &str, events: &[String],
	) -> Result<CreatedWebhook, ClientError> {
		let req = CreateWebhookRequest {
			url: url.to_owned(),
			events: events.to_vec(),
			ca_cert_pem: None,
		};
		self.create_webhook_with(&req).await
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
