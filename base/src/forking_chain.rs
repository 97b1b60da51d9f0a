//! A `BlockSource` over an in-memory chain that can fork: the test side of the seam where the
//! node's and the tower's chain following read bitcoind (`lightning-block-sync`). Built for
//! tests only (this crate's, and with the `test-support` feature, the node's and the tower's).
//!
//! Its blocks are real ones as far as `lightning-block-sync` checks them: headers carry proof
//! of work at regtest difficulty and the right chain work, and every block has a coinbase, a
//! merkle root and a witness commitment over the test's transactions. Like bitcoind, the best
//! chain is the one with the most work (with regtest's equal work per block: the longest, the
//! first seen on a tie), and blocks of abandoned branches stay servable, unless the test makes
//! it forget them (a bitcoind resynced from scratch knows only its own chain).

use std::collections::HashMap;
use std::sync::Mutex;

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::hashes::Hash;
use bitcoin::pow::Work;
use bitcoin::transaction::Version;
use bitcoin::{
	Amount, Block, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence, Transaction, TxIn,
	TxMerkleNode, TxOut, Witness,
};
use lightning_block_sync::poll::{Validate, ValidatedBlockHeader};
use lightning_block_sync::{
	AsyncBlockSourceResult, BlockData, BlockHeaderData, BlockSource, BlockSourceError,
};

/// Regtest's (minimal) difficulty: about every other hash meets it.
const REGTEST_BITS: u32 = 0x207fffff;
/// The start of a witness commitment output (BIP 141).
const WITNESS_COMMITMENT_MAGIC: [u8; 6] = [0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
/// The coinbase's witness reserved value.
const WITNESS_RESERVED: [u8; 32] = [0; 32];

struct Stored {
	block: Block,
	height: u32,
	chainwork: Work,
}

struct Inner {
	blocks: HashMap<BlockHash, Stored>,
	tip: BlockHash,
	/// Mined so far: makes every coinbase, so every block, unique (siblings included).
	mined: u32,
	/// Whether blocks off the best chain are served.
	serves_stale: bool,
}

impl Inner {
	fn on_best_chain(&self, hash: &BlockHash) -> bool {
		let Some(wanted) = self.blocks.get(hash) else { return false };
		self.best_chain_hash_at(wanted.height) == Some(*hash)
	}

	fn best_chain_hash_at(&self, height: u32) -> Option<BlockHash> {
		let mut hash = self.tip;
		loop {
			let stored = self.blocks.get(&hash)?;
			if stored.height == height {
				return Some(hash);
			}
			if stored.height < height {
				return None;
			}
			hash = stored.block.header.prev_blockhash;
		}
	}

	fn servable(&self, hash: &BlockHash) -> Option<&Stored> {
		let stored = self.blocks.get(hash)?;
		(self.serves_stale || self.on_best_chain(hash)).then_some(stored)
	}
}

/// The in-memory chain (see the module docs).
pub struct ForkingChain(Mutex<Inner>);

impl Default for ForkingChain {
	fn default() -> Self {
		ForkingChain::new()
	}
}

impl ForkingChain {
	/// A chain of one block, its genesis, at height 0.
	pub fn new() -> ForkingChain {
		let genesis = build_block(BlockHash::all_zeros(), 0, 0, 1_700_000_000, Vec::new());
		let hash = genesis.block_hash();
		let stored = Stored { chainwork: genesis.header.work(), block: genesis, height: 0 };
		let inner = Inner {
			blocks: HashMap::from([(hash, stored)]),
			tip: hash,
			mined: 1,
			serves_stale: true,
		};
		ForkingChain(Mutex::new(inner))
	}

	fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
		self.0.lock().unwrap()
	}

	/// The best block and its height.
	pub fn tip(&self) -> (BlockHash, u32) {
		let inner = self.lock();
		(inner.tip, inner.blocks[&inner.tip].height)
	}

	/// The best chain's block at `height`.
	pub fn hash_at(&self, height: u32) -> BlockHash {
		self.lock().best_chain_hash_at(height).expect("height on the best chain")
	}

	/// Mines a block holding `txs` on the best block.
	pub fn mine(&self, txs: Vec<Transaction>) -> BlockHash {
		let tip = self.tip().0;
		self.mine_on(tip, txs)
	}

	/// Mines a block holding `txs` on `parent`; it becomes the best block if its branch has
	/// more work than the best chain.
	pub fn mine_on(&self, parent: BlockHash, txs: Vec<Transaction>) -> BlockHash {
		let mut inner = self.lock();
		let (parent_height, parent_work, parent_time) = {
			let parent = &inner.blocks[&parent];
			(parent.height, parent.chainwork, parent.block.header.time)
		};
		let height = parent_height + 1;
		let block = build_block(parent, height, inner.mined, parent_time + 600, txs);
		inner.mined += 1;
		let hash = block.block_hash();
		let chainwork = parent_work + block.header.work();
		if chainwork > inner.blocks[&inner.tip].chainwork {
			inner.tip = hash;
		}
		inner.blocks.insert(hash, Stored { block, height, chainwork });
		hash
	}

	/// Mines a branch off the best chain's block at `fork_height`, one block per entry of
	/// `blocks`; returns the branch's last block.
	pub fn fork(&self, fork_height: u32, blocks: Vec<Vec<Transaction>>) -> BlockHash {
		let mut parent = self.hash_at(fork_height);
		for txs in blocks {
			parent = self.mine_on(parent, txs);
		}
		parent
	}

	/// A block's header as `lightning-block-sync` hands it to a header cache.
	pub fn header(&self, hash: &BlockHash) -> ValidatedBlockHeader {
		let inner = self.lock();
		let stored = &inner.blocks[hash];
		let data = BlockHeaderData {
			header: stored.block.header,
			height: stored.height,
			chainwork: stored.chainwork,
		};
		data.validate(*hash).expect("a block of the chain")
	}

	/// From now on, serves only the best chain's blocks.
	pub fn forget_stale_blocks(&self) {
		self.lock().serves_stale = false;
	}
}

