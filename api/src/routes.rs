//! The table of every endpoint: method, path, who may call it, what it takes and answers, and
//! the Rust types of its path parameters, input and answer.
//!
//! It is the one place a route is declared. From each entry the `route_table!` macro makes:
//! - the [`Endpoint`] variant and its [`RouteSpec`]: the server's scope check
//!   ([`Endpoint::find`], [`Access::allows`]; before anything of a request but its method, path
//!   and key is read) and its OpenAPI document;
//! - the [`Call`] variant the server's request parser produces ([`Call::parse`]: path parameters,
//!   and the input, which is the JSON body of a `POST` and the query string otherwise, parsed
//!   and validated), and the answer type its handler is held to ([`AnswerOf`]);
//! - the typed method of [`crate::ApiClient`] for the endpoint, when the entry names one.
//!
//! Adding an endpoint: its entry here (with its wire types in `crate::wire`), its handler and
//! dispatch arm in the server (the compiler asks for the arm), and its schema in the server's
//! OpenAPI schemas. The server's unit tests check that each entry is served by its request
//! parser (with the example body) and documented.
//!
//! Invariant: one entry per (method, path); every `POST` has a body, nothing else does.

use crate::client::{ApiClient, ClientError};
use crate::error::ApiError;
use crate::wire::events::{EventRecord, StreamQuery};
use crate::wire::onchain::NewAddressRequest;

mod parse;
use crate::wire::channels::{
	ChannelInfo, CloseChannelBody, CloseChannelResponse, ListChannelsQuery, ListChannelsResponse,
	ListClosedChannelsResponse, OpenChannelRequest, OpenedChannel,
};
use crate::wire::events::{EventsQuery, ListEventsResponse};
use crate::wire::forwards::{
	ForwardsQuery, ForwardsSummaryQuery, ForwardsSummaryResponse, ListForwardsResponse,
};
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
use crate::wire::utilities::{
	DecodeRequest, DecodedInvoice, SignMessageRequest, SignMessageResponse, VerifyMessageRequest,
	VerifyMessageResponse,
};
use crate::wire::webhooks::{
	CreateWebhookRequest, CreatedWebhook, ListWebhooksResponse, WebhookInfo,
};
use crate::wire::PageQuery;
// Forwarding policy and rebalancing.
use crate::wire::policy::{ForwardingPolicy, PoliciesUpdated, PolicyUpdateBody, RebalanceBody};

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

/// The answer type the route table gives an endpoint (its marker in [`answer`]).
pub trait AnswerOf {
	/// The type of a successful answer.
	type Answer;
}

