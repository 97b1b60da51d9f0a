//! The node's background tasks: peer listener, chain poller, wallet sync, fee refresh, peer
//! reconnection, node announcements, invoice expiry, event log retention and LDK's
//! background processor.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lightning::ln::msgs::SocketAddress;
use lightning_background_processor::{process_events_async, GossipSync, NO_LIQUIDITY_MANAGER};
use lightning_block_sync::poll::{ChainPoller, ValidatedBlockHeader};
use lightning_block_sync::SpvClient;
use tokio::sync::mpsc;

mod listener;

use crate::chain::StoredHeaders;
use crate::config::{
	EVENT_COMPACTION_INTERVAL, FEE_REFRESH_INTERVAL, INBOUND_REFUSAL_LOG_INTERVAL,
	INVOICE_EXPIRY_CHECK_INTERVAL, NODE_ANNOUNCEMENT_INTERVAL, PEER_ACCEPT_RETRY_DELAY,
	PEER_RECONNECT_INTERVAL,
};
use crate::context::Context;
use crate::event::EventHandler;
use crate::journal::NodeEvent;
use crate::types::P2PGossipSync;
use crate::NodeError;
use listener::ChainListener;

/// Starts every background task; they all end when the context's stop signal is set.
pub(crate) async fn start(
	ctx: &Arc<Context>, chain_tip: ValidatedBlockHeader, header_cache: StoredHeaders,
	gossip_sync: Arc<P2PGossipSync>,
	scorer: Arc<Mutex<fulgur_router::Scorer<Arc<crate::types::Logger>>>>,
) -> Result<(), NodeError> {
	if ctx.config.accept_peers {
		let listener =
			tokio::net::TcpListener::bind(ctx.config.listen_addr).await.map_err(|e| {
				NodeError::InvalidRequest(format!(
					"cannot listen on {}: {e}",
					ctx.config.listen_addr
				))
			})?;
		ctx.keep_task(tokio::spawn(accept_peers(Arc::clone(ctx), listener)));
	}
	ctx.keep_task(tokio::spawn(poll_chain(Arc::clone(ctx), chain_tip, header_cache)));
	if let Some(barrier) = &ctx.barrier {
		let task = tokio::spawn(Arc::clone(barrier).run());
		*ctx.barrier_task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
	}
	let processor = tokio::spawn(background_processor(Arc::clone(ctx), gossip_sync, scorer));
	*ctx.processor.lock().unwrap_or_else(|e| e.into_inner()) = Some(processor);
	if let Some(towers) = &ctx.towers {
		for task in towers.start(ctx.stop.subscribe()) {
			ctx.keep_task(task);
		}
	}
	for id in ctx.webhooks.ids() {
		ctx.keep_task(tokio::spawn(crate::webhooks::run_worker(Arc::clone(ctx), id)));
	}
	if let Some(queue) = ctx.peer_events.take_receiver() {
		ctx.keep_task(tokio::spawn(record_peer_events(Arc::clone(ctx), queue)));
	}
	let wallet_interval = ctx.config.wallet_sync_interval;
	let receipts = Arc::new(Mutex::new(HashSet::new()));
	ctx.keep_task(tokio::spawn(every(Arc::clone(ctx), wallet_interval, move |ctx| {
		sync_wallet(ctx, Arc::clone(&receipts))
	})));
	ctx.keep_task(tokio::spawn(every(Arc::clone(ctx), FEE_REFRESH_INTERVAL, refresh_fees)));
	ctx.keep_task(tokio::spawn(every(Arc::clone(ctx), PEER_RECONNECT_INTERVAL, reconnect_peers)));
	ctx.keep_task(tokio::spawn(every(Arc::clone(ctx), NODE_ANNOUNCEMENT_INTERVAL, announce_node)));
	ctx.keep_task(tokio::spawn(every(
		Arc::clone(ctx),
		INVOICE_EXPIRY_CHECK_INTERVAL,
		expire_invoices,
	)));
	ctx.keep_task(tokio::spawn(every(Arc::clone(ctx), EVENT_COMPACTION_INTERVAL, compact_events)));
	Ok(())
}

/// Runs `chore` now and then every `interval` until stop.
async fn every<F, Fut>(ctx: Arc<Context>, interval: Duration, chore: F)
where
	F: Fn(Arc<Context>) -> Fut,
	Fut: std::future::Future<Output = ()>,
{
	loop {
		chore(Arc::clone(&ctx)).await;
		tokio::select! {
			_ = ctx.stopped() => return,
			_ = tokio::time::sleep(interval) => {},
		}
	}
}

