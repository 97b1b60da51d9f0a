//! Channel announcements checked against the chain.
//!
//! A channel announcement names its funding output by short channel id (block height, index of
//! the transaction in the block, output index). Before the graph accepts the channel, the
//! output must exist and be unspent; LDK then checks that its script is the 2-of-2 of the two
//! announced funding keys and that its value is the channel's capacity. Without this check a
//! peer could fill the graph with channels that do not exist, and payments would be routed
//! into them.
//!
//! Lookups run as tasks on the runtime (they are RPC round trips), so the peer that sent the
//! announcement is never blocked on bitcoind; the graph holds the announcement (and the updates
//! and node announcements that arrive for it) until the answer comes back.

use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use lightning::bitcoin::constants::ChainHash;
use lightning::bitcoin::{Block, OutPoint, TxOut};
use lightning::routing::utxo::{UtxoFuture, UtxoLookup, UtxoLookupError, UtxoResult};
use lightning::util::logger::Logger;
use lightning_block_sync::gossip::UtxoSource;
use lightning_block_sync::BlockData;

use crate::{NetworkGraph, P2PGossipSync};

/// Recent blocks kept, since announcements of one block tend to arrive together.
const BLOCK_CACHE_SIZE: usize = 8;

/// The chain, as the gossip handler sees it.
pub type ChainSource = dyn UtxoSource + Send + Sync;

/// Answers LDK's UTXO lookups for channel announcements from bitcoind.
pub struct ChainGossipCheck<L: Deref + Clone + Send + Sync + 'static>
where
	L::Target: Logger,
{
	shared: Arc<Shared<L>>,
	chain_hash: ChainHash,
	runtime: tokio::runtime::Handle,
}

/// What a lookup task needs once it has its answer.
struct Shared<L: Deref + Clone + Send + Sync + 'static>
where
	L::Target: Logger,
{
	source: Arc<ChainSource>,
	graph: Arc<NetworkGraph<L>>,
	// Set after construction: the gossip handler owns this check, and the peer manager owns the
	// gossip handler, so both are held weakly to let the node drop them on stop.
	gossip: OnceLock<Weak<P2PGossipSync<L>>>,
	wake: OnceLock<Box<dyn Fn() + Send + Sync>>,
	blocks: Mutex<VecDeque<(u32, Arc<Block>)>>,
}

impl<L: Deref + Clone + Send + Sync + 'static> ChainGossipCheck<L>
where
	L::Target: Logger,
{
	/// A check against `source`, resolving into `graph`; lookups run on `runtime`.
	pub fn new(
		source: Arc<ChainSource>, graph: Arc<NetworkGraph<L>>, runtime: tokio::runtime::Handle,
	) -> Self {
		let chain_hash = graph.get_chain_hash();
		let shared = Shared {
			source,
			graph,
			gossip: OnceLock::new(),
			wake: OnceLock::new(),
			blocks: Mutex::new(VecDeque::with_capacity(BLOCK_CACHE_SIZE)),
		};
		ChainGossipCheck { shared: Arc::new(shared), chain_hash, runtime }
	}

	/// The gossip handler to forward announcements through once they are verified.
	pub fn forward_through(&self, gossip: &Arc<P2PGossipSync<L>>) {
		let _ = self.shared.gossip.set(Arc::downgrade(gossip));
	}

	/// Called after each lookup resolves: the peer manager must process events so that the
	/// verified messages go out and paused peers are read again.
	pub fn on_resolved(&self, wake: impl Fn() + Send + Sync + 'static) {
		let _ = self.shared.wake.set(Box::new(wake));
	}
}

impl<L: Deref + Clone + Send + Sync + 'static> Shared<L>
where
	L::Target: Logger,
{
	fn resolve(&self, future: &UtxoFuture, result: Result<TxOut, UtxoLookupError>) {
		match self.gossip.get().and_then(Weak::upgrade) {
			Some(gossip) => future.resolve(&self.graph, &*gossip, result),
			None => future.resolve_without_forwarding(&self.graph, result),
		}
		if let Some(wake) = self.wake.get() {
			wake();
		}
	}
}

impl<L: Deref + Clone + Send + Sync + 'static> UtxoLookup for ChainGossipCheck<L>
where
	L::Target: Logger,
{
	fn get_utxo(&self, chain_hash: &ChainHash, short_channel_id: u64) -> UtxoResult {
		if *chain_hash != self.chain_hash {
			return UtxoResult::Sync(Err(UtxoLookupError::UnknownChain));
		}
		let future = UtxoFuture::new();
		let (shared, pending) = (Arc::clone(&self.shared), future.clone());
		self.runtime.spawn(async move {
			let result = funding_output(&*shared.source, &shared.blocks, short_channel_id).await;
			shared.resolve(&pending, result);
		});
		UtxoResult::Async(future)
	}
}

/// Where a short channel id points: (block height, transaction index, output index).
pub fn decode_short_channel_id(short_channel_id: u64) -> (u32, usize, u16) {
	((short_channel_id >> 40) as u32, ((short_channel_id >> 16) & 0xff_ffff) as usize, {
		(short_channel_id & 0xffff) as u16
	})
}

/// The unspent output `short_channel_id` points to.
async fn funding_output(
	source: &ChainSource, blocks: &Mutex<VecDeque<(u32, Arc<Block>)>>, short_channel_id: u64,
) -> Result<TxOut, UtxoLookupError> {
	let (height, tx_index, vout) = decode_short_channel_id(short_channel_id);
	let cached = lock(blocks).iter().find(|(h, _)| *h == height).map(|(_, b)| Arc::clone(b));
	let block = match cached {
		Some(block) => block,
		None => {
			let hash = source
				.get_block_hash_by_height(height)
				.await
				.map_err(|_| UtxoLookupError::UnknownTx)?;
			let block = match source.get_block(&hash).await {
				Ok(BlockData::FullBlock(block)) => Arc::new(block),
				_ => return Err(UtxoLookupError::UnknownTx),
			};
			let mut cache = lock(blocks);
			if cache.len() >= BLOCK_CACHE_SIZE {
				cache.pop_front();
			}
			cache.push_back((height, Arc::clone(&block)));
			block
		}
	};
	let tx = block.txdata.get(tx_index).ok_or(UtxoLookupError::UnknownTx)?;
	let output = tx.output.get(usize::from(vout)).ok_or(UtxoLookupError::UnknownTx)?.clone();
	let outpoint = OutPoint::new(tx.compute_txid(), u32::from(vout));
	match source.is_output_unspent(outpoint).await {
		Ok(true) => Ok(output),
		_ => Err(UtxoLookupError::UnknownTx),
	}
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
	mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
	use super::decode_short_channel_id;

	#[test]
	fn short_channel_ids_decode_to_block_tx_and_output() {
		let scid = (700_123u64 << 40) | (1_234 << 16) | 3;
		assert_eq!(decode_short_channel_id(scid), (700_123, 1_234, 3));
		assert_eq!(decode_short_channel_id(u64::MAX), (0xff_ffff, 0xff_ffff, 0xffff));
	}
}
