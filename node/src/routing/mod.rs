//! Routes as the node would take them: candidate routes with fees, CLTV and the scorer's
//! success estimate, probes, and the graph (see [`graph`]).

pub mod graph;

use std::sync::Arc;

use bitcoin::secp256k1::PublicKey;
use lightning::routing::gossip::NodeId;
use lightning::routing::router::{Path, PaymentParameters, Route, RouteParameters, Router};
use lightning::routing::scoring::ProbabilisticScoringFeeParameters;
use lightning::types::features::Bolt11InvoiceFeatures;
use serde::{Deserialize, Serialize};

pub use crate::config::RoutingLimits;
use crate::parse::{check_amount_msat, format_scid, parse_invoice};
use crate::types::{ChannelManager, NetworkGraph, Scorer};
use crate::NodeError;

/// The final CLTV delta asked of a destination given by node id (LDK's invoice default).
const NODE_ID_FINAL_CLTV_DELTA: u32 = 144;
/// Candidate routes returned when the request does not say.
const DEFAULT_CANDIDATES: usize = 3;
/// Most candidate routes one request may ask for.
const MAX_CANDIDATES: usize = 10;

/// Where a route goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteDestination {
	/// A node, by id.
	Node(PublicKey),
	/// A BOLT11 invoice's payee: destination, route hints and features come from it.
	Invoice(String),
}

/// Routes or probes: where to, how much.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutesRequest {
	/// Where to.
	pub destination: RouteDestination,
	/// Amount to deliver; required for a node or an amountless invoice.
	pub amount_msat: Option<u64>,
	/// Upper bound on the fees of each route.
	pub max_fee_msat: Option<u64>,
	/// How many different routes to return (default 3, at most 10).
	pub max_routes: Option<usize>,
}

/// One hop: the channel taken and the node it reaches.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RouteHopInfo {
	/// The node this hop reaches.
	pub node_id: String,
	/// The channel taken to reach it.
	pub short_channel_id: String,
	/// Whether that channel is announced (a private channel comes from a route hint).
	pub announced: bool,
	/// Amount carried over this channel.
	pub amount_msat: u64,
	/// Fee this node keeps for forwarding (0 at the destination).
	pub fee_msat: u64,
	/// Blocks this hop adds to the expiry (at the destination: its final CLTV delta).
	pub cltv_expiry_delta: u32,
	/// The scorer's estimate that this channel carries the amount (1 for our own channels).
	pub success_probability: Option<f64>,
}

/// One path of a route.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RoutePathInfo {
	/// Amount delivered over this path.
	pub amount_msat: u64,
	/// Fees over this path.
	pub fee_msat: u64,
	/// Sum of the hops' CLTV deltas: how long the HTLC can be locked.
	pub total_cltv_expiry_delta: u32,
	/// Product of the hops' estimates.
	pub success_probability: f64,
	/// The hops, from our first channel to the destination.
	pub hops: Vec<RouteHopInfo>,
}

/// A candidate route: one path, or several when the amount is split (multi-path).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RouteInfo {
	/// Amount delivered.
	pub amount_msat: u64,
	/// Fees over every path.
	pub fee_msat: u64,
	/// The longest path's CLTV total.
	pub total_cltv_expiry_delta: u32,
	/// Estimate that every path succeeds.
	pub success_probability: f64,
	/// The paths.
	pub paths: Vec<RoutePathInfo>,
}

/// Candidate routes, best first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RoutesResponse {
	/// The destination.
	pub destination: String,
	/// The routes; each next one avoids the channels beyond our first hop of those before.
	pub routes: Vec<RouteInfo>,
}

