//! Request parsing and dispatch: every endpoint as a [`Call`] (path, method, query or body parsed and
//! validated), the scope check against the route table, and [`dispatch`], the single place
//! where requests meet the node.

use fulgur_node::Node;
use serde::Serialize;
use tokio::sync::watch;
use warp::filters::BoxedFilter;
use warp::http::Method;
use warp::path::FullPath;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::api::channels::{
	self, CloseChannelBody, CloseChannelRequest, GetChannelRequest, OpenChannelRequest,
};
use crate::api::events::{self, EventStreamRequest, EventsQuery, StreamQuery};
use crate::api::invoices::{self, CreateInvoiceRequest, GetInvoiceRequest};
use crate::api::invoices::{CancelInvoiceBody, CancelInvoiceRequest};
use crate::api::invoices::{SettleInvoiceBody, SettleInvoiceRequest};
use crate::api::keys::{self, CreateKeyRequest, RevokeKeyRequest};
use crate::api::offers::{self, CreateOfferRequest};
use crate::api::onchain::{self, NewAddressRequest, SendOnchainRequest};
use crate::api::payments::{self, GetPaymentRequest, KeysendRequest, PayBody};
use crate::api::peers::{self, ConnectPeerRequest, DisconnectPeerRequest};
use crate::api::routing::{self, GraphChannelRequest, GraphNodeRequest, RoutesRequest};
use crate::api::webhooks::{self, CreateWebhookRequest, DeleteWebhookRequest};
use crate::api::{info, metrics, towers, PageQuery};
use crate::auth::{authenticate, Caller, Keys};
use crate::convert::wire_scope;
use crate::error::ApiError;
use crate::extract::{json_body, page_query, query};
use fulgur_api::routes::Endpoint;

/// The API key check (401), then the key's scope against the route the table finds for the
/// method and path (403), and only then the request parser, which reads the query and body: a key
/// without the scope learns nothing of how its request would have been parsed. The call's
/// own route is checked once more, so the request parser and the table cannot disagree on a scope.
pub(crate) fn authenticated_routes(keys: Keys) -> BoxedFilter<(Caller, Call)> {
	authenticate(keys)
		.and(warp::method())
		.and(warp::path::full())
		.and_then(|caller: Caller, method: Method, path: FullPath| async move {
			match Endpoint::find(method.as_str(), path.as_str()) {
				Some(route) => allow(&caller, route).map(|()| caller),
				// Not a route: the request parser answers 404 or 405.
				None => Ok(caller),
			}
		})
		.and(routes())
		.and_then(|caller: Caller, call: Call| async move {
			allow(&caller, call.route()).map(|()| (caller, call))
		})
		.untuple_one()
		.boxed()
}

fn allow(caller: &Caller, route: Endpoint) -> Result<(), Rejection> {
	let spec = route.spec();
	if spec.access.allows(wire_scope(caller.scope)) {
		return Ok(());
	}
	Err(warp::reject::custom(ApiError::forbidden(format!(
		"{} {} needs a key with scope {}; this key's scope is {}",
		spec.method,
		spec.path,
		spec.access.scopes().join(" or "),
		caller.scope.as_str()
	))))
}

/// One parsed and validated request: which endpoint, with what.
#[derive(Debug)]
pub(crate) enum Call {
	Info,
	Balance,
	NewAddress(NewAddressRequest),
	SendOnchain(SendOnchainRequest),
	ListPeers(PageQuery),
	ConnectPeer(ConnectPeerRequest),
	DisconnectPeer(DisconnectPeerRequest),
	ListChannels(PageQuery),
	GetChannel(GetChannelRequest),
	OpenChannel(OpenChannelRequest),
	CloseChannel(CloseChannelRequest),
	CreateInvoice(CreateInvoiceRequest),
	GetInvoice(GetInvoiceRequest),
	ListInvoices(PageQuery),
	SettleInvoice(SettleInvoiceRequest),
	CancelInvoice(CancelInvoiceRequest),
	Pay(PayBody),
	Keysend(KeysendRequest),
	GetPayment(GetPaymentRequest),
	ListPayments(PageQuery),
	CreateOffer(CreateOfferRequest),
	FindRoutes(RoutesRequest),
	Probe(RoutesRequest),
	Graph,
	GraphNode(GraphNodeRequest),
	GraphChannel(GraphChannelRequest),
	ListEvents(EventsQuery),
	EventStream(EventStreamRequest),
	CreateWebhook(CreateWebhookRequest),
	ListWebhooks(PageQuery),
	DeleteWebhook(DeleteWebhookRequest),
	CreateKey(CreateKeyRequest),
	ListKeys(PageQuery),
	ListTowers,
	RevokeKey(RevokeKeyRequest),
	OpenApi,
	Metrics,
}

