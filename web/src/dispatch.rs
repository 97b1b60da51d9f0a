//! Request parsing and dispatch: the scope check against the route table, the request parser
//! (path, method, query or body parsed and validated into the table's [`Call`]), and
//! [`dispatch`], the single place where requests meet the node.
//!
//! Invariant: the route table (`fulgur_api::routes`) decides which endpoint a request is for,
//! what it parses into and what it answers: the parser only reads the request for it, and each
//! dispatch arm is held to the table's answer type ([`AnswerOf`]).

use fulgur_api::routes::{answer, AnswerOf, Call, Endpoint};
use fulgur_api::ErrorCode;
use fulgur_node::Node;
use serde::Serialize;
use tokio::sync::watch;
use warp::filters::BoxedFilter;
use warp::http::header::CONTENT_LENGTH;
use warp::http::{HeaderMap, HeaderValue, Method};
use warp::hyper::body::Bytes;
use warp::path::FullPath;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::api::channels::{self, CloseChannelRequest, GetChannelRequest};
use crate::api::events::{self, EventStreamRequest};
use crate::api::forwards;
use crate::api::invoices::SettleInvoiceRequest;
use crate::api::invoices::{self, CancelInvoiceBody, CancelInvoiceRequest, GetInvoiceRequest};
use crate::api::keys::{self, RevokeKeyRequest};
use crate::api::onchain;
use crate::api::payments::{self, GetPaymentRequest};
use crate::api::peers::{self, DisconnectPeerRequest};
use crate::api::routing::{self, GraphChannelRequest, GraphNodeRequest};
use crate::api::webhooks::{self, DeleteWebhookRequest};
use crate::api::{info, metrics, offers, towers, utilities};
// Forwarding policy and rebalancing.
use crate::api::policy::{self, UpdateChannelPolicyRequest};
use crate::auth::{authenticate, Caller, Keys};
use crate::convert::wire_scope;
use crate::error::ApiError;
use crate::extract::read_body;

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

/// The request parser: the route the table finds for the method and path (404 when no route
/// has the path, 405 when one has it with another method), then its path parameters, query
/// or JSON body (a `POST`'s only, at most [`crate::BODY_LIMIT_BYTES`]) parsed and validated
/// into the [`Call`] the table generates. The stream's `Last-Event-ID` header (what a
/// reconnecting browser sends) wins over its `?after=`.
fn routes() -> BoxedFilter<(Call,)> {
	warp::method()
		.and(warp::path::full())
		.and(warp::query::raw().or(warp::any().map(String::new)).unify())
		.and(warp::header::headers_cloned())
		.and(warp::body::stream())
		.and_then(
			|method: Method, path: FullPath, query: String, headers: HeaderMap, body| async move {
				let path = path.as_str();
				let Some(route) = Endpoint::find(method.as_str(), path) else {
					return Err(if Endpoint::path_exists(path) {
						warp::reject::custom(ApiError::new(
							ErrorCode::MethodNotAllowed,
							"this endpoint does not take this HTTP method",
						))
					} else {
						warp::reject::not_found()
					});
				};
				let params = route.path_params(path).ok_or_else(warp::reject::not_found)?;
				let body = if route.spec().method == "POST" {
					let length = match headers.get(CONTENT_LENGTH) {
						None => None,
						Some(value) => Some(header_value::<u64>(value, "content-length")?),
					};
					read_body(length, body).await?
				} else {
					Bytes::new()
				};
				let mut call = Call::parse(route, params, &query, &body)
					.map_err(|e| warp::reject::custom(ApiError::from(e)))?;
				if let Call::EventStream { input } = &mut call {
					if let Some(last) = headers.get("last-event-id") {
						input.after = Some(header_value::<u64>(last, "last-event-id")?);
					}
				}
				Ok::<_, Rejection>(call)
			},
		)
		.boxed()
}

