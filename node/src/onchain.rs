//! The on-chain handle: the wallet's addresses, balance and sends, and bitcoind to broadcast.
//! A send that bitcoind refuses gives the wallet its inputs back.

use std::str::FromStr;
use std::sync::Arc;

use bitcoin::{Address, Network};
use lightning::chain::chaininterface::{ConfirmationTarget, FeeEstimator};

use crate::chain::BitcoindClient;
use crate::config::MAX_SAT;
use crate::wallet::{OnchainWallet, SpendPurpose, WalletBalance};
use crate::NodeError;

/// What on-chain operations touch.
#[derive(Clone)]
pub(crate) struct Onchain {
	/// The wallet.
	pub(crate) wallet: Arc<OnchainWallet>,
	/// Fee estimates and broadcast.
	pub(crate) bitcoind: Arc<BitcoindClient>,
	/// The chain addresses must be for.
	pub(crate) network: Network,
}

impl Onchain {
	/// The wallet's balance.
	pub(crate) fn balance(&self) -> WalletBalance {
		self.wallet.balance()
	}

	/// A fresh receive address.
	pub(crate) fn new_address(&self) -> Result<String, NodeError> {
		self.wallet.new_address().map(|a| a.to_string())
	}

	/// Sends `amount_sat` to `address`; returns the txid once bitcoind accepted the
	/// transaction.
	pub(crate) async fn send(&self, address: &str, amount_sat: u64) -> Result<String, NodeError> {
		if amount_sat == 0 || amount_sat > MAX_SAT {
			return Err(NodeError::InvalidAmount("amount_sat must be between 1 and 21e14".into()));
		}
		let address = Address::from_str(address.trim())
			.map_err(|e| NodeError::InvalidAddress(format!("{address:?}: {e}")))?
			.require_network(self.network)
			.map_err(|e| NodeError::InvalidAddress(format!("{e}")))?;
		let fee_rate = FeeEstimator::get_est_sat_per_1000_weight(
			&*self.bitcoind,
			ConfirmationTarget::NonAnchorChannelFee,
		);
		let wallet = Arc::clone(&self.wallet);
		let script = address.script_pubkey();
		let tx = tokio::task::spawn_blocking(move || {
			wallet.create_payment(script, amount_sat, fee_rate, SpendPurpose::Payment)
		})
		.await
		.map_err(|e| NodeError::Internal(format!("wallet task: {e}")))??;
		match self.bitcoind.send_transaction(&tx).await {
			Ok(txid) => Ok(txid.to_string()),
			Err(e) => {
				self.wallet.cancel(&tx);
				Err(e)
			}
		}
	}

	/// Brings the wallet up to date with bitcoind now.
	pub(crate) async fn sync(&self) -> Result<(), NodeError> {
		let wallet = Arc::clone(&self.wallet);
		tokio::task::spawn_blocking(move || wallet.sync())
			.await
			.map_err(|e| NodeError::Internal(format!("wallet task: {e}")))?
	}
}