/// A block on `parent` at `height` holding a coinbase (unique by `unique`) and `txs`,
/// with a merkle root, a witness commitment and regtest proof of work.
fn build_block(
	parent: BlockHash, height: u32, unique: u32, time: u32, txs: Vec<Transaction>,
) -> Block {
	let mut script_sig = height.to_le_bytes().to_vec();
	script_sig.extend_from_slice(&unique.to_le_bytes());
	let coinbase = Transaction {
		version: Version::TWO,
		lock_time: LockTime::ZERO,
		input: vec![TxIn {
			previous_output: OutPoint::null(),
			script_sig: ScriptBuf::from_bytes(script_sig),
			sequence: Sequence::MAX,
			witness: Witness::from_slice(&[WITNESS_RESERVED]),
		}],
		output: vec![
			TxOut { value: Amount::from_sat(50 * 100_000_000), script_pubkey: ScriptBuf::new() },
			TxOut { value: Amount::ZERO, script_pubkey: ScriptBuf::new() },
		],
	};
	let mut txdata = vec![coinbase];
	txdata.extend(txs);
	let header = Header {
		version: BlockVersion::TWO,
		prev_blockhash: parent,
		merkle_root: TxMerkleNode::all_zeros(),
		time,
		bits: CompactTarget::from_consensus(REGTEST_BITS),
		nonce: 0,
	};
	let mut block = Block { header, txdata };
	let witness_root = block.witness_root().expect("a coinbase");
	let commitment = Block::compute_witness_commitment(&witness_root, &WITNESS_RESERVED);
	let mut script = WITNESS_COMMITMENT_MAGIC.to_vec();
	script.extend_from_slice(commitment.as_byte_array());
	block.txdata[0].output[1].script_pubkey = ScriptBuf::from_bytes(script);
	block.header.merkle_root = block.compute_merkle_root().expect("a coinbase");
	while block.header.validate_pow(block.header.target()).is_err() {
		block.header.nonce += 1;
	}
	assert!(block.check_merkle_root() && block.check_witness_commitment());
	block
}

fn unknown() -> BlockSourceError {
	BlockSourceError::transient("Block not found")
}

impl BlockSource for ForkingChain {
	fn get_header<'a>(
		&'a self, header_hash: &'a BlockHash, _height_hint: Option<u32>,
	) -> AsyncBlockSourceResult<'a, BlockHeaderData> {
		let found = self.lock().servable(header_hash).map(|stored| BlockHeaderData {
			header: stored.block.header,
			height: stored.height,
			chainwork: stored.chainwork,
		});
		Box::pin(async move { found.ok_or_else(unknown) })
	}

	fn get_block<'a>(
		&'a self, header_hash: &'a BlockHash,
	) -> AsyncBlockSourceResult<'a, BlockData> {
		let found =
			self.lock().servable(header_hash).map(|s| BlockData::FullBlock(s.block.clone()));
		Box::pin(async move { found.ok_or_else(unknown) })
	}

	fn get_best_block(&self) -> AsyncBlockSourceResult<'_, (BlockHash, Option<u32>)> {
		let (hash, height) = self.tip();
		Box::pin(async move { Ok((hash, Some(height))) })
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn spending(previous_output: OutPoint, witness: Witness) -> Transaction {
		Transaction {
			version: Version::TWO,
			lock_time: LockTime::ZERO,
			input: vec![TxIn {
				previous_output,
				script_sig: ScriptBuf::new(),
				sequence: Sequence::MAX,
				witness,
			}],
			output: vec![TxOut { value: Amount::from_sat(1_000), script_pubkey: ScriptBuf::new() }],
		}
	}

	/// The double itself: its blocks pass `lightning-block-sync`'s checks, and it reorganises
	/// to the branch with the most work and only to it.
	#[test]
	fn blocks_validate_and_the_longest_branch_wins() {
		let spent = spending(OutPoint::null(), Witness::new());
		let segwit = spending(
			OutPoint { txid: spent.compute_txid(), vout: 0 },
			Witness::from_slice(&[[1u8; 72]]),
		);
		let chain = ForkingChain::new();
		let first = chain.mine(vec![spent]);
		let stale = chain.mine(vec![segwit]);
		assert_eq!(chain.tip(), (stale, 2));
		let sibling = chain.fork(1, vec![vec![]]);
		assert_eq!(chain.tip(), (stale, 2), "a tie keeps the first seen");
		let new_tip = chain.mine_on(sibling, vec![]);
		assert_eq!(chain.tip(), (new_tip, 3));
		assert_eq!(chain.hash_at(1), first);
		assert_eq!(chain.hash_at(2), sibling);
		let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
		rt.block_on(async {
			for hash in [first, stale, sibling, new_tip] {
				let block = chain.get_block(&hash).await.unwrap();
				block.validate(hash).expect("a valid block");
				let header = chain.get_header(&hash, None).await.unwrap();
				assert_eq!(header.validate(hash).expect("a valid header"), chain.header(&hash));
			}
			chain.forget_stale_blocks();
			assert!(chain.get_header(&stale, None).await.is_err(), "the stale branch is forgotten");
			assert!(chain.get_block(&sibling).await.is_ok());
		});
	}
}