/// Accepts peers on the listener, within the inbound limits (see `inbound`): a connection
/// beyond them is closed at once.
async fn accept_peers(ctx: Arc<Context>, listener: tokio::net::TcpListener) {
	let limits = crate::inbound::InboundLimits::new();
	let mut last_refusal_log: Option<tokio::time::Instant> = None;
	loop {
		let accepted = tokio::select! {
			_ = ctx.stopped() => return,
			accepted = listener.accept() => accepted,
		};
		let admitted = accepted
			.and_then(|(stream, from)| Ok((limits.admit(from.ip()), stream.into_std()?, from)));
		match admitted {
			Ok((Ok(place), stream, _)) => {
				let peer_manager = Arc::clone(&ctx.peer_manager);
				tokio::spawn(async move {
					lightning_net_tokio::setup_inbound(peer_manager, stream).await;
					drop(place);
				});
			}
			Ok((Err(refused), stream, from)) => {
				drop(stream);
				if last_refusal_log.is_none_or(|at| at.elapsed() >= INBOUND_REFUSAL_LOG_INTERVAL) {
					crate::warn!(
						ctx.logger,
						"inbound connection limits reached ({} open): closed {from}'s, \
						 {refused} refused since start",
						limits.open()
					);
					last_refusal_log = Some(tokio::time::Instant::now());
				}
			}
			Err(e) => {
				crate::warn!(ctx.logger, "accepting a peer connection failed: {e}");
				tokio::time::sleep(PEER_ACCEPT_RETRY_DELAY).await;
			}
		}
	}
}

async fn poll_chain(ctx: Arc<Context>, tip: ValidatedBlockHeader, mut cache: StoredHeaders) {
	let listener = ChainListener {
		channel_manager: Arc::clone(&ctx.channel_manager),
		chain_monitor: Arc::clone(&ctx.chain_monitor),
		sweeper: Arc::clone(&ctx.sweeper),
		breaches: ctx.towers.as_ref().map(|towers| {
			crate::tower::breach::BreachListener::new(
				Arc::clone(towers),
				Arc::clone(&ctx.journal),
				tokio::runtime::Handle::current(),
			)
		}),
	};
	let poller = ChainPoller::new(Arc::clone(&ctx.bitcoind), ctx.config.network);
	let mut spv = SpvClient::new(tip, poller, &mut cache, &listener);
	let mut failing = false;
	loop {
		match spv.poll_best_tip().await {
			Ok((_, _)) => {
				if failing {
					crate::info!(ctx.logger, "bitcoind answers again");
				}
				failing = false;
				let ours = ctx.channel_manager.current_best_block();
				let status = match ctx.bitcoind.tip().await {
					Ok((theirs, _)) if theirs == ours.block_hash => "synced".to_string(),
					// The poller never follows a chain with less work than ours.
					Ok((_, height)) if height <= ours.height => format!(
						"waiting for bitcoind to reach the node's best block at height {} \
						 (bitcoind is at height {height})",
						ours.height
					),
					Ok((_, height)) => format!(
						"catching up: the node is at height {}, bitcoind at {height}",
						ours.height
					),
					Err(e) => format!("waiting for bitcoind: {e}"),
				};
				ctx.synced.store(status == "synced", Ordering::Release);
				ctx.sync_status.set(&status);
			}
			Err(e) => {
				if !failing {
					crate::warn!(ctx.logger, "polling bitcoind failed: {e:?}");
				}
				failing = true;
				ctx.synced.store(false, Ordering::Release);
				ctx.sync_status.set(&format!("waiting for bitcoind: polling failed: {e:?}"));
			}
		}
		tokio::select! {
			_ = ctx.stopped() => return,
			_ = tokio::time::sleep(ctx.config.chain_poll_interval) => {},
		}
	}
}

async fn background_processor(
	ctx: Arc<Context>, gossip_sync: Arc<P2PGossipSync>,
	scorer: Arc<Mutex<fulgur_router::Scorer<Arc<crate::types::Logger>>>>,
) {
	let handler = Arc::new(EventHandler::new(Arc::clone(&ctx)));
	let stop = ctx.stop_processor.subscribe();
	let sleeper = move |duration: Duration| {
		let mut stop = stop.clone();
		Box::pin(async move {
			tokio::select! {
				_ = stop.wait_for(|stop| *stop) => true,
				_ = tokio::time::sleep(duration) => false,
			}
		})
	};
	let result = process_events_async(
		Arc::clone(&ctx.engine_store),
		move |event| {
			let handler = Arc::clone(&handler);
			async move { handler.handle(event).await }
		},
		Arc::clone(&ctx.chain_monitor),
		Arc::clone(&ctx.channel_manager),
		Some(Arc::clone(&ctx.onion_messenger)),
		GossipSync::p2p(gossip_sync),
		Arc::clone(&ctx.peer_manager),
		NO_LIQUIDITY_MANAGER,
		Some(Arc::clone(&ctx.sweeper)),
		Arc::clone(&ctx.logger),
		Some(scorer),
		sleeper,
		false,
		|| SystemTime::now().duration_since(UNIX_EPOCH).ok(),
	)
	.await;
	if let Err(e) = result {
		crate::error!(ctx.logger, "background processor stopped with an error: {e}");
	}
}

