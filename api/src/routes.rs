//! The table of every endpoint: method, path, who may call it, what it takes and answers, and
//! the Rust types of its input and answer.
//!
//! It is the one place a route is declared. From each entry the [`route_table!`] macro makes:
//! the [`Endpoint`] variant and its [`RouteSpec`] (the server's scope check through
//! [`Endpoint::find`] and [`Access::allows`], before anything of a request but its method,
//! path and key is read; the server's OpenAPI document), and the typed method of
//! [`crate::ApiClient`] for the endpoint (`client name(path parameters; input) -> answer`: the
//! input is the JSON body of a `POST` and the query string of a `GET`). The server's unit tests
//! check that each entry is served by its request parser (with the example body) and
//! documented, so a route cannot be added without its entry.
//!
//! Invariant: one entry per (method, path); every `POST` has a body, nothing else does.

use crate::client::{ApiClient, ClientError};
use crate::wire::channels::{
	ChannelInfo, CloseChannelBody, CloseChannelResponse, ListChannelsResponse, OpenChannelRequest,
	OpenedChannel,
};
use crate::wire::events::{EventsQuery, ListEventsResponse};
use crate::wire::info::{Balance, NodeInfo};
use crate::wire::invoices::{
	CancelInvoiceBody, CreateInvoiceRequest, InvoiceRecord, ListInvoicesResponse, SettleInvoiceBody,
};
use crate::wire::keys::{ApiKeyInfo, ApiScope, CreateKeyRequest, CreatedKey, ListKeysResponse};
use crate::wire::offers::{CreateOfferRequest, CreateOfferResponse};
use crate::wire::onchain::{NewAddressResponse, SendOnchainRequest, SendOnchainResponse};
use crate::wire::payments::{KeysendRequest, ListPaymentsResponse, PayBody, PaymentRecord};
use crate::wire::peers::{
	ConnectPeerRequest, ConnectPeerResponse, DisconnectPeerResponse, ListPeersResponse,
};
use crate::wire::routing::RoutesResponse;
use crate::wire::routing::{GraphChannel, GraphNode, GraphSummary, ProbeResponse, RoutesRequest};
use crate::wire::towers::ListTowersResponse;
use crate::wire::webhooks::{
	CreateWebhookRequest, CreatedWebhook, ListWebhooksResponse, WebhookInfo,
};
use crate::wire::PageQuery;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
	/// Admin keys only: moves money, changes channels, manages keys and webhooks.
	Admin,
	/// Admin and read-only keys: reads the node's state.
	Read,
	/// Admin and invoice keys: creates invoices and offers (a shop's server).
	Shop,
	/// Every key: invoices and events, which a shop reads too.
	ShopRead,
}

impl Access {
	/// Whether a key with `scope` may call the route.
	pub fn allows(self, scope: ApiScope) -> bool {
		match self {
			Access::Admin => scope == ApiScope::Admin,
			Access::Read => matches!(scope, ApiScope::Admin | ApiScope::Readonly),
			Access::Shop => matches!(scope, ApiScope::Admin | ApiScope::Invoice),
			Access::ShopRead => true,
		}
	}

	/// The scopes allowed, for the documentation.
	pub fn scopes(self) -> &'static [&'static str] {
		match self {
			Access::Admin => &["admin"],
			Access::Read => &["admin", "readonly"],
			Access::Shop => &["admin", "invoice"],
			Access::ShopRead => &["admin", "invoice", "readonly"],
		}
	}
}

/// A JSON request body: its schema (in the server's OpenAPI schemas) and an example the
/// request parser accepts (the tests send it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodySpec {
	/// Schema name.
	pub schema: &'static str,
	/// A valid body.
	pub example: &'static str,
}

/// What a route answers with on success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
	/// JSON of this schema.
	Json(&'static str),
	/// Prometheus text.
	Metrics,
	/// Server-Sent Events of event records.
	EventStream,
}

/// One endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteSpec {
	/// Which one.
	pub route: Endpoint,
	/// `GET`, `POST` or `DELETE`.
	pub method: &'static str,
	/// Path template, `{name}` for path parameters.
	pub path: &'static str,
	/// Who may call it.
	pub access: Access,
	/// What it does.
	pub summary: &'static str,
	/// Query parameters it accepts (described in the OpenAPI document).
	pub query: &'static [&'static str],
	/// Its JSON body, if it takes one.
	pub body: Option<BodySpec>,
	/// Its answer.
	pub reply: Reply,
}

