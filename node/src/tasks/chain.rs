//! Follows bitcoind's tip: every new or disconnected block goes to the chain listener, and the
//! node's sync status says where it stands.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bitcoin::Network;
use lightning_block_sync::poll::{ChainPoller, ValidatedBlockHeader};
use lightning_block_sync::SpvClient;

use super::listener::ChainListener;
use crate::chain::{BitcoindClient, StoredHeaders, SyncStatus};
use crate::journal::Journal;
use crate::logger::FulgurLogger;
use crate::shutdown::StopSignal;
use crate::tower::Towers;
use crate::types::{ChainMonitor, ChannelManager, Sweeper};

/// What following the chain touches.
pub(crate) struct ChainFollower {
	/// Channel state machine.
	pub(crate) channel_manager: Arc<ChannelManager>,
	/// Channel monitors.
	pub(crate) chain_monitor: Arc<ChainMonitor>,
	/// Output sweeper.
	pub(crate) sweeper: Arc<Sweeper>,
	/// Closed channels, whose closing transactions the chain shows.
	pub(crate) closed: Arc<crate::channels::closed::ClosedChannels>,
	/// The tower client, which reports breaches it prepared for.
	pub(crate) towers: Option<Arc<Towers>>,
	/// Where breaches are reported.
	pub(crate) journal: Arc<Journal>,
	/// The block source.
	pub(crate) bitcoind: Arc<BitcoindClient>,
	/// The chain.
	pub(crate) network: Network,
	/// How often the tip is polled.
	pub(crate) interval: Duration,
	/// True once caught up with bitcoind's tip.
	pub(crate) synced: Arc<AtomicBool>,
	/// Where the node stands with the chain, in words.
	pub(crate) sync_status: Arc<SyncStatus>,
	/// Log.
	pub(crate) logger: Arc<FulgurLogger>,
	/// Ends the poller.
	pub(crate) stop: StopSignal,
}

impl ChainFollower {
	/// Polls from `tip` (the headers in `cache`) until stop.
	pub(crate) async fn run(self, tip: ValidatedBlockHeader, mut cache: StoredHeaders) {
		let listener = ChainListener {
			channel_manager: Arc::clone(&self.channel_manager),
			chain_monitor: Arc::clone(&self.chain_monitor),
			sweeper: Arc::clone(&self.sweeper),
			// Every monitor is in the chain monitor by now.
			closing_spends: self.closed.spend_watcher(Default::default()),
			breaches: self.towers.as_ref().map(|towers| {
				crate::tower::breach::BreachListener::new(
					Arc::clone(towers),
					Arc::clone(&self.journal),
					tokio::runtime::Handle::current(),
				)
			}),
		};
		let poller = ChainPoller::new(Arc::clone(&self.bitcoind), self.network);
		let mut spv = SpvClient::new(tip, poller, &mut cache, &listener);
		let mut failing = false;
		loop {
			match spv.poll_best_tip().await {
				Ok((_, _)) => {
					if failing {
						crate::info!(self.logger, "bitcoind answers again");
					}
					failing = false;
					let ours = self.channel_manager.current_best_block();
					let status = match self.bitcoind.tip().await {
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
					self.synced.store(status == "synced", Ordering::Release);
					self.sync_status.set(&status);
				}
				Err(e) => {
					if !failing {
						crate::warn!(self.logger, "polling bitcoind failed: {e:?}");
					}
					failing = true;
					self.synced.store(false, Ordering::Release);
					self.sync_status.set(&format!("waiting for bitcoind: polling failed: {e:?}"));
				}
			}
			tokio::select! {
				_ = self.stop.stopped() => return,
				_ = tokio::time::sleep(self.interval) => {},
			}
		}
	}
}