impl Call {
	/// Its entry in the route table: what the scope check and the documentation know of it.
	pub(crate) fn route(&self) -> Endpoint {
		match self {
			Call::Info => Endpoint::Info,
			Call::Balance => Endpoint::Balance,
			Call::NewAddress(_) => Endpoint::NewAddress,
			Call::SendOnchain(_) => Endpoint::SendOnchain,
			Call::ListPeers(_) => Endpoint::ListPeers,
			Call::ConnectPeer(_) => Endpoint::ConnectPeer,
			Call::DisconnectPeer(_) => Endpoint::DisconnectPeer,
			Call::ListChannels(_) => Endpoint::ListChannels,
			Call::GetChannel(_) => Endpoint::GetChannel,
			Call::OpenChannel(_) => Endpoint::OpenChannel,
			Call::CloseChannel(_) => Endpoint::CloseChannel,
			Call::CreateInvoice(_) => Endpoint::CreateInvoice,
			Call::GetInvoice(_) => Endpoint::GetInvoice,
			Call::ListInvoices(_) => Endpoint::ListInvoices,
			Call::SettleInvoice(_) => Endpoint::SettleInvoice,
			Call::CancelInvoice(_) => Endpoint::CancelInvoice,
			Call::Pay(_) => Endpoint::Pay,
			Call::Keysend(_) => Endpoint::Keysend,
			Call::GetPayment(_) => Endpoint::GetPayment,
			Call::ListPayments(_) => Endpoint::ListPayments,
			Call::CreateOffer(_) => Endpoint::CreateOffer,
			Call::FindRoutes(_) => Endpoint::FindRoutes,
			Call::Probe(_) => Endpoint::Probe,
			Call::Graph => Endpoint::Graph,
			Call::GraphNode(_) => Endpoint::GraphNode,
			Call::GraphChannel(_) => Endpoint::GraphChannel,
			Call::ListEvents(_) => Endpoint::ListEvents,
			Call::EventStream(_) => Endpoint::EventStream,
			Call::CreateWebhook(_) => Endpoint::CreateWebhook,
			Call::ListWebhooks(_) => Endpoint::ListWebhooks,
			Call::DeleteWebhook(_) => Endpoint::DeleteWebhook,
			Call::CreateKey(_) => Endpoint::CreateKey,
			Call::ListKeys(_) => Endpoint::ListKeys,
			Call::ListTowers => Endpoint::ListTowers,
			Call::RevokeKey(_) => Endpoint::RevokeKey,
			Call::OpenApi => Endpoint::OpenApi,
			Call::Metrics => Endpoint::Metrics,
		}
	}
}

