//! Starts the node's background tasks, each with the parts it uses, and hands each to the
//! shutdown stage that stops it (the order of stopping is `shutdown`'s).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use lightning_block_sync::poll::ValidatedBlockHeader;

use crate::chain::{BitcoindClient, StoredHeaders};
use crate::config::{
	NodeConfig, EVENT_COMPACTION_INTERVAL, FEE_REFRESH_INTERVAL, INVOICE_EXPIRY_CHECK_INTERVAL,
	NODE_ANNOUNCEMENT_INTERVAL, PEER_RECONNECT_INTERVAL,
};
use crate::journal::Journal;
use crate::logger::FulgurLogger;
use crate::payment::Payments;
use crate::peer_events::PeerEvents;
use crate::peers::Peers;
use crate::persistence::checkpoint::checkpoint_monitors;
use crate::persistence::ManagerBarrier;
use crate::shutdown::{stage_signal, Shutdown, Stage};
use crate::store::DynStore;
use crate::tasks::{chores, every, ChainFollower, Processor};
use crate::tower::Towers;
use crate::types::ChainMonitor;
use crate::wallet::OnchainWallet;
use crate::webhooks::WebhookDelivery;
use crate::NodeError;

/// What the tasks are started with.
pub(super) struct TaskParts<'a> {
	pub(super) config: &'a NodeConfig,
	pub(super) shutdown: &'a Shutdown,
	pub(super) chain: ChainFollower,
	pub(super) chain_tip: ValidatedBlockHeader,
	pub(super) header_cache: StoredHeaders,
	pub(super) processor: Processor,
	pub(super) barrier: Option<Arc<ManagerBarrier>>,
	pub(super) towers: Option<&'a Arc<Towers>>,
	pub(super) webhooks: &'a WebhookDelivery,
	pub(super) peer_events: Arc<PeerEvents>,
	pub(super) peers: &'a Peers,
	pub(super) payments: &'a Payments,
	pub(super) bitcoind: &'a Arc<BitcoindClient>,
	pub(super) wallet: &'a Arc<OnchainWallet>,
	pub(super) journal: &'a Arc<Journal>,
	pub(super) chain_monitor: &'a Arc<ChainMonitor>,
	pub(super) store: &'a Arc<DynStore>,
	pub(super) logger: &'a Arc<FulgurLogger>,
}

