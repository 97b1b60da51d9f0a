//! `GET /v1/peers`, `POST /v1/peers`, `DELETE /v1/peers/{node_id}`.

use serde::{Deserialize, Serialize};

use super::Validate;

/// A peer we know of.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PeerInfo {
	/// The peer's node id.
	pub node_id: String,
	/// The address we reach it on, when known.
	pub address: Option<String>,
	/// Whether a connection is up.
	pub connected: bool,
	/// Whether we reconnect to it on start and on loss (true for channel peers).
	pub persisted: bool,
}

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
