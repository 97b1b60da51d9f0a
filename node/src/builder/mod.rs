//! Builds a node in LDK's start-up order and starts its background tasks.
//!
//! The order matters: every component that follows the chain is brought to bitcoind's tip
//! before the chain monitor takes the channel monitors and before peers can connect.

use std::io::Cursor;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use bitcoin::bip32::{ChildNumber, Xpriv};
use bitcoin::secp256k1::Secp256k1;
use bitcoin::BlockHash;
use lightning::chain::chainmonitor;
use lightning::chain::{BestBlock, Listen};
use lightning::events::bump_transaction::{BumpTransactionEventHandler, Wallet as CoinSelector};
use lightning::ln::channelmanager::{ChainParameters, ChannelManagerReadArgs};
use lightning::ln::peer_handler::{IgnoringMessageHandler, MessageHandler};
use lightning::onion_message::messenger::OnionMessenger;
use lightning::sign::{EntropySource, NodeSigner};
use lightning::util::persist::{
	KVStoreSync, MonitorUpdatingPersisterAsync, OUTPUT_SWEEPER_PERSISTENCE_KEY,
	OUTPUT_SWEEPER_PERSISTENCE_PRIMARY_NAMESPACE, OUTPUT_SWEEPER_PERSISTENCE_SECONDARY_NAMESPACE,
};
use lightning::util::ser::ReadableArgs;
use lightning::util::sweep::OutputSweeper;
use lightning_block_sync::init::synchronize_listeners;
use lightning_block_sync::poll::Validate;
use lightning_block_sync::{BlockSource, Cache};

use crate::chain::{catch_up, BitcoindClient, StoredHeaders};
use crate::channel_stats::EngineStats;
use crate::channels::{Channels, PendingOpens};
use crate::config::StoreKind;
use crate::config::{NodeConfig, PERSISTER_MAX_PENDING_UPDATES};
use crate::event::EventHandler;
use crate::handles::Handles;
use crate::keys::NodeKeysManager;
use crate::logger::FulgurLogger;
use crate::onchain::Onchain;
use crate::payment::indexes::InvoiceIndexes;
use crate::payment::{keyspaces, Payments};
use crate::peers::{PeerRecord, Peers, PEERS_NAMESPACE};
use crate::persistence::{EngineStore, ManagerBarrier};
use crate::records::RecordStore;
use crate::routing::Routing;
use crate::shutdown::{Shutdown, StopSignal};
use crate::store::{DynStore, FsSyncStore, MemoryStore};
use crate::tasks::{ChainFollower, Processor};
use crate::types::{ChainFilter, ChannelManager, Persister, Sweeper, TokioSpawner};
use crate::wallet::OnchainWallet;
use crate::webhooks::WebhookDelivery;
use crate::{private_files, NodeError, Startup};

mod monitors;
mod setup;
mod standby;
mod start;

pub(crate) use fulgur_base::clock::unix_now_u32;
use setup::{open_sled, read_or_create_seed, starting_info, user_config, StartupClock};

const SEED_FILE: &str = "seed";
const DB_DIR: &str = "db";
const FS_STORE_DIR: &str = "fs-store";
/// Where the invoices we issued are kept, by payment hash.
const INVOICES_NAMESPACE: &str = "fulgur_invoices";
const LOG_FILE: &str = "fulgur.log";
/// BIP32 child under which the LDK seed is derived, apart from the wallet's BIP84 keys.
const LDK_SEED_CHILD: u32 = 535;
/// BIP32 child (hardened) of the key the node signs tower appointments with.
const TOWER_KEY_CHILD: u32 = 536;

