//! `GET /v1/towers`: the watchtowers the node hands revoked states to.

use fulgur_node::tower::TowerStatus;
use fulgur_node::Node;
use serde::{Deserialize, Serialize};

use super::blocking;
use crate::error::ApiError;

/// `GET /v1/towers` answer; `towers` is empty when none is configured.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListTowersResponse {
	/// Each tower with its delivery state.
	pub towers: Vec<TowerStatus>,
	/// Appointments waiting for at least one tower.
	pub outbox: u64,
}

pub(crate) async fn handle_list_towers(
	node: Node, _req: (),
) -> Result<ListTowersResponse, ApiError> {
	blocking(move || {
		Ok(ListTowersResponse {
			towers: node.towers().unwrap_or_default(),
			outbox: node.tower_outbox_len(),
		})
	})
	.await
}
