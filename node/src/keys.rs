//! Keys: LDK's `KeysManager` for everything secret, with the on-chain wallet's addresses as
//! the destination of closed channels' funds, so they land where the wallet can spend them.
//!
//! The keys exist before the wallet is loaded (the start reads channel monitors, which need
//! the keys, while the wallet loads); until the builder hands the wallet over, asking for a
//! destination script fails rather than waits. Nothing asks for one before: scripts are only
//! asked for when a channel opens or closes, or when funds are swept.

use std::sync::{Arc, OnceLock};

use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::ecdsa::{RecoverableSignature, Signature};
use bitcoin::secp256k1::{schnorr, All, PublicKey, Scalar, Secp256k1};
use bitcoin::{absolute::LockTime, ScriptBuf, Transaction, TxOut};
use lightning::ln::inbound_payment::ExpandedKey;
use lightning::ln::msgs::UnsignedGossipMessage;
use lightning::ln::script::ShutdownScript;
use lightning::offers::invoice::UnsignedBolt12Invoice;
use lightning::sign::{
	EntropySource, InMemorySigner, KeysManager, NodeSigner, OutputSpender, PeerStorageKey,
	ReceiveAuthKey, Recipient, SignerProvider, SpendableOutputDescriptor,
};
use lightning_invoice::RawBolt11Invoice;

use crate::logger::FulgurLogger;
use crate::wallet::OnchainWallet;

/// LDK's signer and key source, paying out to the on-chain wallet.
pub struct NodeKeysManager {
	inner: KeysManager,
	wallet: OnceLock<Arc<OnchainWallet>>,
	logger: Arc<FulgurLogger>,
}

impl NodeKeysManager {
	/// `seed` is the LDK seed (not the wallet's); the start time makes ephemeral randomness
	/// unique per run. Closed channels' funds have nowhere to go until [`Self::set_wallet`].
	pub fn new(seed: &[u8; 32], logger: Arc<FulgurLogger>) -> Self {
		let now = fulgur_base::clock::since_epoch();
		let inner = KeysManager::new(seed, now.as_secs(), now.subsec_nanos(), true);
		NodeKeysManager { inner, wallet: OnceLock::new(), logger }
	}

	/// The wallet closed channels' funds are paid to; set once, later calls change nothing.
	pub(crate) fn set_wallet(&self, wallet: Arc<OnchainWallet>) {
		if self.wallet.set(wallet).is_err() {
			crate::warn!(self.logger, "the keys' wallet was already set; keeping the first");
		}
	}

	/// `message` signed with the node's key, zbase32, as LND and Core Lightning sign
	/// messages (the key never leaves this type).
	pub(crate) fn sign_message(&self, message: &[u8]) -> String {
		lightning::util::message_signing::sign(message, &self.inner.get_node_secret_key())
	}

	fn wallet_script(&self) -> Result<ScriptBuf, ()> {
		let Some(wallet) = self.wallet.get() else {
			crate::error!(
				self.logger,
				"no wallet address for channel funds: wallet not loaded yet"
			);
			return Err(());
		};
		wallet.new_address().map(|a| a.script_pubkey()).map_err(|e| {
			crate::error!(self.logger, "no wallet address for channel funds: {e}");
		})
	}
}

impl EntropySource for NodeKeysManager {
	fn get_secure_random_bytes(&self) -> [u8; 32] {
		self.inner.get_secure_random_bytes()
	}
}

impl NodeSigner for NodeKeysManager {
	fn get_expanded_key(&self) -> ExpandedKey {
		self.inner.get_expanded_key()
	}

	fn get_peer_storage_key(&self) -> PeerStorageKey {
		self.inner.get_peer_storage_key()
	}

	fn get_receive_auth_key(&self) -> ReceiveAuthKey {
		self.inner.get_receive_auth_key()
	}

	fn get_node_id(&self, recipient: Recipient) -> Result<PublicKey, ()> {
		self.inner.get_node_id(recipient)
	}

	fn ecdh(
		&self, recipient: Recipient, other_key: &PublicKey, tweak: Option<&Scalar>,
	) -> Result<SharedSecret, ()> {
		self.inner.ecdh(recipient, other_key, tweak)
	}

	fn sign_invoice(
		&self, invoice: &RawBolt11Invoice, recipient: Recipient,
	) -> Result<RecoverableSignature, ()> {
		self.inner.sign_invoice(invoice, recipient)
	}

	fn sign_bolt12_invoice(
		&self, invoice: &UnsignedBolt12Invoice,
	) -> Result<schnorr::Signature, ()> {
		self.inner.sign_bolt12_invoice(invoice)
	}

	fn sign_gossip_message(&self, msg: UnsignedGossipMessage) -> Result<Signature, ()> {
		self.inner.sign_gossip_message(msg)
	}

	fn sign_message(&self, msg: &[u8]) -> Result<String, ()> {
		self.inner.sign_message(msg)
	}
}

impl SignerProvider for NodeKeysManager {
	type EcdsaSigner = InMemorySigner;

	fn generate_channel_keys_id(&self, inbound: bool, user_channel_id: u128) -> [u8; 32] {
		self.inner.generate_channel_keys_id(inbound, user_channel_id)
	}

	fn derive_channel_signer(&self, channel_keys_id: [u8; 32]) -> Self::EcdsaSigner {
		self.inner.derive_channel_signer(channel_keys_id)
	}

	fn get_destination_script(&self, _channel_keys_id: [u8; 32]) -> Result<ScriptBuf, ()> {
		self.wallet_script()
	}

	fn get_shutdown_scriptpubkey(&self) -> Result<ShutdownScript, ()> {
		let script = self.wallet_script()?;
		let program = script
			.witness_version()
			.zip(script.as_bytes().get(2..))
			.and_then(|(version, program)| bitcoin::WitnessProgram::new(version, program).ok())
			.ok_or_else(|| crate::error!(self.logger, "wallet address is not segwit"))?;
		ShutdownScript::new_witness_program(&program)
			.map_err(|e| crate::error!(self.logger, "invalid shutdown script: {e:?}"))
	}
}

impl OutputSpender for NodeKeysManager {
	fn spend_spendable_outputs(
		&self, descriptors: &[&SpendableOutputDescriptor], outputs: Vec<TxOut>,
		change_destination_script: ScriptBuf, feerate_sat_per_1000_weight: u32,
		locktime: Option<LockTime>, secp_ctx: &Secp256k1<All>,
	) -> Result<Transaction, ()> {
		self.inner.spend_spendable_outputs(
			descriptors,
			outputs,
			change_destination_script,
			feerate_sat_per_1000_weight,
			locktime,
			secp_ctx,
		)
	}
}
