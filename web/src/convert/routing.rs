//! Routes and the gossiped graph.

use fulgur_api::wire::routing::{
	ChannelPolicy, GraphChannel, GraphNode, GraphSummary, RouteHopInfo, RouteInfo, RoutePathInfo,
	RoutesRequest, RoutesResponse,
};
use fulgur_node::routing as node;
use fulgur_node::routing::graph;

use super::{field_by_field, parse};
use crate::error::ApiError;

field_by_field! {
	node::RouteHopInfo => RouteHopInfo {
		node_id, short_channel_id, announced, amount_msat, fee_msat, cltv_expiry_delta,
		success_probability,
	}
	node::RoutePathInfo => RoutePathInfo {
		amount_msat, fee_msat, total_cltv_expiry_delta, success_probability, hops,
	}
	node::RouteInfo => RouteInfo {
		amount_msat, fee_msat, total_cltv_expiry_delta, success_probability, paths,
	}
	node::RoutesResponse => RoutesResponse { destination, routes }
	graph::GraphSummary => GraphSummary {
		node_count, channel_count, channel_count_both_directions, total_capacity_sat,
	}
	graph::GraphNode => GraphNode { node_id, alias, addresses, last_update, channels }
	graph::ChannelPolicy => ChannelPolicy {
		enabled, base_fee_msat, fee_ppm, cltv_expiry_delta, htlc_minimum_msat, htlc_maximum_msat,
		last_update,
	}
	graph::GraphChannel => GraphChannel {
		short_channel_id, short_channel_id_u64, node_one, node_two, capacity_sat, one_to_two,
		two_to_one,
	}
}

/// The node's request for what a `POST /v1/routes` or `POST /v1/probes` body asks.
pub(crate) fn routes_request(req: RoutesRequest) -> Result<node::RoutesRequest, ApiError> {
	let RoutesRequest { node_id, invoice, amount_msat, max_fee_msat, max_routes } = req;
	let destination = match (node_id, invoice) {
		(Some(node_id), None) => node::RouteDestination::Node(parse::node_id(&node_id)?),
		(None, Some(invoice)) => node::RouteDestination::Invoice(invoice),
		// The body's validation refuses these already.
		_ => return Err(ApiError::invalid_request("give exactly one of node_id and invoice")),
	};
	Ok(node::RoutesRequest { destination, amount_msat, max_fee_msat, max_routes })
}
