//! `GET /v1/peers`, `POST /v1/peers`, `DELETE /v1/peers/{node_id}`.

use fulgur_node::{Node, PeerInfo};
use serde::{Deserialize, Serialize};

use super::{paginate, PageQuery, Validate};
use crate::error::ApiError;

/// `GET /v1/peers` answer: one page, by node id.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListPeersResponse {
	/// This page of known peers, connected or not.
	pub peers: Vec<PeerInfo>,
	/// Peers in all pages.
	pub total: usize,
	/// Pass as `cursor` for the next page; `null` on the last page.
	pub next_cursor: Option<String>,
}

/// `POST /v1/peers` body.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConnectPeerRequest {
	/// The peer's node id (hex).
	pub node_id: String,
	/// Where to reach it, `host:port`.
	pub address: String,
}

impl Validate for ConnectPeerRequest {}

/// `POST /v1/peers` answer: the peer as the node now lists it, or `{}` if it does not
/// list it (it disconnected right away).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConnectPeerResponse {
	/// The connected peer.
	#[serde(flatten)]
	pub peer: Option<PeerInfo>,
}

/// `DELETE /v1/peers/{node_id}` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisconnectPeerRequest {
	/// The peer to disconnect and forget.
	pub node_id: String,
}

/// `DELETE /v1/peers/{node_id}` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DisconnectPeerResponse {
	/// The peer disconnected and forgotten.
	pub node_id: String,
}

/// `GET /v1/peers?limit=&cursor=`: one page of known peers.
pub(crate) async fn handle_list_peers(
	node: Node, req: PageQuery,
) -> Result<ListPeersResponse, ApiError> {
	let mut peers = node.list_peers();
	peers.sort_by(|a, b| a.node_id.cmp(&b.node_id));
	let page = paginate(peers, &req)?;
	Ok(ListPeersResponse { peers: page.items, total: page.total, next_cursor: page.next_cursor })
}

/// `POST /v1/peers`: connects to a peer and remembers it.
pub(crate) async fn handle_connect_peer(
	node: Node, req: ConnectPeerRequest,
) -> Result<ConnectPeerResponse, ApiError> {
	node.connect_peer(&req.node_id, &req.address).await?;
	let peer = node.list_peers().into_iter().find(|p| p.node_id.eq_ignore_ascii_case(&req.node_id));
	Ok(ConnectPeerResponse { peer })
}

/// `DELETE /v1/peers/{node_id}`: disconnects a peer and forgets it.
pub(crate) async fn handle_disconnect_peer(
	node: Node, req: DisconnectPeerRequest,
) -> Result<DisconnectPeerResponse, ApiError> {
	let node_id = req.node_id;
	node.disconnect_peer(&node_id).await?;
	Ok(DisconnectPeerResponse { node_id })
}