/// The request parser: every endpoint, path first, then method, then query or body, so an unknown
/// path is a 404 and a known path with another method a 405.
fn routes() -> BoxedFilter<(Call,)> {
	use warp::{delete, get, path, post};

	let info = path!("v1" / "info").and(get()).map(|| Call::Info);
	let balance = path!("v1" / "balance").and(get()).map(|| Call::Balance);

	let new_address =
		path!("v1" / "onchain" / "address").and(post()).and(json_body()).map(Call::NewAddress);
	let send_onchain =
		path!("v1" / "onchain" / "send").and(post()).and(json_body()).map(Call::SendOnchain);

	let list_peers = path!("v1" / "peers").and(get()).and(page_query()).map(Call::ListPeers);
	let connect_peer = path!("v1" / "peers").and(post()).and(json_body()).map(Call::ConnectPeer);
	let disconnect_peer = path!("v1" / "peers" / String)
		.and(delete())
		.map(|node_id| Call::DisconnectPeer(DisconnectPeerRequest { node_id }));

	let list_channels =
		path!("v1" / "channels").and(get()).and(page_query()).map(Call::ListChannels);
	let get_channel = path!("v1" / "channels" / String)
		.and(get())
		.map(|channel_id| Call::GetChannel(GetChannelRequest { channel_id }));
	let open_channel = path!("v1" / "channels").and(post()).and(json_body()).map(Call::OpenChannel);
	let close_channel = path!("v1" / "channels" / String / "close")
		.and(post())
		.and(json_body())
		.map(|channel_id, body: CloseChannelBody| {
			Call::CloseChannel(CloseChannelRequest { channel_id, force: body.force })
		});

	let create_invoice =
		path!("v1" / "invoices").and(post()).and(json_body()).map(Call::CreateInvoice);
	let get_invoice = path!("v1" / "invoices" / String)
		.and(get())
		.map(|payment_hash| Call::GetInvoice(GetInvoiceRequest { payment_hash }));
	let list_invoices =
		path!("v1" / "invoices").and(get()).and(page_query()).map(Call::ListInvoices);
	let settle_invoice = path!("v1" / "invoices" / String / "settle")
		.and(post())
		.and(json_body())
		.map(|payment_hash, body: SettleInvoiceBody| {
			Call::SettleInvoice(SettleInvoiceRequest { payment_hash, preimage: body.preimage })
		});
	let cancel_invoice = path!("v1" / "invoices" / String / "cancel")
		.and(post())
		.and(json_body())
		.map(|payment_hash, _: CancelInvoiceBody| {
			Call::CancelInvoice(CancelInvoiceRequest { payment_hash })
		});

	let pay = path!("v1" / "payments").and(post()).and(json_body()).map(Call::Pay);
	let keysend =
		path!("v1" / "payments" / "keysend").and(post()).and(json_body()).map(Call::Keysend);
	let get_payment = path!("v1" / "payments" / String)
		.and(get())
		.map(|payment_id| Call::GetPayment(GetPaymentRequest { payment_id }));
	let list_payments =
		path!("v1" / "payments").and(get()).and(page_query()).map(Call::ListPayments);

	let create_offer = path!("v1" / "offers").and(post()).and(json_body()).map(Call::CreateOffer);

	let find_routes = path!("v1" / "routes").and(post()).and(json_body()).map(Call::FindRoutes);
	let probe = path!("v1" / "probes").and(post()).and(json_body()).map(Call::Probe);
	let graph = path!("v1" / "graph").and(get()).map(|| Call::Graph);
	let graph_node = path!("v1" / "graph" / "nodes" / String)
		.and(get())
		.map(|node_id| Call::GraphNode(GraphNodeRequest { node_id }));
	let graph_channel = path!("v1" / "graph" / "channels" / String)
		.and(get())
		.map(|short_channel_id| Call::GraphChannel(GraphChannelRequest { short_channel_id }));

	let list_events = path!("v1" / "events").and(get()).and(query()).map(Call::ListEvents);
	let event_stream = path!("v1" / "events" / "stream")
		.and(get())
		.and(query())
		.and(warp::sse::last_event_id::<u64>())
		.map(|query: StreamQuery, last: Option<u64>| {
			// A reconnecting browser sends the last id it saw; it wins over the URL's `after`.
			Call::EventStream(EventStreamRequest { after: last.or(query.after) })
		});
	let create_webhook =
		path!("v1" / "webhooks").and(post()).and(json_body()).map(Call::CreateWebhook);
	let list_webhooks =
		path!("v1" / "webhooks").and(get()).and(page_query()).map(Call::ListWebhooks);
	let delete_webhook = path!("v1" / "webhooks" / String)
		.and(delete())
		.map(|id| Call::DeleteWebhook(DeleteWebhookRequest { id }));
	let create_key = path!("v1" / "keys").and(post()).and(json_body()).map(Call::CreateKey);
	let list_keys = path!("v1" / "keys").and(get()).and(page_query()).map(Call::ListKeys);
	let revoke_key = path!("v1" / "keys" / String)
		.and(delete())
		.map(|id| Call::RevokeKey(RevokeKeyRequest { id }));
	let list_towers = path!("v1" / "towers").and(get()).map(|| Call::ListTowers);
	let openapi = path!("v1" / "openapi.json").and(get()).map(|| Call::OpenApi);
	let metrics = path!("metrics").and(get()).map(|| Call::Metrics);

	// Boxed per group to keep the filter types (and compile times) small.
	let node_state = info.or(balance).unify().boxed();
	let onchain = new_address.or(send_onchain).unify().boxed();
	let peers = list_peers.or(connect_peer).unify().or(disconnect_peer).unify().boxed();
	let channels = list_channels
		.or(get_channel)
		.unify()
		.or(open_channel)
		.unify()
		.or(close_channel)
		.unify()
		.boxed();
	let invoices = create_invoice.or(get_invoice).unify().or(list_invoices).unify().boxed();
	let hold_invoices = settle_invoice.or(cancel_invoice).unify().boxed();
	let payments =
		pay.or(keysend).unify().or(get_payment).unify().or(list_payments).unify().boxed();
	let routing = find_routes
		.or(probe)
		.unify()
		.or(graph)
		.unify()
		.or(graph_node)
		.unify()
		.or(graph_channel)
		.unify()
		.boxed();
	let events = list_events.or(event_stream).unify().boxed();
	let merchant = create_webhook
		.or(list_webhooks)
		.unify()
		.or(delete_webhook)
		.unify()
		.or(create_key)
		.unify()
		.or(list_keys)
		.unify()
		.or(revoke_key)
		.unify()
		.or(list_towers)
		.unify()
		.or(openapi)
		.unify()
		.or(metrics)
		.unify()
		.boxed();
	node_state
		.or(onchain)
		.unify()
		.or(peers)
		.unify()
		.or(channels)
		.unify()
		.or(invoices)
		.unify()
		.or(hold_invoices)
		.unify()
		.or(payments)
		.unify()
		.or(create_offer)
		.unify()
		.or(routing)
		.unify()
		.or(events)
		.unify()
		.or(merchant)
		.unify()
		.boxed()
}

