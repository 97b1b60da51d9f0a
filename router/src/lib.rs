//! fulgur-router: the network graph, the scorer and pathfinding.
//!
//! The node owns none of these: it asks this crate to load them from its store, and hands the
//! router to LDK's `ChannelManager`. Persistence goes through LDK's `KVStoreSync`, so this crate
//! knows nothing of the node's storage engine.
#![deny(missing_docs)]

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use lightning::bitcoin::Network;
use lightning::io::{self, Cursor};
use lightning::routing::gossip;
use lightning::routing::router::DefaultRouter;
use lightning::routing::scoring::{
	ProbabilisticScorer, ProbabilisticScoringDecayParameters, ProbabilisticScoringFeeParameters,
};
use lightning::routing::utxo::UtxoLookup;
use lightning::sign::EntropySource;
use lightning::util::logger::Logger;
use lightning::util::persist::{
	KVStoreSync, NETWORK_GRAPH_PERSISTENCE_KEY, NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE,
	NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE, SCORER_PERSISTENCE_KEY,
	SCORER_PERSISTENCE_PRIMARY_NAMESPACE, SCORER_PERSISTENCE_SECONDARY_NAMESPACE,
};
use lightning::util::ser::{ReadableArgs, Writeable};

pub mod synthetic;
pub mod utxo_check;

pub use utxo_check::{ChainGossipCheck, ChainSource};

/// The gossiped network graph.
pub type NetworkGraph<L> = gossip::NetworkGraph<L>;
/// The probabilistic scorer, learning from every payment and probe.
pub type Scorer<L> = ProbabilisticScorer<Arc<NetworkGraph<L>>, L>;
/// Checks channel announcements against the chain; `None` accepts them unchecked.
pub type ChainUtxoLookup = dyn UtxoLookup + Send + Sync;
/// Gossip over the peer-to-peer network.
pub type P2PGossipSync<L> = gossip::P2PGossipSync<Arc<NetworkGraph<L>>, Arc<ChainUtxoLookup>, L>;
/// The payment router LDK's `ChannelManager` asks for routes.
pub type Router<L, ES> = DefaultRouter<
	Arc<NetworkGraph<L>>,
	L,
	ES,
	Arc<Mutex<Scorer<L>>>,
	ProbabilisticScoringFeeParameters,
	Scorer<L>,
>;
/// Finds paths for onion messages and builds blinded paths (BOLT12).
pub type MessageRouter<L, ES> =
	lightning::onion_message::messenger::DefaultMessageRouter<Arc<NetworkGraph<L>>, L, ES>;

/// Everything routing needs, loaded from the store (or new) and wired together.
pub struct Routing<L: Deref + Clone + Send + Sync + 'static, ES: Deref + Clone>
where
	L::Target: Logger,
	ES::Target: EntropySource,
{
	/// The graph.
	pub graph: Arc<NetworkGraph<L>>,
	/// The scorer, shared with the router and the background processor that persists it.
	pub scorer: Arc<Mutex<Scorer<L>>>,
	/// The payment router.
	pub router: Arc<Router<L, ES>>,
	/// The onion message router.
	pub message_router: Arc<MessageRouter<L, ES>>,
	/// Gossip handler for the peer manager.
	pub gossip_sync: Arc<P2PGossipSync<L>>,
	/// The check of channel announcements against the chain, when there is a chain to ask.
	pub gossip_check: Option<Arc<ChainGossipCheck<L>>>,
}

