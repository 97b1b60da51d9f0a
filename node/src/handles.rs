//! What a running node holds: its handles, one per concern, each built by the builder with
//! exactly the parts it uses, and the ordered list it stops by. [`crate::Node`] is this,
//! shared.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use bitcoin::Network;

use crate::api_keys::ApiKeys;
use crate::chain::SyncStatus;
use crate::channels::Channels;
use crate::forwards::Forwards;
use crate::journal::Journal;
use crate::onchain::Onchain;
use crate::payment::Payments;
use crate::peers::Peers;
use crate::routing::Routing;
use crate::shutdown::{Shutdown, StopSignal};
use crate::store::DynStore;
use crate::tower::Towers;
use crate::webhooks::WebhookDelivery;

/// What a node holds: its handles, one per concern, and how it stops.
pub(crate) struct Handles {
	/// The chain.
	pub(crate) network: Network,
	/// The address peers reach us on.
	pub(crate) listen_addr: SocketAddr,
	/// The store (for its counters).
	pub(crate) store: Arc<DynStore>,
	/// The key sealing secrets in the store (PostgreSQL with a secrets key only).
	pub(crate) secrets_key: Option<crate::sealing::SecretsKey>,
	/// Paying and invoicing.
	pub(crate) payments: Payments,
	/// Opening, listing and closing channels.
	pub(crate) channels: Channels,
	/// Forwarding records.
	pub(crate) forwards: Forwards,
	/// Connections and remembered peers.
	pub(crate) peers: Peers,
	/// The on-chain wallet.
	pub(crate) onchain: Onchain,
	/// Routes, probes and the graph.
	pub(crate) routing: Routing,
	/// The event log.
	pub(crate) journal: Arc<Journal>,
	/// Scoped API keys.
	pub(crate) api_keys: ApiKeys,
	/// Webhook registrations and their workers.
	pub(crate) webhooks: WebhookDelivery,
	/// The node's key, for signing messages.
	pub(crate) keys: Arc<crate::keys::NodeKeysManager>,
	/// The tower client, when towers are configured.
	pub(crate) towers: Option<Arc<Towers>>,
	/// True once caught up with bitcoind's tip.
	pub(crate) synced: Arc<AtomicBool>,
	/// Where the node stands with the chain, in words.
	pub(crate) sync_status: Arc<SyncStatus>,
	/// How long each start-up step took.
	pub(crate) startup_timings: Vec<(&'static str, std::time::Duration)>,
	/// `--receive-delay`'s gate.
	pub(crate) receive_gate: Arc<crate::receive_delay::ReceiveGate>,
	/// Resolves once the node is stopping.
	pub(crate) stop: StopSignal,
	/// The stages of stopping, in order.
	pub(crate) shutdown: Shutdown,
	/// Raised when this process lost the right to act as the node (its leader lease).
	pub(crate) fence: crate::fence::Fence,
}