/// Declares every endpoint; see the module's documentation. An entry:
/// `Name: METHOD "/path/{param}" (param; Input) -> Answer, Access, "summary", query [..],
/// body .., reply .., client method_name;` (`client;` for an endpoint whose client method is
/// written by hand: its answer is not JSON). `Input` is the JSON body of a `POST`, the query
/// string otherwise; `(param)` or `()` without one.
macro_rules! route_table {
	($($name:ident: $method:ident $path:literal ($($param:ident),* $(; $input:ty)?) -> $output:ty,
		$access:ident, $summary:literal,
		query $query:expr, body $body:expr, reply $reply:expr,
		client $($client:ident)?;)*) => {
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

		/// One parsed and validated request: which endpoint, its path parameters (as sent) and
		/// its input (body or query).
		#[derive(Clone, Debug, PartialEq)]
		pub enum Call {
			$(
				#[doc = $summary]
				$name {
					$(#[doc = concat!("`{", stringify!($param), "}` of the path.")] $param: String,)*
					$(#[doc = "The body (`POST`) or query."] input: $input,)?
				},
			)*
		}

		impl Call {
			/// Its endpoint.
			pub fn route(&self) -> Endpoint {
				match self {
					$(Call::$name { .. } => Endpoint::$name,)*
				}
			}

			/// The call for `route`, from the path's parameters ([`Endpoint::path_params`]),
			/// the raw query string and the body (read only for a `POST`; empty means `{}`):
			/// parsed, then validated ([`crate::wire::Validate`]).
			pub fn parse(
				route: Endpoint, params: Vec<String>, query: &str, body: &[u8],
			) -> Result<Call, ApiError> {
				let mut params = params.into_iter();
				match route {
					$(Endpoint::$name => Ok(Call::$name {
						$($param: parse::param(&mut params, stringify!($param))?,)*
						$(input: parse::input::<$input>(stringify!($method), query, body)?,)?
					}),)*
				}
			}
		}

		/// One marker type per endpoint, by its name, whose [`AnswerOf::Answer`] is the type of
		/// its answer: a server's dispatch names it to be held to the table's answer type.
		pub mod answer {
			$(#[doc = $summary] #[derive(Debug)] pub struct $name;)*
		}

		$(impl AnswerOf for answer::$name {
			type Answer = $output;
		})*

		/// One typed method per endpoint with a JSON answer, generated from the route table.
		impl ApiClient {
			$(client_method! {
				$($client)?; $name $method $path $summary ($($param),* $(; $input)?) -> $output
			})*
		}
	};
}

/// The client's method of one endpoint, when the table names one.
macro_rules! client_method {
	(; $($ignored:tt)*) => {};
	($client:ident; $name:ident $method:ident $path:literal $summary:literal
		($($param:ident),* $(; $input:ty)?) -> $output:ty) => {
		#[doc = concat!("`", stringify!($method), " ", $path, "`: ", $summary, ".")]
		pub async fn $client(
			&self, $($param: &str,)* $(input: &$input)?
		) -> Result<$output, ClientError> {
			let input = None $(.or(Some(
				crate::client::encode_input::<$input>(stringify!($method), input)?,
			)))?;
			self.route_call(Endpoint::$name, &[$((stringify!($param), $param)),*], input).await
		}
	};
}

impl Endpoint {
	/// The route a request for `method` and `path` (without its query) is for, read from the
	/// table alone: what the scope check uses before anything of the request is parsed, and
	/// what the request parser parses for.
	/// Empty segments are skipped (`/v1/payments/` is `/v1/payments`); a `{parameter}` matches
	/// any one segment; where two routes match, the one with more literal segments wins
	/// (`/v1/payments/keysend` over `/v1/payments/{payment_id}`).
	pub fn find(method: &str, path: &str) -> Option<Endpoint> {
		let segments = segments(path)?;
		Endpoint::ALL
			.iter()
			.filter(|route| route.spec().method.eq_ignore_ascii_case(method))
			.filter_map(|route| Some((literal_matches(route.spec().path, &segments)?, *route)))
			.max_by_key(|(literal, _)| *literal)
			.map(|(_, route)| route)
	}

	/// Whether some route has this path, whatever its method: a request for it with another
	/// method is answered 405, not 404.
	pub fn path_exists(path: &str) -> bool {
		segments(path).is_some_and(|segments| {
			Endpoint::ALL
				.iter()
				.any(|route| literal_matches(route.spec().path, &segments).is_some())
		})
	}

	/// The segments of `path` in the places of this route's `{parameters}`, in order, as sent
	/// (not percent-decoded: ids are hex); `None` when the path is not this route's.
	pub fn path_params(self, path: &str) -> Option<Vec<String>> {
		let segments = segments(path)?;
		literal_matches(self.spec().path, &segments)?;
		let template = self.spec().path[1..].split('/');
		template
			.zip(segments)
			.filter(|(expected, _)| expected.starts_with('{'))
			.map(|(_, given)| Some(given.to_string()))
			.collect()
	}
}

/// The non-empty segments of an absolute path.
fn segments(path: &str) -> Option<Vec<&str>> {
	Some(path.strip_prefix('/')?.split('/').filter(|s| !s.is_empty()).collect())
}

/// How many literal segments of `template` the path's `segments` match, if they match it.
fn literal_matches(template: &str, segments: &[&str]) -> Option<usize> {
	let template: Vec<&str> = template[1..].split('/').collect();
	if template.len() != segments.len() {
		return None;
	}
	let mut literal = 0;
	for (expected, given) in template.iter().zip(segments) {
		if expected.starts_with('{') {
			continue;
		} else if expected == given {
			literal += 1;
		} else {
			return None;
		}
	}
	Some(literal)
}

const PAGE: &[&str] = &["limit", "cursor"];
const NONE: &[&str] = &[];
const CHANNEL_LIST: &[&str] = &["limit", "cursor", "state"];

const fn body(schema: &'static str, example: &'static str) -> Option<BodySpec> {
	Some(BodySpec { schema, example })
}

const fn json(schema: &'static str) -> Reply {
	Reply::Json(schema)
}

route_table! {
	Info: GET "/v1/info" () -> NodeInfo,
		Read, "Node id, network, chain tip, sync state, counts",
		query NONE, body None, reply json("NodeInfo"),
		client info;
	Balance: GET "/v1/balance" () -> Balance,
		Read, "On-chain and Lightning balances",
		query NONE, body None, reply json("Balance"),
		client balance;
	NewAddress: POST "/v1/onchain/address" (; NewAddressRequest) -> NewAddressResponse,
		Admin, "A fresh on-chain receive address",
		query NONE, body body("NewAddressRequest", "{}"), reply json("NewAddressResponse"),
		client new_address_with;
	SendOnchain: POST "/v1/onchain/send" (; SendOnchainRequest) -> SendOnchainResponse,
		Admin, "Send bitcoin on-chain",
		query NONE,
		body body("SendOnchainRequest", r#"{"address": "bcrt1qexample", "amount_sat": 10000}"#),
		reply json("SendOnchainResponse"),
		client send_onchain_with;
	ListPeers: GET "/v1/peers" (; PageQuery) -> ListPeersResponse,
		Read, "Known peers, by node id",
		query PAGE, body None, reply json("ListPeersResponse"),
		client list_peers_page;
	ConnectPeer: POST "/v1/peers" (; ConnectPeerRequest) -> ConnectPeerResponse,
		Admin, "Connect to a peer and remember it",
		query NONE,
		body body("ConnectPeerRequest", r#"{"node_id": "02ab", "address": "127.0.0.1:9735"}"#),
		reply json("ConnectPeerResponse"),
		client connect_peer_with;
	DisconnectPeer: DELETE "/v1/peers/{node_id}" (node_id) -> DisconnectPeerResponse,
		Admin, "Disconnect from a peer and forget it",
		query NONE, body None, reply json("DisconnectPeerResponse"),
		client disconnect_peer_with;
	ListChannels: GET "/v1/channels" (; ListChannelsQuery) -> ListChannelsResponse,
		Read, "Channels, pending ones included, by channel id; `state=closed`: closed channels",
		query CHANNEL_LIST, body None, reply json("ListChannelsResponse"),
		client list_channels_page;
	GetChannel: GET "/v1/channels/{channel_id}" (channel_id) -> ChannelInfo,
		Read, "One channel",
		query NONE, body None, reply json("ChannelInfo"),
		client get_channel;
	OpenChannel: POST "/v1/channels" (; OpenChannelRequest) -> OpenedChannel,
		Admin, "Open a channel; answers once the funding is broadcast",
		query NONE,
		body body(
			"OpenChannelRequest",
			r#"{"node_id": "02ab", "address": "127.0.0.1:9735", "amount_sat": 100000}"#
		),
		reply json("OpenedChannel"),
		client open_channel;
	CloseChannel: POST "/v1/channels/{channel_id}/close" (channel_id; CloseChannelBody) -> CloseChannelResponse, Admin,
		"Close a channel cooperatively, or force-close it",
		query NONE, body body("CloseChannelBody", r#"{"force": false}"#),
		reply json("CloseChannelResponse"),
		client close_channel_with;
	CreateInvoice: POST "/v1/invoices" (; CreateInvoiceRequest) -> InvoiceRecord,
		Shop, "Create a BOLT11 invoice",
		query NONE,
		body body("CreateInvoiceRequest", r#"{"description": "coffee", "amount_msat": 5000000}"#),
		reply json("InvoiceRecord"),
		client create_invoice_with;
	GetInvoice: GET "/v1/invoices/{payment_hash}" (payment_hash) -> InvoiceRecord,
		ShopRead, "One invoice by payment hash",
		query NONE, body None, reply json("InvoiceRecord"),
		client get_invoice;
	ListInvoices: GET "/v1/invoices" (; PageQuery) -> ListInvoicesResponse,
		ShopRead, "Invoices, newest first",
		query PAGE, body None, reply json("ListInvoicesResponse"),
		client list_invoices;
	SettleInvoice: POST "/v1/invoices/{payment_hash}/settle" (payment_hash; SettleInvoiceBody) -> InvoiceRecord, Shop,
		"Settle an accepted hold invoice with its preimage: its payment is claimed",
		query NONE,
		body body(
			"SettleInvoiceBody",
			r#"{"preimage": "abababababababababababababababababababababababababababababababab"}"#
		),
		reply json("InvoiceRecord"),
		client settle_invoice_with;
	CancelInvoice: POST "/v1/invoices/{payment_hash}/cancel" (payment_hash; CancelInvoiceBody) -> InvoiceRecord, Shop,
		"Cancel an open invoice or an accepted hold invoice (its payment is failed back)",
		query NONE, body body("CancelInvoiceBody", "{}"), reply json("InvoiceRecord"),
		client cancel_invoice_with;
	Pay: POST "/v1/payments" (; PayBody) -> PaymentRecord,
		Admin, "Pay a BOLT11 invoice or BOLT12 offer",
		query NONE, body body("PayRequest", r#"{"invoice": "lnbcrt1example", "wait": true}"#),
		reply json("PaymentRecord"),
		client pay_with;
	Keysend: POST "/v1/payments/keysend" (; KeysendRequest) -> PaymentRecord,
		Admin, "Send a spontaneous payment",
		query NONE, body body("KeysendRequest", r#"{"node_id": "02ab", "amount_msat": 1000}"#),
		reply json("PaymentRecord"),
		client keysend_with;
	GetPayment: GET "/v1/payments/{payment_id}" (payment_id) -> PaymentRecord,
		Read, "One payment by id",
		query NONE, body None, reply json("PaymentRecord"),
		client get_payment;
	ListPayments: GET "/v1/payments" (; PageQuery) -> ListPaymentsResponse,
		Read, "Payments, newest first",
		query PAGE, body None, reply json("ListPaymentsResponse"),
		client list_payments;
	CreateOffer: POST "/v1/offers" (; CreateOfferRequest) -> CreateOfferResponse,
		Shop, "Create a BOLT12 offer",
		query NONE, body body("CreateOfferRequest", r#"{"description": "coffee"}"#),
		reply json("CreateOfferResponse"),
		client create_offer_with;
	FindRoutes: POST "/v1/routes" (; RoutesRequest) -> RoutesResponse,
		Read, "Candidate routes to a node or an invoice's payee",
		query NONE,
		body body("RoutesRequest", r#"{"node_id": "02ab", "amount_msat": 1000}"#),
		reply json("RoutesResponse"),
		client find_routes;
	Probe: POST "/v1/probes" (; RoutesRequest) -> ProbeResponse,
		Admin, "Probe the routes a payment would take",
		query NONE,
		body body("RoutesRequest", r#"{"node_id": "02ab", "amount_msat": 1000}"#),
		reply json("ProbeResponse"),
		client probe_with;
	Graph: GET "/v1/graph" () -> GraphSummary,
		Read, "Counts of the gossiped network graph",
		query NONE, body None, reply json("GraphSummary"),
		client graph;
	GraphNode: GET "/v1/graph/nodes/{node_id}" (node_id) -> GraphNode,
		Read, "One node of the graph",
		query NONE, body None, reply json("GraphNode"),
		client graph_node;
	GraphChannel: GET "/v1/graph/channels/{short_channel_id}" (short_channel_id) -> GraphChannel,
		Read, "One channel of the graph",
		query NONE, body None, reply json("GraphChannel"),
		client graph_channel;
	ListEvents: GET "/v1/events" (; EventsQuery) -> ListEventsResponse,
		ShopRead, "Events after an index, oldest first",
		query &["after", "cursor", "limit"], body None, reply json("ListEventsResponse"),
		client list_events;
	EventStream: GET "/v1/events/stream" (; StreamQuery) -> EventRecord, ShopRead,
		"Events as Server-Sent Events (id = index); resumes after Last-Event-ID or ?after=",
		query &["after"], body None, reply Reply::EventStream,
		client;
	CreateWebhook: POST "/v1/webhooks" (; CreateWebhookRequest) -> CreatedWebhook,
		Admin, "Register a webhook; answers its secret once",
		query NONE,
		body body(
			"CreateWebhookRequest",
			r#"{"url": "http://127.0.0.1:8080/hook", "events": ["invoice_paid"]}"#
		),
		reply json("CreatedWebhook"),
		client create_webhook_with;
	ListWebhooks: GET "/v1/webhooks" (; PageQuery) -> ListWebhooksResponse,
		Admin, "Webhooks with their delivery state, newest first",
		query PAGE, body None, reply json("ListWebhooksResponse"),
		client list_webhooks;
	DeleteWebhook: DELETE "/v1/webhooks/{id}" (id) -> WebhookInfo,
		Admin, "Remove a webhook",
		query NONE, body None, reply json("WebhookInfo"),
		client delete_webhook;
	CreateKey: POST "/v1/keys" (; CreateKeyRequest) -> CreatedKey,
		Admin, "Create a scoped API key; answers its secret once",
		query NONE, body body("CreateKeyRequest", r#"{"scope": "invoice", "label": "shop"}"#),
		reply json("CreatedKey"),
		client create_api_key_with;
	ListKeys: GET "/v1/keys" (; PageQuery) -> ListKeysResponse,
		Admin, "API keys (not the admin key file), newest first",
		query PAGE, body None, reply json("ListKeysResponse"),
		client list_api_keys;
	RevokeKey: DELETE "/v1/keys/{id}" (id) -> ApiKeyInfo,
		Admin, "Revoke an API key",
		query NONE, body None, reply json("ApiKeyInfo"),
		client revoke_api_key;
	ListTowers: GET "/v1/towers" () -> ListTowersResponse, Read,
		"Configured watchtowers: state, appointments delivered and pending",
		query NONE, body None, reply json("ListTowersResponse"),
		client list_towers;
	// Forwarding records (issue 13).
	ListForwards: GET "/v1/forwards" (; ForwardsQuery) -> ListForwardsResponse,
		Read, "Forwarded HTLCs, settled and failed, newest first",
		query &["since", "until", "channel_id", "status", "limit", "cursor"], body None,
		reply json("ListForwardsResponse"),
		client list_forwards;
	ForwardsSummary: GET "/v1/forwards/summary" (; ForwardsSummaryQuery) -> ForwardsSummaryResponse,
		Read, "Settled forwards summed by day or by channel: count, volume, fees",
		query &["since", "until", "group_by"], body None,
		reply json("ForwardsSummaryResponse"),
		client forwards_summary;
	OpenApi: GET "/v1/openapi.json" () -> serde_json::Value,
		ShopRead, "This API's OpenAPI 3 description",
		query NONE, body None, reply json("OpenApiDocument"),
		client openapi;
	Metrics: GET "/metrics" () -> String,
		Read, "Prometheus metrics",
		query NONE, body None, reply Reply::Metrics,
		client;
	// Closed channels and the utilities node runners expect (issue 13).
	ListClosedChannels: GET "/v1/channels/closed" (; PageQuery) -> ListClosedChannelsResponse,
		Read, "Closed channels, newest first, with what they still hold on-chain",
		query PAGE, body None, reply json("ListClosedChannelsResponse"),
		client list_closed_channels_page;
	Decode: POST "/v1/decode" (; DecodeRequest) -> DecodedInvoice,
		Read, "What a BOLT11 invoice or a BOLT12 offer says",
		query NONE,
		body body("DecodeRequest", r#"{"invoice": "lno1pgqpvggzfyqv8gg09k4q35tc5mkmzr7re2nm20gw5qp5d08r3w5s6zzu4t5q"}"#),
		reply json("DecodedInvoice"),
		client decode;
	SignMessage: POST "/v1/messages/sign" (; SignMessageRequest) -> SignMessageResponse,
		Admin, "Sign a message with the node's key (zbase32, as LND and Core Lightning do)",
		query NONE, body body("SignMessageRequest", r#"{"message": "hello"}"#),
		reply json("SignMessageResponse"),
		client sign_message_with;
	VerifyMessage: POST "/v1/messages/verify" (; VerifyMessageRequest) -> VerifyMessageResponse,
		Read, "Check a message's signature and recover its signer",
		query NONE,
		body body("VerifyMessageRequest", r#"{"message": "hello", "signature": "d6tqaeuonjhi98mmont9m4wag7gg4krg1f4txonug3h5hy4csfcr4uw4ndgx1r3o4ieu9se7g5uc4hfzcx7tz8c6ah5n4xmzxrwywr1q"}"#),
		reply json("VerifyMessageResponse"),
		client verify_message_with;
	// Forwarding policy and rebalancing.
	UpdateChannelPolicy: POST "/v1/channels/{channel_id}/policy" (channel_id; PolicyUpdateBody) -> ForwardingPolicy, Admin,
		"Change a channel's forwarding policy (fees, CLTV delta); answers the new policy",
		query NONE, body body("PolicyUpdateBody", r#"{"fee_ppm": 100}"#),
		reply json("ForwardingPolicy"),
		client update_channel_policy;
	UpdateAllPolicies: POST "/v1/channels/policy" (; PolicyUpdateBody) -> PoliciesUpdated, Admin,
		"Change every channel's forwarding policy; answers how many changed",
		query NONE, body body("PolicyUpdateBody", r#"{"fee_base_msat": 1000}"#),
		reply json("PoliciesUpdated"),
		client update_all_policies;
	Rebalance: POST "/v1/rebalance" (; RebalanceBody) -> PaymentRecord, Admin,
		"Pay ourselves out through one channel and back through another; answers the payment",
		query NONE,
		body body(
			"RebalanceBody",
			r#"{"out_channel_id": "aa", "in_channel_id": "bb", "amount_msat": 100000, "max_fee_msat": 1000}"#
		),
		reply json("PaymentRecord"),
		client rebalance_with;
}

#[cfg(test)]
mod tests;
