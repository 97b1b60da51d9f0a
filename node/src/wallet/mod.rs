//! The on-chain wallet: BDK, synced from bitcoind with `bdk_bitcoind_rpc`, persisted in the
//! node's store (`persist`).
//!
//! It funds channels, pays on-chain, receives closed channels' funds (shutdown, destination and
//! sweep scripts are its addresses) and supplies UTXOs for anchor-channel fee bumps.
//! Its derived scripts are stored with it (BDK's script cache): a node that revealed two
//! addresses per channel for thousands of channels does not derive them all again at start.

mod persist;

use std::sync::{Arc, Mutex, MutexGuard};

use bdk_bitcoind_rpc::bitcoincore_rpc::{self, RpcApi};
use bdk_bitcoind_rpc::Emitter;
use bdk_wallet::{KeychainKind, PersistedWallet, SignOptions, Wallet};
use bitcoin::bip32::Xpriv;
use bitcoin::psbt::Psbt;
use bitcoin::{Address, Amount, FeeRate, Network, ScriptBuf, Transaction, WPubkeyHash};
use fulgur_base::bitcoind::RpcAddress;
use fulgur_base::clock::unix_now;
use lightning::events::bump_transaction::{Utxo, WalletSource};
use lightning::sign::ChangeDestinationSource;
use lightning::util::async_poll::AsyncResult;

pub use persist::WalletStore;

use crate::logger::FulgurLogger;
use crate::store::DynStore;
use crate::NodeError;

type RpcClient = Arc<bitcoincore_rpc::Client>;

/// On-chain balance split by confirmation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalletBalance {
	/// Confirmed, spendable.
	pub confirmed_sat: u64,
	/// Unconfirmed (ours or others') and immature coinbase.
	pub unconfirmed_sat: u64,
}

/// What a transaction the wallet builds is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpendPurpose {
	/// A payment to an address.
	Payment,
	/// A channel's funding, checked by LDK against its best block height.
	Funding {
		/// LDK's best block height.
		lock_height: u32,
	},
}

/// The node's on-chain wallet.
pub struct OnchainWallet {
	wallet: Mutex<PersistedWallet<WalletStore>>,
	persister: Mutex<WalletStore>,
	// The emitter remembers the last block it emitted and the mempool it saw, so it lives as
	// long as the wallet; its lock also serialises syncs.
	emitter: Mutex<Emitter<RpcClient>>,
	logger: Arc<FulgurLogger>,
}

/// The wallet's BIP84 receive and change descriptors for `xprv`.
fn descriptors(xprv: Xpriv, network: Network) -> (String, String) {
	let coin = if network == Network::Bitcoin { 0 } else { 1 };
	(format!("wpkh({xprv}/84h/{coin}h/0h/0/*)"), format!("wpkh({xprv}/84h/{coin}h/0h/1/*)"))
}

impl OnchainWallet {
	/// Loads the wallet for `xprv` from the store, or creates it with its birthday at
	/// bitcoind's current tip. Blocking: call from a blocking context.
	pub fn load_or_create(
		xprv: Xpriv, network: Network, store: Arc<DynStore>, rpc_url: &str, rpc_user: &str,
		rpc_password: &str, logger: Arc<FulgurLogger>,
	) -> Result<OnchainWallet, NodeError> {
		let (external, internal) = descriptors(xprv, network);
		let auth = bitcoincore_rpc::Auth::UserPass(rpc_user.to_string(), rpc_password.to_string());
		let url =
			RpcAddress::parse(rpc_url).map_err(|e| NodeError::InvalidRequest(e.to_string()))?.url();
		let rpc = Arc::new(
			bitcoincore_rpc::Client::new(&url, auth)
				.map_err(|e| NodeError::ChainSource(format!("wallet RPC client: {e}")))?,
		);
		let mut persister = WalletStore::new(store);
		let loaded = Wallet::load()
			.descriptor(KeychainKind::External, Some(external.clone()))
			.descriptor(KeychainKind::Internal, Some(internal.clone()))
			.extract_keys()
			.check_network(network)
			.use_spk_cache(true)
			.load_wallet(&mut persister)
			.map_err(|e| NodeError::Persistence(format!("on-chain wallet unreadable: {e}")))?;
		let (wallet, start_height) = match loaded {
			Some(wallet) => (wallet, 0),
			None => {
				let wallet = Wallet::create(external, internal)
					.network(network)
					.use_spk_cache(true)
					.create_wallet(&mut persister)
					.map_err(|e| NodeError::Internal(format!("creating on-chain wallet: {e}")))?;
				// A new wallet has no history: start scanning at the tip.
				let tip = rpc
					.get_block_count()
					.map_err(|e| NodeError::ChainSource(format!("getblockcount: {e}")))?;
				(wallet, u32::try_from(tip).unwrap_or(0))
			}
		};
		let unconfirmed: Vec<Arc<Transaction>> = wallet
			.transactions()
			.filter(|t| !t.chain_position.is_confirmed())
			.map(|t| Arc::clone(&t.tx_node.tx))
			.collect();
		let emitter = Emitter::new(rpc, wallet.latest_checkpoint(), start_height, unconfirmed);
		Ok(OnchainWallet {
			wallet: Mutex::new(wallet),
			persister: Mutex::new(persister),
			emitter: Mutex::new(emitter),
			logger,
		})
	}

