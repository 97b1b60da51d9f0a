//! `GET /v1/info`, `GET /v1/balance`.

use fulgur_api::wire::info::{Balance, NodeInfo};
use fulgur_node::Node;

use crate::convert::ToWire;
use crate::error::ApiError;

/// `GET /v1/info`: node id, network, chain tip, sync state, counts.
pub(crate) async fn handle_info(node: Node, _req: ()) -> Result<NodeInfo, ApiError> {
	Ok(node.info().into_wire())
}

/// `GET /v1/balance`: on-chain and Lightning balances.
pub(crate) async fn handle_balance(node: Node, _req: ()) -> Result<Balance, ApiError> {
	Ok(node.balance().into_wire())
}