/// A header's value parsed as `T`, or 400 naming the header.
fn header_value<T: std::str::FromStr>(value: &HeaderValue, name: &str) -> Result<T, Rejection> {
	value.to_str().ok().and_then(|v| v.trim().parse().ok()).ok_or_else(|| {
		warp::reject::custom(ApiError::invalid_request(format!("invalid header {name}")))
	})
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
		Call::Info {} => reply::<answer::Info>(info::handle_info(node, ()).await),
		Call::Balance {} => reply::<answer::Balance>(info::handle_balance(node, ()).await),
		Call::NewAddress { input } => {
			reply::<answer::NewAddress>(onchain::handle_new_address(node, input).await)
		}
		Call::SendOnchain { input } => {
			reply::<answer::SendOnchain>(onchain::handle_send_onchain(node, input).await)
		}
		Call::ListPeers { input } => {
			reply::<answer::ListPeers>(peers::handle_list_peers(node, input).await)
		}
		Call::ConnectPeer { input } => {
			reply::<answer::ConnectPeer>(peers::handle_connect_peer(node, input).await)
		}
		Call::DisconnectPeer { node_id } => {
			let req = DisconnectPeerRequest { node_id };
			reply::<answer::DisconnectPeer>(peers::handle_disconnect_peer(node, req).await)
		}
		Call::ListChannels { input } => {
			reply::<answer::ListChannels>(channels::handle_list_channels(node, input).await)
		}
		Call::GetChannel { channel_id } => {
			let req = GetChannelRequest { channel_id };
			reply::<answer::GetChannel>(channels::handle_get_channel(node, req).await)
		}
		Call::OpenChannel { input } => {
			reply::<answer::OpenChannel>(channels::handle_open_channel(node, input).await)
		}
		Call::CloseChannel { channel_id, input } => {
			let req = CloseChannelRequest { channel_id, force: input.force };
			reply::<answer::CloseChannel>(channels::handle_close_channel(node, req).await)
		}
		Call::CreateInvoice { input } => {
			reply::<answer::CreateInvoice>(invoices::handle_create_invoice(node, input).await)
		}
		Call::GetInvoice { payment_hash } => {
			let req = GetInvoiceRequest { payment_hash };
			reply::<answer::GetInvoice>(invoices::handle_get_invoice(node, req).await)
		}
		Call::ListInvoices { input } => {
			reply::<answer::ListInvoices>(invoices::handle_list_invoices(node, input).await)
		}
		Call::SettleInvoice { payment_hash, input } => {
			let req = SettleInvoiceRequest { payment_hash, preimage: input.preimage };
			reply::<answer::SettleInvoice>(invoices::handle_settle_invoice(node, req).await)
		}
		Call::CancelInvoice { payment_hash, input: CancelInvoiceBody {} } => {
			let req = CancelInvoiceRequest { payment_hash };
			reply::<answer::CancelInvoice>(invoices::handle_cancel_invoice(node, req).await)
		}
		Call::Pay { input } => reply::<answer::Pay>(payments::handle_pay(node, input).await),
		Call::Keysend { input } => {
			reply::<answer::Keysend>(payments::handle_keysend(node, input).await)
		}
		Call::GetPayment { payment_id } => {
			let req = GetPaymentRequest { payment_id };
			reply::<answer::GetPayment>(payments::handle_get_payment(node, req).await)
		}
		Call::ListPayments { input } => {
			reply::<answer::ListPayments>(payments::handle_list_payments(node, input).await)
		}
		Call::CreateOffer { input } => {
			reply::<answer::CreateOffer>(offers::handle_create_offer(node, input).await)
		}
		Call::FindRoutes { input } => {
			reply::<answer::FindRoutes>(routing::handle_find_routes(node, input).await)
		}
		Call::Probe { input } => reply::<answer::Probe>(routing::handle_probe(node, input).await),
		Call::Graph {} => reply::<answer::Graph>(routing::handle_graph(node, ()).await),
		Call::GraphNode { node_id } => {
			let req = GraphNodeRequest { node_id };
			reply::<answer::GraphNode>(routing::handle_graph_node(node, req).await)
		}
		Call::GraphChannel { short_channel_id } => {
			let req = GraphChannelRequest { short_channel_id };
			reply::<answer::GraphChannel>(routing::handle_graph_channel(node, req).await)
		}
		Call::ListEvents { input } => {
			reply::<answer::ListEvents>(events::handle_list_events(node, caller, input).await)
		}
		Call::EventStream { input } => {
			let req = EventStreamRequest { after: input.after };
			events::handle_event_stream(node, caller, req, closing)
		}
		Call::CreateWebhook { input } => {
			reply::<answer::CreateWebhook>(webhooks::handle_create_webhook(node, input).await)
		}
		Call::ListWebhooks { input } => {
			reply::<answer::ListWebhooks>(webhooks::handle_list_webhooks(node, input).await)
		}
		Call::DeleteWebhook { id } => {
			let req = DeleteWebhookRequest { id };
			reply::<answer::DeleteWebhook>(webhooks::handle_delete_webhook(node, req).await)
		}
		Call::CreateKey { input } => {
			reply::<answer::CreateKey>(keys::handle_create_key(node, input).await)
		}
		Call::ListKeys { input } => {
			reply::<answer::ListKeys>(keys::handle_list_keys(node, input).await)
		}
		Call::RevokeKey { id } => {
			let req = RevokeKeyRequest { id };
			reply::<answer::RevokeKey>(keys::handle_revoke_key(node, req).await)
		}
		Call::ListTowers {} => {
			reply::<answer::ListTowers>(towers::handle_list_towers(node, ()).await)
		}
		// Forwarding records (issue 13).
		Call::ListForwards { input } => {
			reply::<answer::ListForwards>(forwards::handle_list_forwards(node, input).await)
		}
		Call::ForwardsSummary { input } => {
			reply::<answer::ForwardsSummary>(forwards::handle_forwards_summary(node, input).await)
		}
		Call::OpenApi {} => reply::<answer::OpenApi>(Ok(crate::openapi::document())),
		Call::Metrics {} => metrics::handle_metrics(node).await,
		// Closed channels and the utilities (issue 13).
		Call::ListClosedChannels { input } => reply::<answer::ListClosedChannels>(
			channels::handle_list_closed_channels(node, input).await,
		),
		Call::Decode { input } => {
			reply::<answer::Decode>(utilities::handle_decode(node, input).await)
		}
		Call::SignMessage { input } => {
			reply::<answer::SignMessage>(utilities::handle_sign_message(node, input).await)
		}
		Call::VerifyMessage { input } => {
			reply::<answer::VerifyMessage>(utilities::handle_verify_message(node, input).await)
		}
		// Forwarding policy and rebalancing.
		Call::UpdateChannelPolicy { channel_id, input } => {
			let req = UpdateChannelPolicyRequest { channel_id, update: input };
			reply::<answer::UpdateChannelPolicy>(
				policy::handle_update_channel_policy(node, req).await,
			)
		}
		Call::UpdateAllPolicies { input } => reply::<answer::UpdateAllPolicies>(
			policy::handle_update_all_policies(node, input).await,
		),
		Call::Rebalance { input } => {
			reply::<answer::Rebalance>(policy::handle_rebalance(node, input).await)
		}
	}
}

/// The handler's answer as JSON; `R` holds it to the type the route table gives the endpoint.
fn reply<R: AnswerOf>(result: Result<R::Answer, ApiError>) -> Response
where
	R::Answer: Serialize,
{
	match result {
		Ok(value) => warp::reply::json(&value).into_response(),
		Err(e) => e.into_response(),
	}
}
