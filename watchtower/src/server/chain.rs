//! Following the chain: one listener feeds the gatekeeper, watcher and responder in that
//! order and records the tip, and one poller thread drives it from bitcoind through
//! `lightning-block-sync`.
//!
//! The poller runs on its own thread (with its own small runtime) because the listeners do
//! blocking sled work and a flush per block, which must not stall the HTTP runtime.
//!
//! Both the start-up sync and the poller take any [`BlockSource`] (bitcoind's `RpcClient` in a
//! running tower): that is the seam the chain tests drive with an in-memory chain that forks.

use std::sync::Arc;
use std::time::Duration;

use bitcoin::block::Header;
use bitcoin::{BlockHash, Network};
use lightning::chain::transaction::TransactionData;
use lightning::chain::{BestBlock, Listen};
use lightning_block_sync::init::{synchronize_listeners, validate_best_block_header};
use lightning_block_sync::poll::{ChainPoller, ValidatedBlockHeader};
use lightning_block_sync::{BlockSource, SpvClient, UnboundedCache};
use tokio::sync::{oneshot, watch};

use crate::server::dbm::Dbm;
use crate::server::gatekeeper::Gatekeeper;
use crate::server::log;
use crate::server::responder::Responder;
use crate::server::watcher::Watcher;

/// The tower's one chain listener.
pub struct ChainListener {
	pub(crate) db: Arc<Dbm>,
	pub(crate) gatekeeper: Arc<Gatekeeper>,
	pub(crate) watcher: Arc<Watcher>,
	pub(crate) responder: Arc<Responder>,
}

impl ChainListener {
	fn record_tip(&self, hash: &BlockHash, height: u32) {
		// The tip is written last and flushed with everything the block changed, so after a
		// crash the block is either fully processed or processed again (which is idempotent).
		let result = self.db.set_tip(hash, height).and_then(|()| self.db.flush_blocking());
		if let Err(e) = result {
			log::error!("recording block {height}: {e}");
		}
	}
}

impl Listen for ChainListener {
	fn filtered_block_connected(&self, header: &Header, txdata: &TransactionData, height: u32) {
		log::debug!("block {height} with {} transactions", txdata.len());
		self.gatekeeper.filtered_block_connected(header, txdata, height);
		self.watcher.filtered_block_connected(header, txdata, height);
		self.responder.filtered_block_connected(header, txdata, height);
		self.record_tip(&header.block_hash(), height);
	}

	fn blocks_disconnected(&self, fork_point: BestBlock) {
		log::warn!("reorg: back to block {}", fork_point.height);
		self.responder.blocks_disconnected(fork_point);
		self.watcher.blocks_disconnected(fork_point);
		self.gatekeeper.blocks_disconnected(fork_point);
		self.record_tip(&fork_point.block_hash, fork_point.height);
	}
}

/// Brings the listener from the stored tip (or, on a fresh tower, bitcoind's tip) to
/// bitcoind's best block (`rpc`'s); returns that block.
pub(crate) async fn sync_to_tip<S: BlockSource + ?Sized>(
	rpc: &Arc<S>, network: Network, listener: &ChainListener, cache: &mut UnboundedCache,
) -> Result<ValidatedBlockHeader, String> {
	let stored = listener.db.tip().map_err(|e| e.to_string())?;
	let tip = match stored {
		Some((hash, _)) => {
			synchronize_listeners(Arc::clone(rpc), network, cache, vec![(hash, listener)])
				.await
				.map_err(|e| format!("syncing from block {hash} to bitcoind's tip: {e:?}"))?
		}
		None => {
			let tip = validate_best_block_header(Arc::clone(rpc))
				.await
				.map_err(|e| format!("reading bitcoind's best block: {e:?}"))?;
			listener.gatekeeper.set_height(tip.height);
			listener.record_tip(&tip.header.block_hash(), tip.height);
			tip
		}
	};
	Ok(tip)
}

/// Starts the poller thread: syncs to the tip (reporting the outcome on `ready`), then polls
/// every `interval` until `stop` turns true.
pub(crate) fn spawn_poller<S: BlockSource + ?Sized + 'static>(
	rpc: Arc<S>, network: Network, listener: Arc<ChainListener>, interval: Duration,
	mut stop: watch::Receiver<bool>, ready: oneshot::Sender<Result<u32, String>>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
	std::thread::Builder::new().name("tower-chain".into()).spawn(move || {
		let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
			Ok(runtime) => runtime,
			Err(e) => {
				let _ = ready.send(Err(format!("chain thread runtime: {e}")));
				return;
			}
		};
		runtime.block_on(async move {
			let mut cache = UnboundedCache::new();
			let tip = match sync_to_tip(&rpc, network, &listener, &mut cache).await {
				Ok(tip) => tip,
				Err(e) => {
					let _ = ready.send(Err(e));
					return;
				}
			};
			let _ = ready.send(Ok(tip.height));
			let poller = ChainPoller::new(Arc::clone(&rpc), network);
			let mut spv = SpvClient::new(tip, poller, &mut cache, &*listener);
			let mut failing = false;
			loop {
				match spv.poll_best_tip().await {
					Ok(_) if failing => {
						log::info!("bitcoind answers again");
						failing = false;
					}
					Ok(_) => {}
					Err(e) if !failing => {
						log::warn!("polling bitcoind failed: {e:?}");
						failing = true;
					}
					Err(_) => {}
				}
				tokio::select! {
					_ = stop.wait_for(|stop| *stop) => return,
					_ = tokio::time::sleep(interval) => {},
				}
			}
		});
	})
}