/// Starts every background task and sets up the shutdown's stages.
pub(super) async fn tasks(parts: TaskParts<'_>) -> Result<(), NodeError> {
	let TaskParts { config, shutdown, logger, .. } = parts;
	let stop = shutdown.stop_signal();
	let keep = |task| shutdown.keep(Stage::Tasks, task);
	if config.accept_peers {
		let listener = tokio::net::TcpListener::bind(config.listen_addr).await.map_err(|e| {
			NodeError::InvalidRequest(format!("cannot listen on {}: {e}", config.listen_addr))
		})?;
		let peer_manager = Arc::clone(&parts.peers.peer_manager);
		keep(tokio::spawn(crate::tasks::accept_peers(
			peer_manager,
			listener,
			config.inbound_limits,
			Arc::clone(logger),
			stop.clone(),
		)));
	}
	keep(tokio::spawn(parts.chain.run(parts.chain_tip, parts.header_cache)));
	keep(tokio::spawn(crate::payment::slots::run_slot_worker(
		parts.payments.clone(),
		stop.clone(),
	)));

	let writer = parts.barrier.clone();
	// The manager writer stops last: the processor's final manager write goes through it.
	if let Some(barrier) = parts.barrier {
		shutdown.keep(Stage::ManagerWriter, tokio::spawn(Arc::clone(&barrier).run()));
		shutdown.signal(Stage::ManagerWriter, move || barrier.close());
	}
	// Peers go before the processor's last round, whose manager write must follow the last
	// peer message.
	let peer_manager = Arc::clone(&parts.processor.peer_manager);
	let disconnect = move || peer_manager.disconnect_all_peers();
	shutdown.signal(Stage::Processor, stage_signal(&parts.processor.stop, disconnect));
	shutdown.keep(Stage::Processor, tokio::spawn(parts.processor.run()));
	let (chain_monitor, store, checkpoint_logger) =
		(Arc::clone(parts.chain_monitor), Arc::clone(parts.store), Arc::clone(logger));
	shutdown.then(move || async move {
		if writer.is_some_and(|writer| !writer.last_batch_landed()) {
			// Monitors written whole now could be ahead of the manager on disk, and LDK would
			// force-close those channels at the next start: let them replay blocks instead.
			crate::warn!(checkpoint_logger, "the last manager write failed: no monitor checkpoint");
			return;
		}
		let monitors = chain_monitor
			.list_monitors()
			.into_iter()
			.filter_map(|channel_id| chain_monitor.get_monitor(channel_id).ok());
		let written = checkpoint_monitors(monitors, &*store, &checkpoint_logger).await;
		crate::info!(checkpoint_logger, "{written} channel monitors written at the chain tip");
	});

	if let Some(towers) = parts.towers {
		for task in towers.start(stop.receiver()) {
			keep(task);
		}
	}
	for id in parts.webhooks.webhooks.ids() {
		keep(parts.webhooks.spawn(id));
	}
	if let Some(queue) = parts.peer_events.take_receiver() {
		keep(tokio::spawn(chores::record_peer_events(
			Arc::clone(&parts.peer_events),
			queue,
			Arc::clone(parts.journal),
			Arc::clone(logger),
			stop.clone(),
		)));
	}

	let (wallet, journal, chore_logger) =
		(Arc::clone(parts.wallet), Arc::clone(parts.journal), Arc::clone(logger));
	let receipts = Arc::new(Mutex::new(HashSet::new()));
	keep(tokio::spawn(every(stop.clone(), config.wallet_sync_interval, move || {
		let (wallet, journal, logger, receipts) = (
			Arc::clone(&wallet),
			Arc::clone(&journal),
			Arc::clone(&chore_logger),
			Arc::clone(&receipts),
		);
		async move { chores::sync_wallet(wallet, &journal, &logger, &receipts).await }
	})));
	let bitcoind = Arc::clone(parts.bitcoind);
	keep(tokio::spawn(every(stop.clone(), FEE_REFRESH_INTERVAL, move || {
		let bitcoind = Arc::clone(&bitcoind);
		async move { bitcoind.refresh_fees().await }
	})));
	let peers = parts.peers.clone();
	keep(tokio::spawn(every(stop.clone(), PEER_RECONNECT_INTERVAL, move || {
		let peers = peers.clone();
		async move { peers.reconnect_all().await }
	})));
	let (channel_manager, peer_manager) =
		(Arc::clone(&parts.payments.channel_manager), Arc::clone(&parts.peers.peer_manager));
	let (alias, listen_addr) = (config.alias.clone(), config.listen_addr);
	keep(tokio::spawn(every(stop.clone(), NODE_ANNOUNCEMENT_INTERVAL, move || {
		chores::announce_node(&channel_manager, &peer_manager, &alias, listen_addr);
		std::future::ready(())
	})));
	let payments = parts.payments.clone();
	keep(tokio::spawn(every(stop.clone(), INVOICE_EXPIRY_CHECK_INTERVAL, move || {
		let payments = payments.clone();
		async move { crate::payment::expire_invoices(&payments).await }
	})));
	let (journal, webhooks, retention, compaction_logger) = (
		Arc::clone(parts.journal),
		Arc::clone(&parts.webhooks.webhooks),
		config.events_retention,
		Arc::clone(logger),
	);
	keep(tokio::spawn(every(stop, EVENT_COMPACTION_INTERVAL, move || {
		let (journal, webhooks, logger) =
			(Arc::clone(&journal), Arc::clone(&webhooks), Arc::clone(&compaction_logger));
		async move { chores::compact_events(&journal, &webhooks, retention, &logger).await }
	})));
	Ok(())
}