/// Runs the handler on its own task: a client that disconnects does not cancel a node
/// operation halfway (an open, a payment), and a panic is a 500, not a dropped connection.
pub(crate) async fn run(
	caller: Caller, call: Call, node: Node, closing: watch::Receiver<bool>,
) -> Response {
	match tokio::spawn(dispatch(node, closing, caller, call)).await {
		Ok(response) => response,
		Err(e) => {
			log_error!("request handler failed: {e}");
			ApiError::internal("internal error").into_response()
		}
	}
}

/// Calls the handler for `call`: the single place where requests meet the node.
/// `closing` turns true when the API shuts down: long-lived answers (event streams) end.
/// `caller` is who asked (its scope allows the call); the events it may read depend on it.
async fn dispatch(
	node: Node, closing: watch::Receiver<bool>, caller: Caller, call: Call,
) -> Response {
	match call {
		Call::Info => reply(info::handle_info(node, ()).await),
		Call::Balance => reply(info::handle_balance(node, ()).await),
		Call::NewAddress(req) => reply(onchain::handle_new_address(node, req).await),
		Call::SendOnchain(req) => reply(onchain::handle_send_onchain(node, req).await),
		Call::ListPeers(req) => reply(peers::handle_list_peers(node, req).await),
		Call::ConnectPeer(req) => reply(peers::handle_connect_peer(node, req).await),
		Call::DisconnectPeer(req) => reply(peers::handle_disconnect_peer(node, req).await),
		Call::ListChannels(req) => reply(channels::handle_list_channels(node, req).await),
		Call::GetChannel(req) => reply(channels::handle_get_channel(node, req).await),
		Call::OpenChannel(req) => reply(channels::handle_open_channel(node, req).await),
		Call::CloseChannel(req) => reply(channels::handle_close_channel(node, req).await),
		Call::CreateInvoice(req) => reply(invoices::handle_create_invoice(node, req).await),
		Call::GetInvoice(req) => reply(invoices::handle_get_invoice(node, req).await),
		Call::ListInvoices(req) => reply(invoices::handle_list_invoices(node, req).await),
		Call::SettleInvoice(req) => reply(invoices::handle_settle_invoice(node, req).await),
		Call::CancelInvoice(req) => reply(invoices::handle_cancel_invoice(node, req).await),
		Call::Pay(req) => reply(payments::handle_pay(node, req).await),
		Call::Keysend(req) => reply(payments::handle_keysend(node, req).await),
		Call::GetPayment(req) => reply(payments::handle_get_payment(node, req).await),
		Call::ListPayments(req) => reply(payments::handle_list_payments(node, req).await),
		Call::CreateOffer(req) => reply(offers::handle_create_offer(node, req).await),
		Call::FindRoutes(req) => reply(routing::handle_find_routes(node, req).await),
		Call::Probe(req) => reply(routing::handle_probe(node, req).await),
		Call::Graph => reply(routing::handle_graph(node, ()).await),
		Call::GraphNode(req) => reply(routing::handle_graph_node(node, req).await),
		Call::GraphChannel(req) => reply(routing::handle_graph_channel(node, req).await),
		Call::ListEvents(req) => reply(events::handle_list_events(node, caller, req).await),
		Call::EventStream(req) => events::handle_event_stream(node, caller, req, closing),
		Call::CreateWebhook(req) => reply(webhooks::handle_create_webhook(node, req).await),
		Call::ListWebhooks(req) => reply(webhooks::handle_list_webhooks(node, req).await),
		Call::DeleteWebhook(req) => reply(webhooks::handle_delete_webhook(node, req).await),
		Call::CreateKey(req) => reply(keys::handle_create_key(node, req).await),
		Call::ListKeys(req) => reply(keys::handle_list_keys(node, req).await),
		Call::RevokeKey(req) => reply(keys::handle_revoke_key(node, req).await),
		Call::ListTowers => reply(towers::handle_list_towers(node, ()).await),
		Call::OpenApi => warp::reply::json(&crate::openapi::document()).into_response(),
		Call::Metrics => metrics::handle_metrics(node).await,
	}
}

fn reply<T: Serialize>(result: Result<T, ApiError>) -> Response {
	match result {
		Ok(value) => warp::reply::json(&value).into_response(),
		Err(e) => e.into_response(),
	}
}