/// The routing handle: the channel manager's router and scorer, the graph, and the limits
/// every payment is sent within.
#[derive(Clone)]
pub(crate) struct Routing {
	/// Our channels (first hops, in-flight HTLCs, probes).
	pub(crate) channel_manager: Arc<ChannelManager>,
	/// The payment router (the channel manager's).
	pub(crate) router: Arc<crate::types::Router>,
	/// The scorer, learning from payments and probes.
	pub(crate) scorer: Arc<std::sync::Mutex<Scorer>>,
	/// The gossiped graph.
	pub(crate) graph: Arc<NetworkGraph>,
	/// The chain invoices must be for.
	pub(crate) network: bitcoin::Network,
	/// The router's limits.
	pub(crate) limits: RoutingLimits,
}

/// Finds up to `max_routes` different routes, best first. The first is the one a payment
/// would take now; the others avoid the channels (beyond our own) of the routes before them.
pub(crate) fn find_routes(
	routing: &Routing, req: &RoutesRequest,
) -> Result<RoutesResponse, NodeError> {
	let (destination, mut params) = route_parameters(routing, req)?;
	let wanted = req.max_routes.unwrap_or(DEFAULT_CANDIDATES);
	if wanted == 0 || wanted > MAX_CANDIDATES {
		return Err(NodeError::InvalidRequest(format!(
			"max_routes must be between 1 and {MAX_CANDIDATES}"
		)));
	}
	let payer = routing.channel_manager.get_our_node_id();
	let first_hops = routing.channel_manager.list_usable_channels();
	let first_hop_refs: Vec<_> = first_hops.iter().collect();
	let mut routes = Vec::new();
	while routes.len() < wanted {
		let found = routing.router.find_route(
			&payer,
			&params,
			Some(&first_hop_refs),
			routing.channel_manager.compute_inflight_htlcs(),
		);
		let route = match found {
			Ok(route) => route,
			Err(e) if routes.is_empty() => {
				return Err(NodeError::RouteNotFound(format!("no route to {destination}: {e}")))
			}
			Err(_) => break,
		};
		let avoided = &mut params.payment_params.previously_failed_channels;
		let before = avoided.len();
		for path in &route.paths {
			avoided.extend(path.hops.iter().skip(1).map(|hop| hop.short_channel_id));
		}
		routes.push(describe(routing, &route));
		if avoided.len() == before {
			break; // direct channels only: nothing left to avoid
		}
	}
	Ok(RoutesResponse { destination: destination.to_string(), routes })
}

/// The error for a payment that found no route under its fee limit: says what the cheapest
/// route would have cost, so the caller knows the limit is what stopped it.
pub(crate) fn no_route_within_fee(
	routing: &Routing, invoice: &str, amount_msat: u64, max_fee_msat: Option<u64>,
) -> NodeError {
	let limit = max_fee_msat.map(|m| m.to_string()).unwrap_or_else(|| "none".into());
	let req = RoutesRequest {
		destination: RouteDestination::Invoice(invoice.to_string()),
		amount_msat: Some(amount_msat),
		max_fee_msat: None,
		max_routes: Some(1),
	};
	match find_routes(routing, &req) {
		Ok(found) => match found.routes.first() {
			Some(cheapest) => NodeError::RouteNotFound(format!(
				"no route within max_fee_msat {limit}: the best route costs {} msat",
				cheapest.fee_msat
			)),
			None => NodeError::RouteNotFound("no route to the recipient".into()),
		},
		Err(_) => {
			NodeError::RouteNotFound(format!("no route to the recipient (max_fee_msat {limit})"))
		}
	}
}

/// Sends probes over the route a payment of `req` would take now, so that the scorer learns
/// the liquidity of its channels before a real payment needs it.
pub(crate) fn probe(routing: &Routing, req: &RoutesRequest) -> Result<usize, NodeError> {
	let (destination, params) = route_parameters(routing, req)?;
	let sent = routing
		.channel_manager
		.send_preflight_probes(params, None)
		.map_err(|e| NodeError::RouteNotFound(format!("cannot probe {destination}: {e:?}")))?;
	Ok(sent.len())
}