impl<L: Deref + Clone + Send + Sync + 'static, ES: Deref + Clone> Routing<L, ES>
where
	L::Target: Logger,
	ES::Target: EntropySource,
{
	/// Loads the graph and scorer from `store` (starting empty when absent) and builds the
	/// routers. A stored graph for another network is an error, not silently replaced.
	///
	/// With a `chain`, channel announcements are accepted only for unspent funding outputs
	/// (looked up on the current tokio runtime); without one they are taken on trust.
	pub fn load<K: Deref>(
		store: K, network: Network, logger: L, entropy: ES, chain: Option<Arc<ChainSource>>,
	) -> Result<Self, io::Error>
	where
		K::Target: KVStoreSync,
	{
		let graph = Arc::new(read_graph(&*store, network, logger.clone())?);
		let scorer =
			Arc::new(Mutex::new(read_scorer(&*store, Arc::clone(&graph), logger.clone())?));
		let router = Arc::new(DefaultRouter::new(
			Arc::clone(&graph),
			logger.clone(),
			entropy.clone(),
			Arc::clone(&scorer),
			ProbabilisticScoringFeeParameters::default(),
		));
		let message_router = Arc::new(MessageRouter::new(Arc::clone(&graph), entropy));
		let gossip_check = match (chain, tokio::runtime::Handle::try_current()) {
			(Some(chain), Ok(runtime)) => {
				Some(Arc::new(ChainGossipCheck::new(chain, Arc::clone(&graph), runtime)))
			}
			(Some(_), Err(e)) => return Err(io::Error::new(io::ErrorKind::Other, e.to_string())),
			(None, _) => None,
		};
		let lookup = gossip_check.clone().map(|check| check as Arc<ChainUtxoLookup>);
		let gossip_sync = Arc::new(gossip::P2PGossipSync::new(Arc::clone(&graph), lookup, logger));
		if let Some(check) = &gossip_check {
			check.forward_through(&gossip_sync);
		}
		Ok(Routing { graph, scorer, router, message_router, gossip_sync, gossip_check })
	}

	/// Writes the graph to the store (the background processor does this periodically too).
	pub fn persist_graph<K: Deref>(&self, store: K) -> Result<(), io::Error>
	where
		K::Target: KVStoreSync,
	{
		store.write(
			NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE,
			NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE,
			NETWORK_GRAPH_PERSISTENCE_KEY,
			self.graph.encode(),
		)
	}
}

fn read_graph<K: KVStoreSync + ?Sized, L: Deref>(
	store: &K, network: Network, logger: L,
) -> Result<NetworkGraph<L>, io::Error>
where
	L::Target: Logger,
{
	let bytes = match store.read(
		NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE,
		NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE,
		NETWORK_GRAPH_PERSISTENCE_KEY,
	) {
		Ok(bytes) => bytes,
		Err(e) if e.kind() == io::ErrorKind::NotFound => {
			return Ok(NetworkGraph::new(network, logger))
		}
		Err(e) => return Err(e),
	};
	let graph = NetworkGraph::read(&mut Cursor::new(bytes), logger)
		.map_err(|e| invalid_data(format!("network graph unreadable: {e:?}")))?;
	if graph.get_chain_hash()
		!= lightning::bitcoin::constants::ChainHash::using_genesis_block(network)
	{
		return Err(invalid_data(format!("stored network graph is not for {network}")));
	}
	Ok(graph)
}

fn read_scorer<K: KVStoreSync + ?Sized, L: Deref + Clone>(
	store: &K, graph: Arc<NetworkGraph<L>>, logger: L,
) -> Result<Scorer<L>, io::Error>
where
	L::Target: Logger,
{
	let params = ProbabilisticScoringDecayParameters::default();
	match store.read(
		SCORER_PERSISTENCE_PRIMARY_NAMESPACE,
		SCORER_PERSISTENCE_SECONDARY_NAMESPACE,
		SCORER_PERSISTENCE_KEY,
	) {
		Ok(bytes) => Scorer::read(&mut Cursor::new(bytes), (params, graph, logger))
			.map_err(|e| invalid_data(format!("scorer unreadable: {e:?}"))),
		Err(e) if e.kind() == io::ErrorKind::NotFound => {
			Ok(ProbabilisticScorer::new(params, graph, logger))
		}
		Err(e) => Err(e),
	}
}

fn invalid_data(message: String) -> io::Error {
	io::Error::new(io::ErrorKind::InvalidData, message)
}
