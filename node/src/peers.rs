//! Peers: connecting over TCP with the Noise handshake, remembering them, reconnecting (which
//! connections reach the journal is `peer_events`' business).

use std::net::SocketAddr;
use std::sync::Arc;

use bitcoin::secp256k1::PublicKey;
use serde::{Deserialize, Serialize};

use crate::config::{PEER_CONNECT_TIMEOUT, PEER_HANDSHAKE_POLL_INTERVAL};
use crate::keys::NodeKeysManager;
use crate::logger::FulgurLogger;
use crate::model::PeerInfo;
use crate::records::stored::peer::StoredPeer;
use crate::records::{Record, RecordStore};
use crate::types::{ChainMonitor, Logger, OnionMessenger, P2PGossipSync};
use crate::NodeError;

/// The peer manager: Noise over TCP, message routing to the handlers (channel messages through
/// `receive_delay`'s handler, which is why this type is spelled here and not in `types`).
pub type PeerManager = lightning::ln::peer_handler::PeerManager<
	lightning_net_tokio::SocketDescriptor,
	Arc<crate::receive_delay::ChannelHandler>,
	Arc<P2PGossipSync>,
	Arc<OnionMessenger>,
	Arc<Logger>,
	Arc<crate::peer_events::PeerEvents>,
	Arc<NodeKeysManager>,
	Arc<ChainMonitor>,
>;

/// Where the peers we reconnect to are kept, by node id.
pub(crate) const PEERS_NAMESPACE: &str = "fulgur_peers";

/// A peer we reconnect to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PeerRecord {
	/// Node id, hex.
	pub node_id: String,
	/// `host:port`.
	pub address: String,
}

impl Record for PeerRecord {
	type Stored = StoredPeer;

	fn to_stored(&self) -> StoredPeer {
		let PeerRecord { node_id, address } = self.clone();
		StoredPeer { node_id, address }
	}

	fn from_stored(stored: StoredPeer) -> PeerRecord {
		let StoredPeer { node_id, address } = stored;
		PeerRecord { node_id, address }
	}
}

/// The peers handle: connections through the peer manager and the peers we remember.
#[derive(Clone)]
pub(crate) struct Peers {
	/// Noise connections and message routing.
	pub(crate) peer_manager: Arc<PeerManager>,
	/// Peers to reconnect to, by node id.
	pub(crate) remembered: Arc<RecordStore<PeerRecord>>,
	/// Our own node id (a connection to it is refused).
	pub(crate) our_node_id: PublicKey,
	/// Log.
	pub(crate) logger: Arc<FulgurLogger>,
}

/// Checks that `address` is `host:port`, without looking the host up.
pub fn check_address(address: &str) -> Result<(), NodeError> {
	let invalid = || NodeError::InvalidAddress(format!("{address:?} is not a host:port"));
	let (host, port) = address.trim().rsplit_once(':').ok_or_else(invalid)?;
	if host.is_empty() || port.parse::<u16>().is_err() {
		return Err(invalid());
	}
	Ok(())
}

/// Resolves `host:port` to a socket address. A DNS lookup can take seconds, so it runs on
/// tokio's blocking threads (`lookup_host`), never on a runtime worker.
pub async fn resolve_address(address: &str) -> Result<SocketAddr, NodeError> {
	check_address(address)?;
	tokio::net::lookup_host(address.trim())
		.await
		.ok()
		.and_then(|mut addrs| addrs.next())
		.ok_or_else(|| NodeError::InvalidAddress(format!("{address:?}: no such host")))
}

impl Peers {
	/// Connects (if not connected yet) and remembers the peer for reconnection.
	pub async fn connect(&self, pubkey: PublicKey, address: &str) -> Result<(), NodeError> {
		let addr = resolve_address(address).await?;
		if pubkey == self.our_node_id {
			return Err(NodeError::InvalidRequest("cannot connect to ourselves".into()));
		}
		self.connect_to(pubkey, addr).await?;
		let record = PeerRecord { node_id: pubkey.to_string(), address: address.to_string() };
		self.remembered.put(&record.node_id.clone(), record).await
	}