/// Declares every endpoint; see the module's documentation. An entry:
/// `Name: METHOD "/path/{param}", Access, "summary", query [..], body .., reply ..,
/// client method_name(param; InputType) -> AnswerType;` (or `client;` for an answer that is not
/// JSON, read by a hand-written method).
macro_rules! route_table {
	($($name:ident: $method:ident $path:literal, $access:ident, $summary:literal,
		query $query:expr, body $body:expr, reply $reply:expr,
		client $($client:ident ($($param:ident),* $(; $input:ty)?) -> $output:ty)?;)*) => {
		/// Every endpoint of the API.
		#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
		pub enum Endpoint {
			$(#[doc = $summary] $name,)*
		}

		impl Endpoint {
			/// Every route, in table order.
			pub const ALL: &'static [Endpoint] = &[$(Endpoint::$name,)*];

			/// Its description.
			pub fn spec(self) -> RouteSpec {
				match self {
					$(Endpoint::$name => RouteSpec {
						route: self,
						method: stringify!($method),
						path: $path,
						access: Access::$access,
						summary: $summary,
						query: $query,
						body: $body,
						reply: $reply,
					},)*
				}
			}
		}

		/// One typed method per endpoint with a JSON answer, generated from the route table.
		impl ApiClient {
			$($(
				#[doc = concat!("`", stringify!($method), " ", $path, "`: ", $summary, ".")]
				pub async fn $client(
					&self, $($param: &str,)* $(input: &$input)?
				) -> Result<$output, ClientError> {
					let input = None $(.or(Some(
						crate::client::encode_input::<$input>(stringify!($method), input)?,
					)))?;
					self.route_call(Endpoint::$name, &[$((stringify!($param), $param)),*], input).await
				}
			)?)*
		}
	};
}

impl Endpoint {
	/// The route a request for `method` and `path` (without its query) is for, read from the
	/// table alone: what the scope check uses before anything of the request is parsed.
	/// Empty segments are skipped (the request parser takes `/v1/payments/` for `/v1/payments`, so
	/// the check must too); a `{parameter}` matches any one segment; where two routes match,
	/// the one with more literal segments wins (`/v1/payments/keysend` over
	/// `/v1/payments/{payment_id}`).
	pub fn find(method: &str, path: &str) -> Option<Endpoint> {
		let segments: Vec<&str> =
			path.strip_prefix('/')?.split('/').filter(|s| !s.is_empty()).collect();
		Endpoint::ALL
			.iter()
			.filter(|route| route.spec().method.eq_ignore_ascii_case(method))
			.filter_map(|route| {
				let template: Vec<&str> = route.spec().path[1..].split('/').collect();
				if template.len() != segments.len() {
					return None;
				}
				let mut literal = 0;
				for (expected, given) in template.iter().zip(&segments) {
					if expected.starts_with('{') {
						continue;
					} else if expected == given {
						literal += 1;
					} else {
						return None;
					}
				}
				Some((literal, *route))
			})
			.max_by_key(|(literal, _)| *literal)
			.map(|(_, route)| route)
	}
}

const PAGE: &[&str] = &["limit", "cursor"];
const NONE: &[&str] = &[];

const fn body(schema: &'static str, example: &'static str) -> Option<BodySpec> {
	Some(BodySpec { schema, example })
}

const fn json(schema: &'static str) -> Reply {
	Reply::Json(schema)
}

route_table! {
	Info: GET "/v1/info", Read, "Node id, network, chain tip, sync state, counts",
		query NONE, body None, reply json("NodeInfo"),
		client info() -> NodeInfo;
	Balance: GET "/v1/balance", Read, "On-chain and Lightning balances",
		query NONE, body None, reply json("Balance"),
		client balance() -> Balance;
	NewAddress: POST "/v1/onchain/address", Admin, "A fresh on-chain receive address",
		query NONE, body body("NewAddressRequest", "{}"), reply json("NewAddressResponse"),
		client new_address_with() -> NewAddressResponse;
	SendOnchain: POST "/v1/onchain/send", Admin, "Send bitcoin on-chain",
		query NONE,
		body body("SendOnchainRequest", r#"{"address": "bcrt1qexample", "amount_sat": 10000}"#),
		reply json("SendOnchainResponse"),
		client send_onchain_with(; SendOnchainRequest) -> SendOnchainResponse;
	ListPeers: GET "/v1/peers", Read, "Known peers, by node id",
		query PAGE, body None, reply json("ListPeersResponse"),
		client list_peers_page(; PageQuery) -> ListPeersResponse;
	ConnectPeer: POST "/v1/peers", Admin, "Connect to a peer and remember it",
		query NONE,
		body body("ConnectPeerRequest", r#"{"node_id": "02ab", "address": "127.0.0.1:9735"}"#),
		reply json("ConnectPeerResponse"),
		client connect_peer_with(; ConnectPeerRequest) -> ConnectPeerResponse;
	DisconnectPeer: DELETE "/v1/peers/{node_id}", Admin, "Disconnect from a peer and forget it",
		query NONE, body None, reply json("DisconnectPeerResponse"),
		client disconnect_peer_with(node_id) -> DisconnectPeerResponse;
	ListChannels: GET "/v1/channels", Read, "Channels, pending ones included, by channel id",
		query PAGE, body None, reply json("ListChannelsResponse"),
		client list_channels_page(; PageQuery) -> ListChannelsResponse;
	GetChannel: GET "/v1/channels/{channel_id}", Read, "One channel",
		query NONE, body None, reply json("ChannelInfo"),
		client get_channel(channel_id) -> ChannelInfo;
	OpenChannel: POST "/v1/channels", Admin, "Open a channel; answers once the funding is broadcast",
		query NONE,
		body body(
			"OpenChannelRequest",
			r#"{"node_id": "02ab", "address": "127.0.0.1:9735", "amount_sat": 100000}"#
		),
		reply json("OpenedChannel"),
		client open_channel(; OpenChannelRequest) -> OpenedChannel;
	CloseChannel: POST "/v1/channels/{channel_id}/close", Admin,
		"Close a channel cooperatively, or force-close it",
		query NONE, body body("CloseChannelBody", r#"{"force": false}"#),
		reply json("CloseChannelResponse"),
		client close_channel_with(channel_id; CloseChannelBody) -> CloseChannelResponse;
	CreateInvoice: POST "/v1/invoices", Shop, "Create a BOLT11 invoice",
		query NONE,
		body body("CreateInvoiceRequest", r#"{"description": "coffee", "amount_msat": 5000000}"#),
		reply json("InvoiceRecord"),
		client create_invoice_with(; CreateInvoiceRequest) -> InvoiceRecord;
	GetInvoice: GET "/v1/invoices/{payment_hash}", ShopRead, "One invoice by payment hash",
		query NONE, body None, reply json("InvoiceRecord"),
		client get_invoice(payment_hash) -> InvoiceRecord;
	ListInvoices: GET "/v1/invoices", ShopRead, "Invoices, newest first",
		query PAGE, body None, reply json("ListInvoicesResponse"),
		client list_invoices(; PageQuery) -> ListInvoicesResponse;
	SettleInvoice: POST "/v1/invoices/{payment_hash}/settle", Shop,
		"Settle an accepted hold invoice with its preimage: its payment is claimed",
		query NONE,
		body body(
			"SettleInvoiceBody",
			r#"{"preimage": "abababababababababababababababababababababababababababababababab"}"#
		),
		reply json("InvoiceRecord"),
		client settle_invoice_with(payment_hash; SettleInvoiceBody) -> InvoiceRecord;
	CancelInvoice: POST "/v1/invoices/{payment_hash}/cancel", Shop,
		"Cancel an open invoice or an accepted hold invoice (its payment is failed back)",
		query NONE, body body("CancelInvoiceBody", "{}"), reply json("InvoiceRecord"),
		client cancel_invoice_with(payment_hash; CancelInvoiceBody) -> InvoiceRecord;
	Pay: POST "/v1/payments", Admin, "Pay a BOLT11 invoice or BOLT12 offer",
		query NONE, body body("PayRequest", r#"{"invoice": "lnbcrt1example", "wait": true}"#),
		reply json("PaymentRecord"),
		client pay_with(; PayBody) -> PaymentRecord;
	Keysend: POST "/v1/payments/keysend", Admin, "Send a spontaneous payment",
		query NONE, body body("KeysendRequest", r#"{"node_id": "02ab", "amount_msat": 1000}"#),
		reply json("PaymentRecord"),
		client keysend_with(; KeysendRequest) -> PaymentRecord;
	GetPayment: GET "/v1/payments/{payment_id}", Read, "One payment by id",
		query NONE, body None, reply json("PaymentRecord"),
		client get_payment(payment_id) -> PaymentRecord;
	ListPayments: GET "/v1/payments", Read, "Payments, newest first",
		query PAGE, body None, reply json("ListPaymentsResponse"),
		client list_payments(; PageQuery) -> ListPaymentsResponse;
	CreateOffer: POST "/v1/offers", Shop, "Create a BOLT12 offer",
		query NONE, body body("CreateOfferRequest", r#"{"description": "coffee"}"#),
		reply json("CreateOfferResponse"),
		client create_offer_with(; CreateOfferRequest) -> CreateOfferResponse;
	FindRoutes: POST "/v1/routes", Read, "Candidate routes to a node or an invoice's payee",
		query NONE,
		body body("RoutesRequest", r#"{"node_id": "02ab", "amount_msat": 1000}"#),
		reply json("RoutesResponse"),
		client find_routes(; RoutesRequest) -> RoutesResponse;
	Probe: POST "/v1/probes", Admin, "Probe the routes a payment would take",
		query NONE,
		body body("RoutesRequest", r#"{"node_id": "02ab", "amount_msat": 1000}"#),
		reply json("ProbeResponse"),
		client probe_with(; RoutesRequest) -> ProbeResponse;
	Graph: GET "/v1/graph", Read, "Counts of the gossiped network graph",
		query NONE, body None, reply json("GraphSummary"),
		client graph() -> GraphSummary;
	GraphNode: GET "/v1/graph/nodes/{node_id}", Read, "One node of the graph",
		query NONE, body None, reply json("GraphNode"),
		client graph_node(node_id) -> GraphNode;
	GraphChannel: GET "/v1/graph/channels/{short_channel_id}", Read, "One channel of the graph",
		query NONE, body None, reply json("GraphChannel"),
		client graph_channel(short_channel_id) -> GraphChannel;
	ListEvents: GET "/v1/events", ShopRead, "Events after an index, oldest first",
		query &["after", "cursor", "limit"], body None, reply json("ListEventsResponse"),
		client list_events(; EventsQuery) -> ListEventsResponse;
	EventStream: GET "/v1/events/stream", ShopRead,
		"Events as Server-Sent Events (id = index); resumes after Last-Event-ID or ?after=",
		query &["after"], body None, reply Reply::EventStream,
		client;
	CreateWebhook: POST "/v1/webhooks", Admin, "Register a webhook; answers its secret once",
		query NONE,
		body body(
			"CreateWebhookRequest",
			r#"{"url": "http://127.0.0.1:8080/hook", "events": ["invoice_paid"]}"#
		),
		reply json("CreatedWebhook"),
		client create_webhook_with(; CreateWebhookRequest) -> CreatedWebhook;
	ListWebhooks: GET "/v1/webhooks", Admin, "Webhooks with their delivery state, newest first",
		query PAGE, body None, reply json("ListWebhooksResponse"),
		client list_webhooks(; PageQuery) -> ListWebhooksResponse;
	DeleteWebhook: DELETE "/v1/webhooks/{id}", Admin, "Remove a webhook",
		query NONE, body None, reply json("WebhookInfo"),
		client delete_webhook(id) -> WebhookInfo;
	CreateKey: POST "/v1/keys", Admin, "Create a scoped API key; answers its secret once",
		query NONE, body body("CreateKeyRequest", r#"{"scope": "invoice", "label": "shop"}"#),
		reply json("CreatedKey"),
		client create_api_key_with(; CreateKeyRequest) -> CreatedKey;
	ListKeys: GET "/v1/keys", Admin, "API keys (not the admin key file), newest first",
		query PAGE, body None, reply json("ListKeysResponse"),
		client list_api_keys(; PageQuery) -> ListKeysResponse;
	RevokeKey: DELETE "/v1/keys/{id}", Admin, "Revoke an API key",
		query NONE, body None, reply json("ApiKeyInfo"),
		client revoke_api_key(id) -> ApiKeyInfo;
	ListTowers: GET "/v1/towers", Read,
		"Configured watchtowers: state, appointments delivered and pending",
		query NONE, body None, reply json("ListTowersResponse"),
		client list_towers() -> ListTowersResponse;
	OpenApi: GET "/v1/openapi.json", ShopRead, "This API's OpenAPI 3 description",
		query NONE, body None, reply json("OpenApiDocument"),
		client openapi() -> serde_json::Value;
	Metrics: GET "/metrics", Read, "Prometheus metrics",
		query NONE, body None, reply Reply::Metrics,
		client;
}

#[cfg(test)]
mod tests;
