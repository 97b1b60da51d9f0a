//! `POST /v1/routes`, `POST /v1/probes`, `GET /v1/graph`, `GET /v1/graph/nodes/{node_id}`,
//! `GET /v1/graph/channels/{short_channel_id}`.

pub use fulgur_api::wire::routing::{
	GraphChannel, GraphChannelRequest, GraphNode, GraphNodeRequest, GraphSummary, ProbeResponse,
	RoutesRequest, RoutesResponse,
};
use fulgur_node::Node;

use super::blocking;
use crate::convert::{parse, routes_request, ToWire};
use crate::error::ApiError;

/// `POST /v1/routes`: candidate routes with hops, fees, CLTV and success estimates.
pub(crate) async fn handle_find_routes(
	node: Node, req: RoutesRequest,
) -> Result<RoutesResponse, ApiError> {
	// Pathfinding is CPU work of up to tens of milliseconds: keep it off the I/O workers.
	let req = routes_request(req)?;
	blocking(move || Ok(node.find_routes(&req)?.into_wire())).await
}

/// `POST /v1/probes`: probes along the route a payment would take.
pub(crate) async fn handle_probe(
	node: Node, req: RoutesRequest,
) -> Result<ProbeResponse, ApiError> {
	let req = routes_request(req)?;
	blocking(move || Ok(ProbeResponse { probes_sent: node.probe(&req)? })).await
}

/// `GET /v1/graph`: node and channel counts.
pub(crate) async fn handle_graph(node: Node, _req: ()) -> Result<GraphSummary, ApiError> {
	blocking(move || Ok(node.graph_summary().into_wire())).await
}

/// `GET /v1/graph/nodes/{node_id}`.
pub(crate) async fn handle_graph_node(
	node: Node, req: GraphNodeRequest,
) -> Result<GraphNode, ApiError> {
	let key = parse::node_id(&req.node_id)?;
	let found = node.graph_node(&key);
	let found = found
		.ok_or_else(|| ApiError::not_found(format!("node {} is not in the graph", req.node_id)))?;
	Ok(found.into_wire())
}

/// `GET /v1/graph/channels/{short_channel_id}`.
pub(crate) async fn handle_graph_channel(
	node: Node, req: GraphChannelRequest,
) -> Result<GraphChannel, ApiError> {
	let scid = parse::short_channel_id(&req.short_channel_id)?;
	let found = node.graph_channel(scid).ok_or_else(|| {
		ApiError::not_found(format!("channel {} is not in the graph", req.short_channel_id))
	})?;
	Ok(found.into_wire())
}