	/// Connects and waits for the handshake to finish.
	pub(crate) async fn connect_to(
		&self, pubkey: PublicKey, addr: SocketAddr,
	) -> Result<(), NodeError> {
		if self.peer_manager.peer_by_node_id(&pubkey).is_some() {
			return Ok(());
		}
		let unreachable =
			|why: String| NodeError::PeerUnreachable(format!("{pubkey}@{addr}: {why}"));
		let connection = tokio::time::timeout(
			PEER_CONNECT_TIMEOUT,
			lightning_net_tokio::connect_outbound(Arc::clone(&self.peer_manager), pubkey, addr),
		)
		.await
		.map_err(|_| unreachable("connection timed out".into()))?
		.ok_or_else(|| unreachable("connection refused".into()))?;
		let mut connection = Box::pin(connection);
		let deadline = tokio::time::Instant::now() + PEER_CONNECT_TIMEOUT;
		loop {
			tokio::select! {
				// The future ends when the connection does.
				_ = &mut connection => return Err(unreachable("disconnected during handshake".into())),
				_ = tokio::time::sleep(PEER_HANDSHAKE_POLL_INTERVAL) => {
					if self.peer_manager.peer_by_node_id(&pubkey).is_some() {
						// Keep driving the connection in the background.
						tokio::spawn(connection);
						return Ok(());
					}
					if tokio::time::Instant::now() > deadline {
						return Err(unreachable("handshake timed out (wrong node id?)".into()));
					}
				},
			}
		}
	}

	/// Disconnects and forgets a peer.
	pub async fn disconnect(&self, pubkey: PublicKey) -> Result<(), NodeError> {
		let known = self.remembered.get(&pubkey.to_string()).is_some();
		let connected = self.peer_manager.peer_by_node_id(&pubkey).is_some();
		if !known && !connected {
			return Err(NodeError::NotFound(format!("no peer {pubkey}")));
		}
		// Forgotten first, so the reconnect loop does not bring it back.
		if known {
			self.remembered.remove(&pubkey.to_string()).await?;
		}
		self.peer_manager.disconnect_by_node_id(pubkey);
		Ok(())
	}

	/// Known and connected peers.
	pub fn list(&self) -> Vec<PeerInfo> {
		let connected = self.peer_manager.list_peers();
		let mut peers: Vec<PeerInfo> = self
			.remembered
			.all()
			.into_iter()
			.map(|record| PeerInfo {
				connected: connected
					.iter()
					.any(|p| p.counterparty_node_id.to_string() == record.node_id),
				node_id: record.node_id,
				address: Some(record.address),
				persisted: true,
			})
			.collect();
		for peer in connected {
			let node_id = peer.counterparty_node_id.to_string();
			if !peers.iter().any(|p| p.node_id == node_id) {
				peers.push(PeerInfo {
					node_id,
					address: peer.socket_address.map(|a| a.to_string()),
					connected: true,
					persisted: false,
				});
			}
		}
		peers.sort_by(|a, b| a.node_id.cmp(&b.node_id));
		peers
	}

	/// Reconnects to every remembered peer that is offline.
	pub async fn reconnect_all(&self) {
		for record in self.remembered.all() {
			let Ok(pubkey) = record.node_id.parse::<PublicKey>() else { continue };
			if self.peer_manager.peer_by_node_id(&pubkey).is_some() {
				continue;
			}
			let Ok(addr) = resolve_address(&record.address).await else { continue };
			if let Err(e) = self.connect_to(pubkey, addr).await {
				crate::debug!(self.logger, "reconnect: {e}");
			}
		}
	}

	/// How many peers are connected.
	pub fn connected_count(&self) -> usize {
		self.peer_manager.list_peers().len()
	}
}
