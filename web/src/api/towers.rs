//! `GET /v1/towers`: the watchtowers the node hands revoked states to.

pub use fulgur_api::wire::towers::{ListTowersResponse, TowerStatus};
use fulgur_node::Node;

use super::blocking;
use crate::convert::ToWire;
use crate::error::ApiError;

/// `GET /v1/towers`: each configured tower with its delivery state, and the outbox.
pub(crate) async fn handle_list_towers(
	node: Node, _req: (),
) -> Result<ListTowersResponse, ApiError> {
	blocking(move || {
		Ok(ListTowersResponse {
			towers: node.towers().unwrap_or_default().into_wire(),
			outbox: node.tower_outbox_len(),
		})
	})
	.await
}
