//! `POST /v1/routes`, `POST /v1/probes`, `GET /v1/graph`, `GET /v1/graph/nodes/{node_id}`,
//! `GET /v1/graph/channels/{short_channel_id}`.

use fulgur_node::routing::graph::{GraphChannel, GraphNode, GraphSummary};
use fulgur_node::Node;
use serde::{Deserialize, Serialize};

use super::{blocking, Validate};
use crate::error::ApiError;

/// `POST /v1/routes` and `POST /v1/probes` body: `{node_id | invoice, amount_msat}`.
pub use fulgur_node::routing::RoutesRequest;
/// `POST /v1/routes` answer: candidate routes, best first.
pub use fulgur_node::routing::RoutesResponse;

impl Validate for RoutesRequest {
	fn validate(&self) -> Result<(), ApiError> {
		if self.node_id.is_some() == self.invoice.is_some() {
			return Err(ApiError::invalid_request("give exactly one of node_id and invoice"));
		}
		if self.amount_msat == Some(0) {
			return Err(ApiError::invalid_amount("amount_msat must be greater than zero"));
		}
		Ok(())
	}
}

/// `POST /v1/probes` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProbeResponse {
	/// Probes sent; their outcomes teach the scorer.
	pub probes_sent: usize,
}

/// `GET /v1/graph/nodes/{node_id}` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphNodeRequest {
	/// The node's public key (hex).
	pub node_id: String,
}

/// `GET /v1/graph/channels/{short_channel_id}` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphChannelRequest {
	/// `BLOCKxTXxOUTPUT` or the number.
	pub short_channel_id: String,
}

/// `POST /v1/routes`: candidate routes with hops, fees, CLTV and success estimates.
pub(crate) async fn handle_find_routes(
	node: Node, req: RoutesRequest,
) -> Result<RoutesResponse, ApiError> {
	// Pathfinding is CPU work of up to tens of milliseconds: keep it off the I/O workers.
	blocking(move || Ok(node.find_routes(&req)?)).await
}

/// `POST /v1/probes`: probes along the route a payment would take.
pub(crate) async fn handle_probe(
	node: Node, req: RoutesRequest,
) -> Result<ProbeResponse, ApiError> {
	blocking(move || Ok(ProbeResponse { probes_sent: node.probe(&req)? })).await
}

/// `GET /v1/graph`: node and channel counts.
pub(crate) async fn handle_graph(node: Node, _req: ()) -> Result<GraphSummary, ApiError> {
	blocking(move || Ok(node.graph_summary())).await
}

/// `GET /v1/graph/nodes/{node_id}`.
pub(crate) async fn handle_graph_node(
	node: Node, req: GraphNodeRequest,
) -> Result<GraphNode, ApiError> {
	Ok(node.graph_node(&req.node_id)?)
}

/// `GET /v1/graph/channels/{short_channel_id}`.
pub(crate) async fn handle_graph_channel(
	node: Node, req: GraphChannelRequest,
) -> Result<GraphChannel, ApiError> {
	Ok(node.graph_channel(&req.short_channel_id)?)
}
