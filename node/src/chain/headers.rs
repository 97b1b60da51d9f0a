//! The headers of the blocks the node followed, kept in its store (`fulgur_chain_headers`),
//! so that after a restart it can walk back from its own best block to where bitcoind's chain
//! forked off, even when bitcoind never saw (or no longer has) the node's blocks: a reorg that
//! happened while the node was stopped is then undone like a live one.
//!
//! It is the header cache of the start-up sync and of the chain poller. The newest
//! [`HEADERS_KEPT`] headers are kept, one key per height (zero-padded, so keys sort like
//! heights); a reorg overwrites the heights it replaces. Writes are applied to the store at
//! once and made durable with the next flush: a header lost in a crash is fetched again from
//! bitcoind, so nothing waits for them.

use std::collections::HashMap;
use std::sync::Arc;

use bitcoin::block::Header;
use bitcoin::consensus::encode::{deserialize, serialize};
use bitcoin::pow::Work;
use bitcoin::BlockHash;
use lightning::util::persist::{KVStore, KVStoreSync};
use lightning_block_sync::poll::{Validate, ValidatedBlockHeader};
use lightning_block_sync::{BlockHeaderData, Cache};

use crate::store::DynStore;
use crate::NodeError;

/// Where the headers live.
pub const HEADERS_NAMESPACE: &str = "fulgur_chain_headers";
/// About a week of blocks: far deeper than any reorg, and than how far behind the tip a
/// channel monitor's last write can be.
pub const HEADERS_KEPT: u32 = 1_008;
/// A serialized header, then the chain work up to it.
const RECORD_LEN: usize = 80 + 32;

/// The header cache that survives restarts.
pub struct StoredHeaders {
	store: Arc<DynStore>,
	by_hash: HashMap<BlockHash, ValidatedBlockHeader>,
	runtime: tokio::runtime::Handle,
}

impl StoredHeaders {
	/// Reads the stored headers. Blocking: call at start-up, inside the runtime.
	pub fn load(store: Arc<DynStore>) -> Result<StoredHeaders, NodeError> {
		let keys = KVStoreSync::list(&*store, HEADERS_NAMESPACE, "")
			.map_err(|e| NodeError::Persistence(format!("listing block headers: {e}")))?;
		let mut by_hash = HashMap::with_capacity(keys.len());
		for key in keys {
			let bytes = KVStoreSync::read(&*store, HEADERS_NAMESPACE, "", &key)
				.map_err(|e| NodeError::Persistence(format!("reading block header {key}: {e}")))?;
			// A record that does not decode is only a lost cache entry: bitcoind has it.
			if let Some((hash, header)) = decode(&key, &bytes) {
				by_hash.insert(hash, header);
			}
		}
		Ok(StoredHeaders { store, by_hash, runtime: tokio::runtime::Handle::current() })
	}

	/// How many headers are held.
	pub fn len(&self) -> usize {
		self.by_hash.len()
	}

	/// Whether none is held.
	pub fn is_empty(&self) -> bool {
		self.by_hash.is_empty()
	}

	/// Adds a header fetched from bitcoind without storing it (it is bitcoind's to serve).
	pub fn insert_fetched(&mut self, header: ValidatedBlockHeader) {
		self.by_hash.insert(header.header.block_hash(), header);
	}

	fn write(&self, height: u32, bytes: Option<Vec<u8>>) {
		let store = Arc::clone(&self.store);
		let key = key(height);
		let write = match bytes {
			Some(bytes) => KVStore::write(&*store, HEADERS_NAMESPACE, "", &key, bytes),
			None => KVStore::remove(&*store, HEADERS_NAMESPACE, "", &key, true),
		};
		// Applied to the store now; the task only waits for the flush (see the module docs).
		self.runtime.spawn(async move {
			let _ = write.await;
		});
	}
}

impl Cache for StoredHeaders {
	fn look_up(&self, block_hash: &BlockHash) -> Option<&ValidatedBlockHeader> {
		self.by_hash.get(block_hash)
	}

	fn block_connected(&mut self, block_hash: BlockHash, block_header: ValidatedBlockHeader) {
		let height = block_header.height;
		self.write(height, Some(encode(&block_header)));
		self.by_hash.insert(block_hash, block_header);
		let oldest_kept = height.saturating_sub(HEADERS_KEPT);
		let stale: Vec<(BlockHash, u32)> = self
			.by_hash
			.iter()
			.filter(|(_, h)| h.height < oldest_kept)
			.map(|(hash, h)| (*hash, h.height))
			.collect();
		for (hash, height) in stale {
			self.by_hash.remove(&hash);
			self.write(height, None);
		}
	}

	fn block_disconnected(&mut self, block_hash: &BlockHash) -> Option<ValidatedBlockHeader> {
		// The height's key is overwritten by the block that replaces it.
		self.by_hash.remove(block_hash)
	}
}

fn key(height: u32) -> String {
	format!("{height:010}")
}

fn encode(header: &ValidatedBlockHeader) -> Vec<u8> {
	let mut bytes = serialize(&header.header);
	bytes.extend_from_slice(&header.chainwork.to_be_bytes());
	bytes
}

