//! `GET /v1/peers`, `POST /v1/peers`, `DELETE /v1/peers/{node_id}`.

pub use fulgur_api::wire::peers::{
	ConnectPeerRequest, ConnectPeerResponse, DisconnectPeerRequest, DisconnectPeerResponse,
	ListPeersResponse,
};
use fulgur_node::Node;

use super::{paginate, PageQuery};
use crate::convert::{parse, ToWire};
use crate::error::ApiError;

/// `GET /v1/peers?limit=&cursor=`: one page of known peers.
pub(crate) async fn handle_list_peers(
	node: Node, req: PageQuery,
) -> Result<ListPeersResponse, ApiError> {
	let mut peers = node.list_peers();
	peers.sort_by(|a, b| a.node_id.cmp(&b.node_id));
	let page = paginate(peers, &req)?;
	Ok(ListPeersResponse {
		peers: page.items.into_wire(),
		total: page.total,
		next_cursor: page.next_cursor,
	})
}

/// `POST /v1/peers`: connects to a peer and remembers it.
pub(crate) async fn handle_connect_peer(
	node: Node, req: ConnectPeerRequest,
) -> Result<ConnectPeerResponse, ApiError> {
	let key = parse::node_id(&req.node_id)?;
	node.connect_peer(key, &req.address).await?;
	let key = key.to_string();
	let peer = node.list_peers().into_iter().find(|p| p.node_id == key);
	Ok(ConnectPeerResponse { peer: peer.into_wire() })
}

/// `DELETE /v1/peers/{node_id}`: disconnects a peer and forgets it.
pub(crate) async fn handle_disconnect_peer(
	node: Node, req: DisconnectPeerRequest,
) -> Result<DisconnectPeerResponse, ApiError> {
	let node_id = req.node_id;
	node.disconnect_peer(parse::node_id(&node_id)?).await?;
	Ok(DisconnectPeerResponse { node_id })
}
