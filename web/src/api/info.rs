//! `GET /v1/info`, `GET /v1/balance`.

use fulgur_node::{Balance, Node, NodeInfo};

use crate::error::ApiError;

/// `GET /v1/info`: node id, network, chain tip, sync state, counts.
pub(crate) async fn handle_info(node: Node, _req: ()) -> Result<NodeInfo, ApiError> {
	Ok(node.info())
}

/// `GET /v1/balance`: on-chain and Lightning balances.
pub(crate) async fn handle_balance(node: Node, _req: ()) -> Result<Balance, ApiError> {
	Ok(node.balance())
}