/// Syncs the wallet, then records an `onchain_received` event for each confirmed
/// transaction that gave it funds. `recorded` holds the txids already in the journal, so
/// each sync only asks the journal about new ones.
async fn sync_wallet(ctx: Arc<Context>, recorded: Arc<Mutex<HashSet<bitcoin::Txid>>>) {
	let wallet = Arc::clone(&ctx.wallet);
	let receipts = match tokio::task::spawn_blocking(move || {
		wallet.sync().map(|()| wallet.confirmed_receipts())
	})
	.await
	{
		Ok(Ok(receipts)) => receipts,
		Ok(Err(e)) => return crate::warn!(ctx.logger, "wallet sync: {e}"),
		Err(e) => return crate::error!(ctx.logger, "wallet sync task: {e}"),
	};
	for (txid, amount_sat, block_height) in receipts {
		if recorded.lock().unwrap_or_else(|e| e.into_inner()).contains(&txid) {
			continue;
		}
		let event = NodeEvent::OnchainReceived { txid: txid.to_string(), amount_sat, block_height };
		match ctx.journal.append(event).await {
			Ok(_) => {
				recorded.lock().unwrap_or_else(|e| e.into_inner()).insert(txid);
			}
			// Tried again at the next sync.
			Err(e) => crate::warn!(ctx.logger, "recording on-chain receipt {txid}: {e}"),
		}
	}
}

/// Records peer connections and disconnections in the order the peer manager reported them,
/// and says so in the log when some were dropped because the queue was full.
async fn record_peer_events(ctx: Arc<Context>, mut queue: mpsc::Receiver<NodeEvent>) {
	let mut dropped_seen = 0;
	loop {
		let event = tokio::select! {
			_ = ctx.stopped() => return,
			event = queue.recv() => event,
		};
		let Some(event) = event else { return };
		if let Err(e) = ctx.journal.append(event).await {
			crate::warn!(ctx.logger, "recording a peer event: {e}");
		}
		let dropped = ctx.peer_events.dropped();
		if dropped > dropped_seen {
			crate::warn!(
				ctx.logger,
				"{} peer events not recorded: more than {} were waiting",
				dropped - dropped_seen,
				crate::peer_events::PEER_EVENT_QUEUE
			);
			dropped_seen = dropped;
		}
	}
}

async fn refresh_fees(ctx: Arc<Context>) {
	ctx.bitcoind.refresh_fees().await;
}

async fn reconnect_peers(ctx: Arc<Context>) {
	crate::peers::reconnect_all(&ctx).await;
}

async fn announce_node(ctx: Arc<Context>) {
	// Only nodes with announced channels are relayed; LDK checks that.
	if !ctx.channel_manager.list_channels().iter().any(|c| c.is_announced && c.is_channel_ready) {
		return;
	}
	let mut alias = [0u8; 32];
	let name = ctx.config.alias.as_bytes();
	let len = name.len().min(32);
	alias[..len].copy_from_slice(&name[..len]);
	let addr = ctx.config.listen_addr;
	let address = match addr.ip() {
		std::net::IpAddr::V4(ip) => SocketAddress::TcpIpV4 { addr: ip.octets(), port: addr.port() },
		std::net::IpAddr::V6(ip) => SocketAddress::TcpIpV6 { addr: ip.octets(), port: addr.port() },
	};
	ctx.peer_manager.broadcast_node_announcement([0xf5, 0xc3, 0x1a], alias, vec![address]);
}

/// Drops events older than the retention, keeping what a webhook has not delivered yet (and,
/// inside the journal, what an open stream has not passed).
async fn compact_events(ctx: Arc<Context>) {
	let older_than =
		fulgur_base::clock::unix_now().saturating_sub(ctx.config.events_retention.as_secs());
	let keep_from = ctx.webhooks.oldest_cursor().unwrap_or(u64::MAX);
	let journal = Arc::clone(&ctx.journal);
	match tokio::task::spawn_blocking(move || journal.compact(older_than, keep_from)).await {
		Ok(Ok(0)) => {}
		Ok(Ok(removed)) => crate::info!(
			ctx.logger,
			"event log: {removed} events older than {} days removed",
			ctx.config.events_retention.as_secs() / crate::config::SECONDS_PER_DAY
		),
		Ok(Err(e)) => crate::warn!(ctx.logger, "event log compaction: {e}"),
		Err(e) => crate::error!(ctx.logger, "event log compaction task: {e}"),
	}
}

async fn expire_invoices(ctx: Arc<Context>) {
	crate::payment::expire_invoices(&ctx).await;
}
