//! Component tests: the gatekeeper, watcher and responder driven through `Listen` with
//! hand-built blocks, chain following through `lightning-block-sync` from an in-memory chain
//! that forks, and the HTTP API on a real port.

mod caps;
mod chain_follow;
mod components;
mod connections;
mod durability;
mod http;
mod layout;

use std::sync::{Arc, Mutex};

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::SecretKey;
use bitcoin::transaction::Version;
use bitcoin::{
	Amount, Block, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence, Transaction, TxIn,
	TxMerkleNode, TxOut, Txid, Witness,
};
use lightning::chain::chaininterface::BroadcasterInterface;
use lightning::chain::{BestBlock, Listen};

use super::{ChainListener, Refusals, SubscriptionConfig, TowerCore, TowerOptions};
use crate::api::AddAppointmentRequest;
use crate::appointment::Appointment;
use crate::crypto::UserId;

/// Records what the responder broadcasts (the test side of LDK's broadcaster seam).
#[derive(Default)]
pub(super) struct Recorder(Mutex<Vec<Transaction>>);

impl Recorder {
	pub(super) fn take(&self) -> Vec<Txid> {
		let mut txs = self.0.lock().unwrap();
		txs.drain(..).map(|tx| tx.compute_txid()).collect()
	}
}

impl BroadcasterInterface for Recorder {
	fn broadcast_transactions(&self, txs: &[&Transaction]) {
		self.0.lock().unwrap().extend(txs.iter().map(|tx| (*tx).clone()));
	}
}

/// A tower core on a temp dir, a recorder, and a chain of hand-built blocks.
pub(super) struct Harness {
	pub dir: tempfile::TempDir,
	pub core: Arc<TowerCore>,
	pub recorder: Arc<Recorder>,
	pub listener: ChainListener,
	/// Hashes of the blocks connected so far; index = height.
	pub chain: Vec<BlockHash>,
	pub options: TowerOptions,
}

pub(super) fn options() -> TowerOptions {
	TowerOptions {
		subscription: SubscriptionConfig { slots: 3, duration: 10, expiry_delta: 2 },
		resolved_depth: 6,
		..TowerOptions::default()
	}
}

impl Harness {
	pub(super) fn new() -> Harness {
		let dir = tempfile::tempdir().unwrap();
		Harness::open(dir, options())
	}

	pub(super) fn open(dir: tempfile::TempDir, options: TowerOptions) -> Harness {
		Harness::reporting_to(dir, options, Arc::default())
	}

	/// A harness whose broadcasts' refusals are what the test puts in `refusals`.
	pub(super) fn reporting_to(
		dir: tempfile::TempDir, options: TowerOptions, refusals: Arc<Refusals>,
	) -> Harness {
		let recorder = Arc::new(Recorder::default());
		let core = TowerCore::open(dir.path(), &options, recorder.clone(), refusals).unwrap();
		let listener = core.chain_listener();
		let genesis = BlockHash::from_byte_array([0; 32]);
		Harness { dir, core, recorder, listener, chain: vec![genesis], options }
	}

	/// Closes and reopens the database (a restart).
	pub(super) fn reopen(self) -> Harness {
		let Harness { dir, core, listener, chain, options, .. } = self;
		drop(listener);
		drop(core);
		let mut h = Harness::open(dir, options);
		h.chain = chain;
		h
	}

	pub(super) fn height(&self) -> u32 {
		(self.chain.len() - 1) as u32
	}

	/// Connects a block holding `txs` on top of the chain.
	pub(super) fn connect(&mut self, txs: Vec<Transaction>) -> BlockHash {
		let header = Header {
			version: BlockVersion::TWO,
			prev_blockhash: *self.chain.last().unwrap(),
			merkle_root: TxMerkleNode::from_byte_array([self.chain.len() as u8; 32]),
			time: 1_700_000_000 + self.chain.len() as u32,
			bits: CompactTarget::from_consensus(0x207fffff),
			nonce: rand::random(),
		};
		let block = Block { header, txdata: txs };
		let height = self.chain.len() as u32;
		self.listener.block_connected(&block, height);
		self.chain.push(header.block_hash());
		header.block_hash()
	}

	/// Disconnects blocks down to `height`.
	pub(super) fn disconnect_to(&mut self, height: u32) {
		self.chain.truncate(height as usize + 1);
		let fork = BestBlock::new(*self.chain.last().unwrap(), height);
		self.listener.blocks_disconnected(fork);
	}

	pub(super) fn register(&self, sk: &SecretKey) {
		self.core.gatekeeper.register(UserId::from_secret_key(sk)).unwrap();
	}
}

pub(super) fn user_sk(n: u8) -> SecretKey {
	SecretKey::from_slice(&[n; 32]).unwrap()
}

/// A transaction with a unique input: a "commitment" (dispute) when `n` differs.
pub(super) fn dispute_tx(n: u64) -> Transaction {
	let mut prev = [0u8; 32];
	prev[..8].copy_from_slice(&n.to_le_bytes());
	Transaction {
		version: Version::TWO,
		lock_time: LockTime::ZERO,
		input: vec![TxIn {
			previous_output: OutPoint { txid: Txid::from_byte_array(prev), vout: 0 },
			script_sig: ScriptBuf::new(),
			sequence: Sequence::MAX,
			witness: Witness::new(),
		}],
		output: vec![TxOut { value: Amount::from_sat(100_000), script_pubkey: ScriptBuf::new() }],
	}
}

/// A justice transaction spending `dispute`'s output.
pub(super) fn penalty_tx(dispute: &Transaction) -> Transaction {
	Transaction {
		version: Version::TWO,
		lock_time: LockTime::ZERO,
		input: vec![TxIn {
			previous_output: OutPoint { txid: dispute.compute_txid(), vout: 0 },
			script_sig: ScriptBuf::new(),
			sequence: Sequence::MAX,
			witness: Witness::from_slice(&[[0x30u8; 72].as_slice(), &[1]]),
		}],
		output: vec![TxOut { value: Amount::from_sat(99_000), script_pubkey: ScriptBuf::new() }],
	}
}

/// The signed appointment for `dispute`, with its penalty.
pub(super) fn appointment_for(dispute: &Transaction, sk: &SecretKey) -> AddAppointmentRequest {
	let appointment =
		Appointment::for_justice_tx(&dispute.compute_txid(), &penalty_tx(dispute), 144);
	AddAppointmentRequest::new(appointment, sk)
}