	fn wallet(&self) -> MutexGuard<'_, PersistedWallet<WalletStore>> {
		self.wallet.lock().unwrap_or_else(|e| e.into_inner())
	}

	/// Writes the wallet's changes and waits until they are durable. Callers reach here from
	/// async code and from inside LDK (a new address for a closing channel), so the wait for
	/// the disk is taken off the runtime's workers: a worker hands its other tasks away first.
	fn persist(&self, wallet: &mut PersistedWallet<WalletStore>) -> Result<(), NodeError> {
		let mut persister = self.persister.lock().unwrap_or_else(|e| e.into_inner());
		crate::blocking::off_runtime(|| wallet.persist(&mut persister))
			.map(|_| ())
			.map_err(|e| NodeError::Persistence(format!("persisting on-chain wallet: {e}")))
	}

	/// Catches up with bitcoind: new blocks, then the mempool. Blocking.
	pub fn sync(&self) -> Result<(), NodeError> {
		let mut emitter = self.emitter.lock().unwrap_or_else(|e| e.into_inner());
		let mut applied = 0u32;
		while let Some(event) =
			emitter.next_block().map_err(|e| NodeError::ChainSource(format!("wallet sync: {e}")))?
		{
			let mut wallet = self.wallet();
			wallet
				.apply_block_connected_to(&event.block, event.block_height(), event.connected_to())
				.map_err(|e| NodeError::Internal(format!("wallet cannot connect block: {e}")))?;
			applied += 1;
			// Bound the unpersisted change set during long catch-ups.
			if applied.is_multiple_of(100) {
				self.persist(&mut wallet)?;
			}
		}
		let mempool = emitter
			.mempool()
			.map_err(|e| NodeError::ChainSource(format!("wallet mempool: {e}")))?;
		let mut wallet = self.wallet();
		wallet.apply_unconfirmed_txs(mempool.update);
		wallet.apply_evicted_txs(mempool.evicted);
		self.persist(&mut wallet)
	}

	/// A fresh receive address.
	pub fn new_address(&self) -> Result<Address, NodeError> {
		let mut wallet = self.wallet();
		let address = wallet.reveal_next_address(KeychainKind::External).address;
		self.persist(&mut wallet)?;
		Ok(address)
	}

	fn new_change_script(&self) -> Result<ScriptBuf, NodeError> {
		let mut wallet = self.wallet();
		let address = wallet.next_unused_address(KeychainKind::Internal).address;
		self.persist(&mut wallet)?;
		Ok(address.script_pubkey())
	}

	/// Confirmed and unconfirmed balance.
	pub fn balance(&self) -> WalletBalance {
		let balance = self.wallet().balance();
		WalletBalance {
			confirmed_sat: balance.confirmed.to_sat(),
			unconfirmed_sat: (balance.trusted_pending
				+ balance.untrusted_pending
				+ balance.immature)
				.to_sat(),
		}
	}

	/// Builds and signs a transaction paying `amount_sat` to `script` at `sat_per_kw`, and
	/// records it as unconfirmed so its inputs are not spent twice. The caller broadcasts.
	/// Channel funding passes `Funding { lock_height }`: only confirmed inputs (many opens at
	/// once must not build long unconfirmed chains), and a lock time LDK accepts (it refuses a
	/// funding transaction not final at its own best block, which may trail the wallet's).
	pub fn create_payment(
		&self, script: ScriptBuf, amount_sat: u64, sat_per_kw: u32, purpose: SpendPurpose,
	) -> Result<Transaction, NodeError> {
		self.create_batch_payment(vec![(script, amount_sat)], sat_per_kw, purpose)
	}

	/// [`OnchainWallet::create_payment`] with several outputs in one transaction (a batch of
	/// channel fundings).
	pub fn create_batch_payment(
		&self, outputs: Vec<(ScriptBuf, u64)>, sat_per_kw: u32, purpose: SpendPurpose,
	) -> Result<Transaction, NodeError> {
		let mut wallet = self.wallet();
		let mut builder = wallet.build_tx();
		builder.set_recipients(
			outputs
				.into_iter()
				.map(|(script, amount)| (script, Amount::from_sat(amount)))
				.collect(),
		);
		builder.fee_rate(FeeRate::from_sat_per_kwu(u64::from(sat_per_kw)));
		if let SpendPurpose::Funding { lock_height } = purpose {
			builder.exclude_unconfirmed();
			if let Ok(lock_time) = bitcoin::absolute::LockTime::from_height(lock_height) {
				builder.nlocktime(lock_time);
			}
		}
		let mut psbt = builder.finish().map_err(|e| match e {
			bdk_wallet::error::CreateTxError::CoinSelection(e) => {
				NodeError::InsufficientFunds(format!("on-chain wallet: {e}"))
			}
			bdk_wallet::error::CreateTxError::OutputBelowDustLimit(_) => {
				NodeError::InvalidAmount("an output is below the dust limit".to_string())
			}
			other => NodeError::Internal(format!("building transaction: {other}")),
		})?;
		let finalized = wallet
			.sign(&mut psbt, SignOptions::default())
			.map_err(|e| NodeError::Internal(format!("signing transaction: {e}")))?;
		if !finalized {
			return Err(NodeError::Internal("wallet could not finalize transaction".into()));
		}
		let tx = psbt
			.extract_tx()
			.map_err(|e| NodeError::Internal(format!("extracting transaction: {e}")))?;
		wallet.apply_unconfirmed_txs([(tx.clone(), unix_now())]);
		self.persist(&mut wallet)?;
		Ok(tx)
	}

	/// Forgets a transaction we built but that will never be broadcast (a failed channel
	/// funding), freeing its inputs.
	pub fn cancel(&self, tx: &Transaction) {
		let mut wallet = self.wallet();
		wallet.cancel_tx(tx);
		if let Err(e) = self.persist(&mut wallet) {
			crate::warn!(self.logger, "{e}");
		}
	}

	/// Confirmed transactions that gave the wallet funds: txid, what it gained (received minus
	/// spent) and the block height. For the event log's `onchain_received`.
	pub fn confirmed_receipts(&self) -> Vec<(bitcoin::Txid, u64, u32)> {
		let wallet = self.wallet();
		wallet
			.transactions()
			.filter_map(|t| {
				let bdk_wallet::chain::ChainPosition::Confirmed { anchor, .. } = t.chain_position
				else {
					return None;
				};
				let (sent, received) = wallet.sent_and_received(&t.tx_node.tx);
				(received > sent)
					.then(|| (t.tx_node.txid, (received - sent).to_sat(), anchor.block_id.height))
			})
			.collect()
	}

	fn confirmed_utxos(&self) -> Vec<Utxo> {
		let wallet = self.wallet();
		wallet
			.list_unspent()
			.filter(|u| u.chain_position.is_confirmed())
			.filter_map(|u| {
				// Our descriptors are P2WPKH only: the program is the key hash.
				let program = u.txout.script_pubkey.as_bytes().get(2..22)?;
				let hash = <WPubkeyHash as bitcoin::hashes::Hash>::from_slice(program).ok()?;
				u.txout
					.script_pubkey
					.is_p2wpkh()
					.then(|| Utxo::new_v0_p2wpkh(u.outpoint, u.txout.value, &hash))
			})
			.collect()
	}

	fn sign_foreign_psbt(&self, mut psbt: Psbt) -> Result<Transaction, ()> {
		let wallet = self.wallet();
		// LDK fills witness_utxo only; BDK must be told to trust it to sign segwit inputs.
		let options = SignOptions { trust_witness_utxo: true, ..Default::default() };
		wallet.sign(&mut psbt, options).map_err(|e| {
			crate::error!(self.logger, "signing bump transaction: {e}");
		})?;
		psbt.extract_tx().map_err(|e| {
			crate::error!(self.logger, "extracting bump transaction: {e}");
		})
	}
}

impl WalletSource for OnchainWallet {
	fn list_confirmed_utxos<'a>(&'a self) -> AsyncResult<'a, Vec<Utxo>, ()> {
		let utxos = self.confirmed_utxos();
		Box::pin(async move { Ok(utxos) })
	}

	fn get_change_script<'a>(&'a self) -> AsyncResult<'a, ScriptBuf, ()> {
		let script = self.new_change_script().map_err(|e| crate::error!(self.logger, "{e}"));
		Box::pin(async move { script })
	}

	fn sign_psbt<'a>(&'a self, psbt: Psbt) -> AsyncResult<'a, Transaction, ()> {
		let tx = self.sign_foreign_psbt(psbt);
		Box::pin(async move { tx })
	}
}

impl ChangeDestinationSource for OnchainWallet {
	fn get_change_destination_script<'a>(&'a self) -> AsyncResult<'a, ScriptBuf, ()> {
		let script = self.new_change_script().map_err(|e| crate::error!(self.logger, "{e}"));
		Box::pin(async move { script })
	}
}