/// Starts a node from `config`; returns its handles.
pub(crate) async fn build(config: NodeConfig, startup: Arc<Startup>) -> Result<Handles, NodeError> {
	let sync_status = Arc::clone(startup.sync_status());
	private_files::restrict_new_files();
	private_files::private_dir(&config.data_dir).map_err(|e| {
		NodeError::Persistence(format!("creating {}: {e}", config.data_dir.display()))
	})?;
	let tightened = private_files::privatize_tree(&config.data_dir).map_err(|e| {
		NodeError::Persistence(format!("making {} private: {e}", config.data_dir.display()))
	})?;

	// 1. Logger.
	let name = config.alias.clone();
	let logger = Arc::new(
		FulgurLogger::new(&config.data_dir.join(LOG_FILE), &name, config.log_level)
			.map_err(|e| NodeError::Persistence(format!("opening log: {e}")))?,
	);
	crate::info!(logger, "starting node in {}", config.data_dir.display());
	if tightened > 0 {
		crate::warn!(
			logger,
			"{tightened} files or directories were readable by others: now 0600/0700"
		);
	}
	let mut clock = StartupClock::new();

	// Raised when this process may no longer act as the node (its lease is lost): sends and
	// broadcasts stop, the store writes nothing, the node stops.
	let fence = crate::fence::Fence::new();

	// 2. bitcoind: block source, fee estimator, broadcaster.
	let bitcoind = Arc::new(
		BitcoindClient::connect(
			&config.bitcoind_rpc_addr,
			&config.bitcoind_rpc_user,
			&config.bitcoind_rpc_password,
			config.network,
			config.fee_rate_floor_sat_per_kw,
			config.fee_policy,
			Arc::clone(&logger),
		)
		.await?
		.fenced_by(fence.clone()),
	);

	clock.lap("bitcoind");
	// 3. Store and seed.
	if config.standby && config.store != StoreKind::Postgres {
		return Err(NodeError::InvalidRequest(
			"a standby waits for the leader lease of --store postgres; other stores have none"
				.into(),
		));
	}
	let store: Arc<DynStore> = match config.store {
		StoreKind::Sled => Arc::new(open_sled(&config.data_dir.join(DB_DIR)).await?),
		StoreKind::Memory => Arc::new(MemoryStore::new()),
		StoreKind::FsSync => Arc::new(FsSyncStore::new(config.data_dir.join(FS_STORE_DIR))),
		StoreKind::Postgres => {
			Arc::new(standby::open_postgres(&config, &fence, &logger, &sync_status).await?)
		}
	};
	let seed = match (&config.secrets_key, config.store) {
		(Some(key), StoreKind::Postgres) => {
			crate::secrets::load_or_create_seed(&*store, key, &config.data_dir.join(SEED_FILE))
				.await?
		}
		(Some(_), _) => {
			return Err(NodeError::InvalidRequest(
				"a secrets key seals the seed in PostgreSQL: it needs the postgres store".into(),
			))
		}
		(None, _) => {
			let path = config.data_dir.join(SEED_FILE);
			if !path.exists() {
				crate::secrets::refuse_new_seed_on_a_node(&*store).await?;
			}
			read_or_create_seed(&path)?
		}
	};
	let master = Xpriv::new_master(config.network, &seed)
		.map_err(|e| NodeError::Internal(format!("deriving master key: {e}")))?;

	clock.lap("store");
	// 4. Keys (from the seed alone), then the on-chain wallet, loaded and synced (blocking RPC)
	// on a thread of its own while step 5 reads the monitors.
	let ldk_seed = master
		.derive_priv(&Secp256k1::new(), &[ChildNumber::Hardened { index: LDK_SEED_CHILD }])
		.map_err(|e| NodeError::Internal(format!("deriving LDK seed: {e}")))?
		.private_key
		.secret_bytes();
	let keys = Arc::new(NodeKeysManager::new(&ldk_seed, Arc::clone(&logger)));
	let tower_key = master
		.derive_priv(&Secp256k1::new(), &[ChildNumber::Hardened { index: TOWER_KEY_CHILD }])
		.map_err(|e| NodeError::Internal(format!("deriving the tower key: {e}")))?
		.private_key;
	let wallet_load = {
		let (store, logger, cfg) = (Arc::clone(&store), Arc::clone(&logger), config.clone());
		tokio::task::spawn_blocking(move || {
			let started = std::time::Instant::now();
			let wallet = OnchainWallet::load_or_create(
				master,
				cfg.network,
				store,
				&cfg.bitcoind_rpc_addr,
				&cfg.bitcoind_rpc_user,
				&cfg.bitcoind_rpc_password,
				Arc::clone(&logger),
			)?;
			wallet.sync()?;
			crate::info!(logger, "on-chain wallet loaded and synced in {:?}", started.elapsed());
			Ok::<_, NodeError>(Arc::new(wallet))
		})
	};

	// 5. The stored monitors, read on every core, then the monitor persister.
	let monitors = monitors::read_all(
		Arc::clone(&store),
		Arc::clone(&keys),
		Arc::clone(&bitcoind),
		Arc::clone(&logger),
	)
	.await;
	clock.lap("monitors read");
	let wallet = wallet_load.await.map_err(|e| NodeError::Internal(format!("wallet task: {e}")))?;
	let (monitors, wallet) = (monitors?, wallet?);
	keys.set_wallet(Arc::clone(&wallet));
	// What the wallet still took once the monitors were read.
	clock.lap("wallet");
	let engine_stats = Arc::new(EngineStats::default());
	// The stock baseline keeps LDK's own (lazy) manager persistence.
	let barrier = (config.store != StoreKind::FsSync)
		.then(|| Arc::new(ManagerBarrier::new(Arc::clone(&store))));
	let metered =
		Arc::new(EngineStore::new(Arc::clone(&store), Arc::clone(&engine_stats), barrier.clone()));
	let persister: Persister = MonitorUpdatingPersisterAsync::new(
		Arc::clone(&metered),
		TokioSpawner(tokio::runtime::Handle::current()),
		Arc::clone(&logger),
		PERSISTER_MAX_PENDING_UPDATES,
		Arc::clone(&keys),
		Arc::clone(&keys),
		Arc::clone(&bitcoind),
		Arc::clone(&bitcoind),
	);

	// 6. Chain monitor, in async persistence mode.
	let chain_monitor = Arc::new(chainmonitor::ChainMonitor::new_async_beta(
		None::<Arc<ChainFilter>>,
		Arc::clone(&bitcoind),
		Arc::clone(&logger),
		Arc::clone(&bitcoind),
		persister,
		Arc::clone(&keys),
		keys.get_peer_storage_key(),
	));
	let towers = match config.towers.is_empty() {
		true => None,
		false => Some(crate::tower::Towers::open(
			&config.towers,
			Arc::clone(&store),
			Arc::clone(&keys),
			Arc::clone(&bitcoind),
			Arc::clone(&logger),
			tower_key,
			&wallet,
		)?),
	};
	let tower_watch = Arc::new(crate::types::TowerWatch::new(
		Arc::clone(&chain_monitor),
		towers.clone(),
		Arc::clone(&logger),
		tokio::runtime::Handle::current(),
	));

	// 7. Graph, scorer, routers.
	let routing = fulgur_router::Routing::load(
		Arc::clone(&store),
		config.network,
		Arc::clone(&logger),
		Arc::clone(&keys),
		Some(Arc::clone(&bitcoind) as Arc<fulgur_router::ChainSource>),
	)
	.map_err(|e| NodeError::Persistence(format!("loading routing state: {e}")))?;

	clock.lap("graph and scorer");
	// 8. Channel manager, read or new.
	let forwarding = config.forwarding;
	if forwarding.cltv_expiry_delta < crate::config::MIN_CLTV_EXPIRY_DELTA {
		return Err(NodeError::InvalidRequest(format!(
			"cltv_expiry_delta {} is below LDK's minimum of {}",
			forwarding.cltv_expiry_delta,
			crate::config::MIN_CLTV_EXPIRY_DELTA
		)));
	}
	let user_config = user_config(&config);
	let loaded = crate::persistence::manager_chunks::load(&*store)
		.map_err(|e| NodeError::Persistence(format!("reading channel manager: {e}")))?;
	let (manager_bytes, manager_chunks) = (loaded.bytes, loaded.chunks);
	// Apart from LDK's read below, so start-up timings say which of the two a slow start is.
	// (Reading the chunks beside the monitors was tried: on two cores both are CPU and the
	// start was no faster, see the README's 10,000-channel table.)
	clock.lap("manager chunks read");
	let (manager_block, channel_manager) = match manager_bytes {
		Some(bytes) => {
			let read_args = ChannelManagerReadArgs::new(
				Arc::clone(&keys),
				Arc::clone(&keys),
				Arc::clone(&keys),
				Arc::clone(&bitcoind),
				Arc::clone(&tower_watch),
				Arc::clone(&bitcoind),
				Arc::clone(&routing.router),
				Arc::clone(&routing.message_router),
				Arc::clone(&logger),
				user_config,
				monitors.iter().map(|(_, monitor)| monitor).collect(),
			);
			let (block, manager) =
				<(BlockHash, ChannelManager)>::read(&mut Cursor::new(bytes), read_args).map_err(
					|e| NodeError::Persistence(format!("channel manager unreadable: {e:?}")),
				)?;
			(Some(block), manager)
		}
		None => {
			let (hash, height) = bitcoind.tip().await?;
			let params = ChainParameters {
				network: config.network,
				best_block: BestBlock::new(hash, height),
			};
			let manager = ChannelManager::new(
				Arc::clone(&bitcoind),
				Arc::clone(&tower_watch),
				Arc::clone(&bitcoind),
				Arc::clone(&routing.router),
				Arc::clone(&routing.message_router),
				Arc::clone(&logger),
				Arc::clone(&keys),
				Arc::clone(&keys),
				Arc::clone(&keys),
				user_config,
				params,
				unix_now_u32(),
			);
			(None, manager)
		}
	};
	let channel_manager = Arc::new(channel_manager);
	if let Some(barrier) = &barrier {
		barrier.set_manager(&channel_manager, manager_chunks);
	}

	clock.lap("channel manager");
	// 9. Output sweeper, read or new.
	let sweeper: Arc<Sweeper> = Arc::new(
		match KVStoreSync::read(
			&*store,
			OUTPUT_SWEEPER_PERSISTENCE_PRIMARY_NAMESPACE,
			OUTPUT_SWEEPER_PERSISTENCE_SECONDARY_NAMESPACE,
			OUTPUT_SWEEPER_PERSISTENCE_KEY,
		) {
			Ok(bytes) => {
				let args = (
					Arc::clone(&bitcoind),
					Arc::clone(&bitcoind),
					None::<Arc<ChainFilter>>,
					Arc::clone(&keys),
					Arc::clone(&wallet),
					Arc::clone(&metered),
					Arc::clone(&logger),
				);
				let (_, sweeper) = <(BestBlock, Sweeper)>::read(&mut Cursor::new(bytes), args)
					.map_err(|e| NodeError::Persistence(format!("sweeper unreadable: {e:?}")))?;
				sweeper
			}
			Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => OutputSweeper::new(
				channel_manager.current_best_block(),
				Arc::clone(&bitcoind),
				Arc::clone(&bitcoind),
				None::<Arc<ChainFilter>>,
				Arc::clone(&keys),
				Arc::clone(&wallet),
				Arc::clone(&metered),
				Arc::clone(&logger),
			),
			Err(e) => return Err(NodeError::Persistence(format!("reading sweeper: {e}"))),
		},
	);

	clock.lap("sweeper");
	// 10. Bring everything that follows the chain to the tip, then hand the monitors over.
	// First wait for bitcoind to have our best block (or to have replaced it).
	let mut header_cache = StoredHeaders::load(Arc::clone(&store))?;
	if manager_block.is_some() {
		let best = channel_manager.current_best_block();
		startup.publish(starting_info(&config, &channel_manager, &routing.graph));
		let ours = catch_up::OurTip {
			hash: best.block_hash,
			height: best.height,
			chainwork: header_cache.look_up(&best.block_hash).map(|h| h.chainwork),
		};
		catch_up::wait_for_bitcoind(&bitcoind, ours, &sync_status, &logger).await;
		sync_status.set("syncing to bitcoind's tip");
	}
	let monitor_listeners: Vec<_> = monitors
		.into_iter()
		.map(|(block, monitor)| {
			(block, (monitor, Arc::clone(&bitcoind), Arc::clone(&bitcoind), Arc::clone(&logger)))
		})
		.collect();
	let journal = crate::journal::Journal::open(Arc::clone(&store))?;
	// Breaches that happened while the node was offline are reported as it catches up.
	let breach_listener = towers.as_ref().map(|towers| {
		crate::tower::breach::BreachListener::new(
			Arc::clone(towers),
			Arc::clone(&journal),
			tokio::runtime::Handle::current(),
		)
	});
	// Closing transactions confirmed while the node was offline are recorded as it catches up.
	let closed = crate::channels::closed::ClosedChannels::load(
		Arc::clone(&store),
		Arc::clone(&chain_monitor),
		Arc::clone(&sweeper),
		Arc::clone(&bitcoind),
		Arc::clone(&logger),
	)
	.await?;
	let loaded_funding = monitor_listeners
		.iter()
		.map(|(_, (monitor, ..))| {
			(monitor.get_funding_txo().into_bitcoin_outpoint(), monitor.channel_id())
		})
		.collect();
	let spend_watcher = closed.spend_watcher(loaded_funding);
	let chain_tip = {
		let mut listeners: Vec<(BlockHash, &(dyn Listen + Send + Sync))> = Vec::new();
		if let Some(block) = manager_block {
			listeners.push((block, &*channel_manager as &(dyn Listen + Send + Sync)));
			if let Some(breaches) = &breach_listener {
				listeners.push((block, breaches as &(dyn Listen + Send + Sync)));
			}
			listeners.push((block, &spend_watcher as &(dyn Listen + Send + Sync)));
		}
		listeners.push((sweeper.current_best_block().block_hash, &*sweeper));
		for (block, listener) in &monitor_listeners {
			listeners.push((*block, listener as &(dyn Listen + Send + Sync)));
		}
		// LDK asks bitcoind for each listener's block header; thousands of monitors share a
		// few blocks, so ask once per block, and not at all for the blocks we stored.
		for (block, _) in &listeners {
			if header_cache.look_up(block).is_none() {
				let header = bitcoind
					.get_header(block, None)
					.await
					.and_then(|header| header.validate(*block))
					.map_err(|e| {
						NodeError::ChainSource(format!(
							"header of {block}: neither stored by the node nor known to \
							 bitcoind: {e:?}"
						))
					})?;
				header_cache.insert_fetched(header);
			}
		}
		synchronize_listeners(Arc::clone(&bitcoind), config.network, &mut header_cache, listeners)
			.await
			.map_err(|e| NodeError::ChainSource(format!("syncing to the chain tip: {e:?}")))?
	};
	for (_, (monitor, ..)) in monitor_listeners {
		let channel_id = monitor.channel_id();
		chain_monitor.load_existing_monitor(channel_id, monitor).map_err(|()| {
			NodeError::Persistence(format!("channel monitor {channel_id} rejected"))
		})?;
	}

	clock.lap("chain sync");
	// 11. Onion messenger and peer manager.
	let onion_messenger = Arc::new(OnionMessenger::new(
		Arc::clone(&keys),
		Arc::clone(&keys),
		Arc::clone(&logger),
		Arc::clone(&channel_manager),
		Arc::clone(&routing.message_router),
		Arc::clone(&channel_manager),
		Arc::clone(&channel_manager),
		IgnoringMessageHandler {},
		IgnoringMessageHandler {},
	));
	// Peers we remember (connected through the API) and peers with a channel are ours; only
	// their connections reach the journal.
	let remembered_peers: Arc<RecordStore<PeerRecord>> =
		RecordStore::load(Arc::clone(&store), PEERS_NAMESPACE).await?;
	let is_our_peer = {
		let (channels, remembered) = (Arc::clone(&channel_manager), Arc::clone(&remembered_peers));
		move |peer: &bitcoin::secp256k1::PublicKey| {
			remembered.get(&peer.to_string()).is_some()
				|| !channels.list_channels_with_counterparty(peer).is_empty()
		}
	};
	let peer_events = Arc::new(crate::peer_events::PeerEvents::new(Box::new(is_our_peer)));
	// `--receive-delay`: the gate sees the HTLCs go by on their way to the manager.
	let receive_gate = Arc::new(crate::receive_delay::ReceiveGate::new(
		config.receive_delay,
		Arc::clone(&channel_manager),
	));
	let chan_handler = Arc::new(crate::receive_delay::ChannelHandler::new(
		Arc::clone(&channel_manager),
		Arc::clone(&receive_gate),
		Arc::clone(&keys),
		Arc::clone(&logger),
	));
	let peer_manager = Arc::new(crate::peers::PeerManager::new(
		MessageHandler {
			chan_handler,
			route_handler: Arc::clone(&routing.gossip_sync),
			onion_message_handler: Arc::clone(&onion_messenger),
			custom_message_handler: Arc::clone(&peer_events),
			send_only_message_handler: Arc::clone(&chain_monitor),
		},
		unix_now_u32(),
		&keys.get_secure_random_bytes(),
		Arc::clone(&logger),
		Arc::clone(&keys),
	));
	let peers = Arc::downgrade(&peer_manager);
	tower_watch.set_waker(move || {
		if let Some(peers) = peers.upgrade() {
			peers.process_events();
		}
	});
	if let Some(check) = &routing.gossip_check {
		let peers = Arc::downgrade(&peer_manager);
		check.on_resolved(move || {
			if let Some(peers) = peers.upgrade() {
				peers.process_events();
			}
		});
	}

	let bump_handler = Arc::new(BumpTransactionEventHandler::new(
		Arc::clone(&bitcoind),
		Arc::new(CoinSelector::new(Arc::clone(&wallet), Arc::clone(&logger))),
		Arc::clone(&keys),
		Arc::clone(&logger),
	));

	let payments = RecordStore::load(Arc::clone(&store), keyspaces::OUTBOUND_NAMESPACE).await?;
	let received = RecordStore::load(Arc::clone(&store), keyspaces::INBOUND_NAMESPACE).await?;
	let moved = keyspaces::separate_inbound(&payments, &received).await?;
	if moved > 0 {
		crate::info!(logger, "moved {moved} inbound payment records to their own keyspace");
	}

	// 12. The handles, each with the parts it uses.
	let shutdown = Shutdown::new(Arc::clone(&logger));
	let stop = shutdown.stop_signal();
	let peers = Peers {
		peer_manager: Arc::clone(&peer_manager),
		remembered: remembered_peers,
		our_node_id: channel_manager.get_our_node_id(),
		logger: Arc::clone(&logger),
	};
	let routing_handle = Routing {
		channel_manager: Arc::clone(&channel_manager),
		router: Arc::clone(&routing.router),
		scorer: Arc::clone(&routing.scorer),
		graph: Arc::clone(&routing.graph),
		network: config.network,
		limits: config.routing,
	};
	let api_keys = crate::api_keys::ApiKeys::load(Arc::clone(&store)).await?;
	let invoices = RecordStore::load(Arc::clone(&store), INVOICES_NAMESPACE).await?;
	let invoice_indexes = Arc::new(InvoiceIndexes::load(&invoices).await?);
	let payments = Payments {
		channel_manager: Arc::clone(&channel_manager),
		invoices,
		invoice_indexes,
		payments,
		received,
		journal: Arc::clone(&journal),
		logger: Arc::clone(&logger),
		network: config.network,
		limits: config.routing,
		routing: routing_handle.clone(),
		slots: Arc::default(),
		fence: fence.clone(),
		keys: Arc::clone(&keys),
		route_hints: Arc::default(),
	};
	let channels = Channels {
		channel_manager: Arc::clone(&channel_manager),
		chain_monitor: Arc::clone(&chain_monitor),
		wallet: Arc::clone(&wallet),
		bitcoind: Arc::clone(&bitcoind),
		engine_stats: Arc::clone(&engine_stats),
		fee_policy: config.fee_policy,
		opens: Arc::new(PendingOpens::default()),
		peers: peers.clone(),
		closed: Arc::clone(&closed),
		logger: Arc::clone(&logger),
		manager_writes: barrier.clone(),
	};
	let onchain = Onchain {
		wallet: Arc::clone(&wallet),
		bitcoind: Arc::clone(&bitcoind),
		network: config.network,
	};
	let webhooks = WebhookDelivery {
		webhooks: Arc::new(crate::webhooks::Webhooks::load(Arc::clone(&store)).await?),
		journal: Arc::clone(&journal),
		logger: Arc::clone(&logger),
		stop: stop.clone(),
	};
	let forwards = crate::forwards::Forwards::load(
		Arc::clone(&store),
		Arc::clone(&journal),
		Arc::clone(&logger),
	)
	.await?;
	let handler = Arc::new(EventHandler {
		payments: payments.clone(),
		channels: channels.clone(),
		forwards: forwards.clone(),
		peers: peers.clone(),
		sweeper: Arc::clone(&sweeper),
		bump_handler,
		journal: Arc::clone(&journal),
		logger: Arc::clone(&logger),
	});

	clock.lap("peers and wiring");
	// 13. Payments our records call pending that LDK never heard of (the node died between
	// writing the record and handing the payment to LDK) turn failed, before anyone can ask.
	crate::payment::reconcile::reconcile_pending(&payments).await;
	clock.lap("pending payments");

	// 14.–17. Listener, chain poller, background processor and the periodic chores, each
	// handed to the shutdown stage that stops it.
	let synced = Arc::new(AtomicBool::new(false));
	start::tasks(start::TaskParts {
		config: &config,
		shutdown: &shutdown,
		chain: ChainFollower {
			channel_manager: Arc::clone(&channel_manager),
			chain_monitor: Arc::clone(&chain_monitor),
			sweeper: Arc::clone(&sweeper),
			closed,
			towers: towers.clone(),
			journal: Arc::clone(&journal),
			bitcoind: Arc::clone(&bitcoind),
			network: config.network,
			interval: config.chain_poll_interval,
			synced: Arc::clone(&synced),
			sync_status: Arc::clone(&sync_status),
			logger: Arc::clone(&logger),
			stop: stop.clone(),
		},
		chain_tip,
		header_cache,
		processor: Processor {
			engine_store: Arc::clone(&metered),
			handler,
			chain_monitor: Arc::clone(&chain_monitor),
			channel_manager: Arc::clone(&channel_manager),
			onion_messenger,
			gossip_sync: routing.gossip_sync,
			peer_manager: Arc::clone(&peer_manager),
			sweeper,
			scorer: routing.scorer,
			logger: Arc::clone(&logger),
			stop: StopSignal::new(),
		},
		barrier,
		towers: towers.as_ref(),
		webhooks: &webhooks,
		peer_events,
		peers: &peers,
		payments: &payments,
		bitcoind: &bitcoind,
		wallet: &wallet,
		journal: &journal,
		chain_monitor: &chain_monitor,
		store: &store,
		logger: &logger,
	})
	.await?;
	clock.lap("tasks");
	crate::info!(logger, "node {} started: {}", channel_manager.get_our_node_id(), clock.summary());
	Ok(Handles {
		network: config.network,
		listen_addr: config.listen_addr,
		store,
		secrets_key: config.secrets_key.clone(),
		payments,
		channels,
		forwards,
		peers,
		onchain,
		routing: routing_handle,
		journal,
		api_keys,
		webhooks,
		keys,
		towers,
		synced,
		sync_status,
		startup_timings: clock.laps,
		receive_gate,
		stop,
		shutdown,
		fence,
	})
}