/// What LDK's router needs for `req`, with the node's limits applied.
fn route_parameters(
	routing: &Routing, req: &RoutesRequest,
) -> Result<(PublicKey, RouteParameters), NodeError> {
	let (destination, payment_params, invoice_amount) = match &req.destination {
		RouteDestination::Node(key) => {
			let key = *key;
			let mut mpp = Bolt11InvoiceFeatures::empty();
			mpp.set_basic_mpp_optional();
			let params = PaymentParameters::from_node_id(key, NODE_ID_FINAL_CLTV_DELTA)
				.with_bolt11_features(mpp)
				.map_err(|()| NodeError::Internal("node-id payee rejected features".into()))?;
			(key, params, None)
		}
		RouteDestination::Invoice(text) => {
			let invoice = parse_invoice(routing.network, text)?;
			let params = PaymentParameters::from_bolt11_invoice(&invoice);
			(invoice.get_payee_pub_key(), params, invoice.amount_milli_satoshis())
		}
	};
	if destination == routing.channel_manager.get_our_node_id() {
		return Err(NodeError::InvalidRequest("that is this node".into()));
	}
	let amount = req.amount_msat.or(invoice_amount).ok_or_else(|| {
		NodeError::InvalidAmount("amount_msat is required for this destination".into())
	})?;
	check_amount_msat(amount)?;
	let payment_params = routing.limits.apply(payment_params);
	let mut params = RouteParameters::from_payment_params_and_value(payment_params, amount);
	if req.max_fee_msat.is_some() {
		params.max_total_routing_fee_msat = req.max_fee_msat;
	}
	Ok((destination, params))
}

fn describe(routing: &Routing, route: &Route) -> RouteInfo {
	let paths: Vec<RoutePathInfo> =
		route.paths.iter().map(|path| describe_path(routing, path)).collect();
	RouteInfo {
		amount_msat: paths.iter().map(|p| p.amount_msat).sum(),
		fee_msat: paths.iter().map(|p| p.fee_msat).sum(),
		total_cltv_expiry_delta: paths.iter().map(|p| p.total_cltv_expiry_delta).max().unwrap_or(0),
		success_probability: paths.iter().map(|p| p.success_probability).product(),
		paths,
	}
}

fn describe_path(routing: &Routing, path: &Path) -> RoutePathInfo {
	let params = ProbabilisticScoringFeeParameters::default();
	let scorer = routing.scorer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
	let hops = &path.hops;
	// The amount over a channel is what the destination gets plus every later node's fee.
	let mut carried = vec![0u64; hops.len()];
	let mut downstream = 0u64;
	for (i, hop) in hops.iter().enumerate().rev() {
		downstream = downstream.saturating_add(hop.fee_msat);
		carried[i] = downstream;
	}
	let last = hops.len().saturating_sub(1);
	let described: Vec<RouteHopInfo> = hops
		.iter()
		.enumerate()
		.map(|(i, hop)| {
			let target = NodeId::from_pubkey(&hop.pubkey);
			let probability = if i == 0 {
				Some(1.0)
			} else {
				scorer.live_estimated_payment_success_probability(
					hop.short_channel_id,
					&target,
					carried[i],
					&params,
				)
			};
			RouteHopInfo {
				node_id: hop.pubkey.to_string(),
				short_channel_id: format_scid(hop.short_channel_id),
				announced: hop.maybe_announced_channel,
				amount_msat: carried[i],
				fee_msat: if i == last { 0 } else { hop.fee_msat },
				cltv_expiry_delta: hop.cltv_expiry_delta,
				success_probability: probability,
			}
		})
		.collect();
	RoutePathInfo {
		amount_msat: path.final_value_msat(),
		fee_msat: path.fee_msat(),
		total_cltv_expiry_delta: hops.iter().map(|h| h.cltv_expiry_delta).sum(),
		success_probability: described.iter().filter_map(|h| h.success_probability).product(),
		hops: described,
	}
}