fn decode(key: &str, bytes: &[u8]) -> Option<(BlockHash, ValidatedBlockHeader)> {
	if bytes.len() != RECORD_LEN {
		return None;
	}
	let height: u32 = key.parse().ok()?;
	let header: Header = deserialize(&bytes[..80]).ok()?;
	let chainwork = Work::from_be_bytes(bytes[80..].try_into().ok()?);
	let hash = header.block_hash();
	Some((hash, BlockHeaderData { header, height, chainwork }.validate(hash).ok()?))
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::SledStore;
	use fulgur_base::forking_chain::ForkingChain;

	/// The headers of `source`'s best chain up to `tip_height`.
	fn best_chain(source: &ForkingChain, tip_height: u32) -> Vec<ValidatedBlockHeader> {
		(0..=tip_height).map(|height| source.header(&source.hash_at(height))).collect()
	}

	/// What a chain listener was told.
	#[derive(Default)]
	struct Told(std::sync::Mutex<Vec<String>>);

	impl lightning::chain::Listen for Told {
		fn filtered_block_connected(
			&self, header: &Header, _txdata: &lightning::chain::transaction::TransactionData,
			height: u32,
		) {
			self.0.lock().unwrap().push(format!("connect {height} {}", header.time));
		}
		fn blocks_disconnected(&self, fork_point: lightning::chain::BestBlock) {
			self.0.lock().unwrap().push(format!("back to {}", fork_point.height));
		}
	}

	#[tokio::test(flavor = "multi_thread")]
	async fn a_chain_replaced_while_stopped_is_rolled_back_from_stored_headers() {
		let dir = tempfile::tempdir().expect("tempdir");
		let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("open"));
		// The node followed 11 blocks; bitcoind came back with a longer branch from block 6,
		// knowing that branch only (as a restarted bitcoind knows its own).
		let source = ForkingChain::new();
		for _ in 0..10 {
			source.mine(vec![]);
		}
		let followed = best_chain(&source, 10);
		source.fork(6, vec![vec![]; 6]);
		source.forget_stale_blocks();
		let replacing = best_chain(&source, 12);
		assert_eq!((replacing.len(), replacing[6], replacing[7].height), (13, followed[6], 7));
		let mut stored =
			tokio::task::block_in_place(|| StoredHeaders::load(Arc::clone(&store))).expect("load");
		for header in &followed {
			stored.block_connected(header.header.block_hash(), *header);
		}
		let ours = followed[10].header.block_hash();
		let told = Told::default();
		let tip = lightning_block_sync::init::synchronize_listeners(
			&source,
			bitcoin::Network::Regtest,
			&mut stored,
			vec![(ours, &told as &dyn lightning::chain::Listen)],
		)
		.await
		.expect("synced through the stored headers");
		assert_eq!(tip.header.block_hash(), replacing[12].header.block_hash());
		let told = told.0.lock().unwrap().clone();
		let mut expected = vec!["back to 6".to_string()];
		expected.extend(
			replacing[7..].iter().map(|h| format!("connect {} {}", h.height, h.header.time)),
		);
		assert_eq!(told, expected);

		// Without them (what the node had before storing headers), bitcoind cannot say where
		// the node's chain left its own.
		let mut empty = std::collections::HashMap::new();
		let lost = Told::default();
		let result = lightning_block_sync::init::synchronize_listeners(
			&source,
			bitcoin::Network::Regtest,
			&mut empty,
			vec![(ours, &lost as &dyn lightning::chain::Listen)],
		)
		.await;
		assert!(result.is_err(), "no way back without the node's own headers");
	}

	#[tokio::test(flavor = "multi_thread")]
	async fn headers_survive_a_restart_and_stay_bounded() {
		let dir = tempfile::tempdir().expect("tempdir");
		let source = ForkingChain::new();
		for _ in 0..HEADERS_KEPT + 9 {
			source.mine(vec![]);
		}
		let headers = best_chain(&source, HEADERS_KEPT + 9);
		// A sibling of the tip: what replaces it in a reorg.
		let replacement =
			source.header(&source.mine_on(headers[headers.len() - 2].header.block_hash(), vec![]));
		{
			let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("open"));
			let mut cache = tokio::task::block_in_place(|| StoredHeaders::load(Arc::clone(&store)))
				.expect("load");
			for header in &headers {
				cache.block_connected(header.header.block_hash(), *header);
			}
			assert_eq!(cache.len(), HEADERS_KEPT as usize + 1);
			// A reorg of the tip: the replaced header goes, its height's key is overwritten.
			let tip = headers.last().expect("tip");
			assert!(cache.block_disconnected(&tip.header.block_hash()).is_some());
			cache.block_connected(replacement.header.block_hash(), replacement);
			// Let the spawned writes land.
			tokio::time::sleep(std::time::Duration::from_millis(200)).await;
			KVStore::write(&*store, HEADERS_NAMESPACE, "", "barrier", vec![]).await.expect("flush");
			KVStore::remove(&*store, HEADERS_NAMESPACE, "", "barrier", false).await.expect("flush");
		}
		let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("reopen"));
		let cache = tokio::task::block_in_place(|| StoredHeaders::load(store)).expect("load again");
		assert_eq!(cache.len(), HEADERS_KEPT as usize + 1);
		let found =
			cache.look_up(&replacement.header.block_hash()).expect("the replacing tip is stored");
		assert_eq!(found.chainwork, replacement.chainwork);
		assert!(cache.look_up(&headers[5].header.block_hash()).is_none(), "old headers pruned");
		let kept = &headers[headers.len() - 2];
		assert_eq!(cache.look_up(&kept.header.block_hash()).map(|h| h.height), Some(kept.height));
	}
}
