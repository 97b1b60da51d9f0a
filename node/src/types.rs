//! Every generic LDK type, spelled out once, so the rest of the node says `ChannelManager`.

use std::sync::Arc;

use lightning::chain::chainmonitor::{self, AsyncPersister};
use lightning::chain::Filter;
use lightning::ln::peer_handler::IgnoringMessageHandler;
use lightning::sign::InMemorySigner;
use lightning::util::native_async::FutureSpawner;
use lightning::util::persist::MonitorUpdatingPersisterAsync;
use lightning::util::sweep::OutputSweeper;

use crate::chain::BitcoindClient;
use crate::keys::NodeKeysManager;
use crate::logger::FulgurLogger;
use crate::persistence::EngineStore;
use crate::wallet::OnchainWallet;

/// The logger every LDK object gets.
pub type Logger = FulgurLogger;
/// The chain filter; we feed full blocks, so none is registered.
pub type ChainFilter = dyn Filter + Send + Sync;

/// Monitor persistence: full monitors plus update deltas in the sled store, written
/// asynchronously so no peer lock waits on the disk (the store's group commit makes each write
/// durable before LDK hears it completed).
pub type Persister = MonitorUpdatingPersisterAsync<
	Arc<EngineStore>,
	TokioSpawner,
	Arc<Logger>,
	Arc<NodeKeysManager>,
	Arc<NodeKeysManager>,
	Arc<BitcoindClient>,
	Arc<BitcoindClient>,
>;

/// The chain monitor watching every channel's monitor, in async persistence mode.
pub type ChainMonitor = chainmonitor::ChainMonitor<
	InMemorySigner,
	Arc<ChainFilter>,
	Arc<BitcoindClient>,
	Arc<BitcoindClient>,
	Arc<Logger>,
	AsyncPersister<
		Arc<EngineStore>,
		TokioSpawner,
		Arc<Logger>,
		Arc<NodeKeysManager>,
		Arc<NodeKeysManager>,
		Arc<BitcoindClient>,
		Arc<BitcoindClient>,
	>,
	Arc<NodeKeysManager>,
>;

/// Runs LDK's background futures (monitor writes) on the node's tokio runtime.
pub struct TokioSpawner(pub tokio::runtime::Handle);

impl FutureSpawner for TokioSpawner {
	fn spawn<T: std::future::Future<Output = ()> + Send + 'static>(&self, future: T) {
		self.0.spawn(future);
	}
}

/// The chain monitor as the channel manager sees it, with the tower client in between.
pub type TowerWatch = crate::tower::watch::TowerWatch<ChainMonitor>;

/// The channel manager.
pub type ChannelManager = lightning::ln::channelmanager::ChannelManager<
	Arc<TowerWatch>,
	Arc<BitcoindClient>,
	Arc<NodeKeysManager>,
	Arc<NodeKeysManager>,
	Arc<NodeKeysManager>,
	Arc<BitcoindClient>,
	Arc<fulgur_router::Router<Arc<Logger>, Arc<NodeKeysManager>>>,
	Arc<fulgur_router::MessageRouter<Arc<Logger>, Arc<NodeKeysManager>>>,
	Arc<Logger>,
>;

/// The network graph.
pub type NetworkGraph = fulgur_router::NetworkGraph<Arc<Logger>>;

/// The payment router.
pub type Router = fulgur_router::Router<Arc<Logger>, Arc<NodeKeysManager>>;

/// The probabilistic scorer.
pub type Scorer = fulgur_router::Scorer<Arc<Logger>>;

/// Gossip over the peer-to-peer network.
pub type P2PGossipSync = fulgur_router::P2PGossipSync<Arc<Logger>>;

/// The onion messenger (BOLT12 and blinded paths).
pub type OnionMessenger = lightning::onion_message::messenger::OnionMessenger<
	Arc<NodeKeysManager>,
	Arc<NodeKeysManager>,
	Arc<Logger>,
	Arc<ChannelManager>,
	Arc<fulgur_router::MessageRouter<Arc<Logger>, Arc<NodeKeysManager>>>,
	Arc<ChannelManager>,
	Arc<ChannelManager>,
	IgnoringMessageHandler,
	IgnoringMessageHandler,
>;

impl crate::persistence::barrier::ManagerSource for ChannelManager {
	fn serialize(&self, capacity: usize) -> Result<Vec<u8>, lightning::io::Error> {
		// One pass: LDK's `encode` serialises twice (once to measure), and each pass holds the
		// manager's consistency lock, stopping every channel.
		let mut bytes = Vec::with_capacity(capacity + capacity / 8);
		lightning::util::ser::Writeable::write(self, &mut bytes)?;
		Ok(bytes)
	}

	fn take_needs_persistence(&self) -> bool {
		self.get_and_clear_needs_persistence()
	}
}

/// Sweeps outputs of closed channels back to the on-chain wallet.
pub type Sweeper = OutputSweeper<
	Arc<BitcoindClient>,
	Arc<OnchainWallet>,
	Arc<BitcoindClient>,
	Arc<ChainFilter>,
	Arc<EngineStore>,
	Arc<Logger>,
	Arc<NodeKeysManager>,
>;

/// Answers anchor-channel `BumpTransaction` events from the wallet's UTXOs.
pub type BumpTxEventHandler = lightning::events::bump_transaction::BumpTransactionEventHandler<
	Arc<BitcoindClient>,
	Arc<lightning::events::bump_transaction::Wallet<Arc<OnchainWallet>, Arc<Logger>>>,
	Arc<NodeKeysManager>,
	Arc<Logger>,
>;
