//! The node's background tasks: peer listener, chain poller (see `chain`), the periodic chores
//! (see `chores`) and LDK's background processor. Each takes the parts it uses; the builder
//! starts them and hands each to the shutdown stage that stops it (see `shutdown`).

mod chain;
pub(crate) mod chores;
mod listener;

pub(crate) use chain::ChainFollower;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lightning_background_processor::{process_events_async, GossipSync, NO_LIQUIDITY_MANAGER};

use crate::config::{INBOUND_REFUSAL_LOG_INTERVAL, PEER_ACCEPT_RETRY_DELAY};
use crate::event::EventHandler;
use crate::logger::FulgurLogger;
use crate::peers::PeerManager;
use crate::persistence::{EngineStore, ManagerBarrier};
use crate::shutdown::StopSignal;
use crate::types::{ChainMonitor, ChannelManager, OnionMessenger, P2PGossipSync, Scorer, Sweeper};

/// Runs `chore` now and then every `interval` until stop.
pub(crate) async fn every<F, Fut>(stop: StopSignal, interval: Duration, mut chore: F)
where
	F: FnMut() -> Fut,
	Fut: Future<Output = ()>,
{
	loop {
		chore().await;
		tokio::select! {
			_ = stop.stopped() => return,
			_ = tokio::time::sleep(interval) => {},
		}
	}
}

/// Accepts peers on the listener, within the inbound limits (see `inbound`): a connection
/// beyond them is closed at once.
pub(crate) async fn accept_peers(
	peer_manager: Arc<PeerManager>, listener: tokio::net::TcpListener,
	limits: crate::config::InboundLimitsConfig, logger: Arc<FulgurLogger>, stop: StopSignal,
) {
	let limits = crate::inbound::InboundLimits::new(limits);
	let mut last_refusal_log: Option<tokio::time::Instant> = None;
	loop {
		let accepted = tokio::select! {
			_ = stop.stopped() => return,
			accepted = listener.accept() => accepted,
		};
		let admitted = accepted
			.and_then(|(stream, from)| Ok((limits.admit(from.ip()), stream.into_std()?, from)));
		match admitted {
			Ok((Ok(place), stream, _)) => {
				let peer_manager = Arc::clone(&peer_manager);
				tokio::spawn(async move {
					lightning_net_tokio::setup_inbound(peer_manager, stream).await;
					drop(place);
				});
			}
			Ok((Err(refused), stream, from)) => {
				drop(stream);
				if last_refusal_log.is_none_or(|at| at.elapsed() >= INBOUND_REFUSAL_LOG_INTERVAL) {
					crate::warn!(
						logger,
						"inbound connection limits reached ({} open): closed {from}'s, \
						 {refused} refused since start",
						limits.open()
					);
					last_refusal_log = Some(tokio::time::Instant::now());
				}
			}
			Err(e) => {
				crate::warn!(logger, "accepting a peer connection failed: {e}");
				tokio::time::sleep(PEER_ACCEPT_RETRY_DELAY).await;
			}
		}
	}
}

/// LDK's background processor with what it drives: events to the handler, manager and
/// sweeper persistence, gossip pruning, scorer updates, peer timers.
pub(crate) struct Processor {
	/// Where the processor persists the manager (through the barrier), graph and scorer.
	pub(crate) engine_store: Arc<EngineStore>,
	/// Handles LDK's events.
	pub(crate) handler: Arc<EventHandler>,
	/// Channel monitors.
	pub(crate) chain_monitor: Arc<ChainMonitor>,
	/// Channels.
	pub(crate) channel_manager: Arc<ChannelManager>,
	/// Onion messages.
	pub(crate) onion_messenger: Arc<OnionMessenger>,
	/// Gossip.
	pub(crate) gossip_sync: Arc<P2PGossipSync>,
	/// Peers.
	pub(crate) peer_manager: Arc<PeerManager>,
	/// Output sweeper.
	pub(crate) sweeper: Arc<Sweeper>,
	/// The scorer, learning from payments and probes.
	pub(crate) scorer: Arc<Mutex<Scorer>>,
	/// Log.
	pub(crate) logger: Arc<FulgurLogger>,
	/// The processor's own stop flag, raised once peers are gone (see `shutdown`).
	pub(crate) stop: StopSignal,
}

impl Processor {
	/// Runs until its stop signal; its last round persists the channel manager.
	pub(crate) async fn run(self) {
		let Processor {
			engine_store,
			handler,
			chain_monitor,
			channel_manager,
			onion_messenger,
			gossip_sync,
			peer_manager,
			sweeper,
			scorer,
			logger,
			stop,
		} = self;
		let barrier = engine_store.barrier().cloned();
		let sleeper = move |duration: Duration| {
			let stop = stop.clone();
			ProcessorTimer {
				sleep: Box::pin(async move {
					tokio::select! {
						_ = stop.stopped() => true,
						_ = tokio::time::sleep(duration) => false,
					}
				}),
				barrier: barrier.clone(),
			}
		};
		// First the events the channel manager on disk held, before the processor forwards any
		// HTLC: what LDK hands over again from a previous run is told apart from new forwards
		// by this pass (see `forwards`).
		let replay = Arc::clone(&handler);
		channel_manager
			.process_pending_events_async(move |event| {
				let handler = Arc::clone(&replay);
				async move { handler.handle(event).await }
			})
			.await;
		handler.forwards.end_startup_replays().await;
		let result = process_events_async(
			engine_store,
			move |event| {
				let handler = Arc::clone(&handler);
				async move { handler.handle(event).await }
			},
			chain_monitor,
			channel_manager,
			Some(onion_messenger),
			GossipSync::p2p(gossip_sync),
			peer_manager,
			NO_LIQUIDITY_MANAGER,
			Some(sweeper),
			Arc::clone(&logger),
			Some(scorer),
			sleeper,
			false,
			|| SystemTime::now().duration_since(UNIX_EPOCH).ok(),
		)
		.await;
		if let Err(e) = result {
			crate::error!(logger, "background processor stopped with an error: {e}");
		}
	}
}

/// One of the background processor's timers (`true`: the node stops). Each poll first hands
/// the channel manager's persistence flag to the manager barrier
/// ([`ManagerBarrier::take_manager_write`]): the processor polls a timer right before it looks
/// at that flag, and would otherwise serialise the whole manager for a write the barrier drops.
struct ProcessorTimer {
	sleep: Pin<Box<dyn Future<Output = bool> + Send>>,
	barrier: Option<Arc<ManagerBarrier>>,
}

impl Future for ProcessorTimer {
	type Output = bool;

	fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
		if let Some(barrier) = &self.barrier {
			barrier.take_manager_write();
		}
		self.sleep.as_mut().poll(cx)
	}
}
