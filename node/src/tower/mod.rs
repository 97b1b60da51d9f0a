//! The node's watchtower client: every revoked counterparty commitment becomes an appointment
//! for the configured towers, so a breach is punished while the node is offline.
//!
//! - [`watch::TowerWatch`] sits between the channel manager and the chain monitor. For each
//!   monitor update it stages the new counterparty commitments and, when an update reveals a
//!   commitment's secret, builds the justice transaction ([`justice`]: `to_local` and every
//!   HTLC output), encrypts it into an appointment and appends it to the outbox
//!   ([`outbox`]). The update's completion is held back until those writes are durable.
//! - [`delivery`] hands the outbox to every tower in the background, with retry; payments
//!   never wait on a tower.
//! - [`breach`] recognises a revoked commitment and its justice transaction on chain, and
//!   hands every block to [`retention`], which forgets a channel's records once its close is
//!   buried past its CSV delay.

pub mod breach;
mod delivery;
pub mod justice;
pub mod outbox;
pub mod retention;
pub mod serialized;
pub mod watch;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::ScriptBuf;
use dashmap::DashMap;
use fulgur_tower_protocol::Appointment;
use lightning::chain::chaininterface::{ConfirmationTarget, FeeEstimator};
use lightning::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate};
use lightning::ln::chan_utils::CommitmentTransaction;
use lightning::ln::types::ChannelId;
use lightning::sign::{ChannelSigner, InMemorySigner, SignerProvider};
use lightning::util::persist::KVStoreSync;
use serde::{Deserialize, Serialize};
use tokio::sync::watch as tokio_watch;
use tokio::task::JoinHandle;

use crate::chain::BitcoindClient;
use crate::keys::NodeKeysManager;
use crate::logger::FulgurLogger;
use crate::store::DynStore;
use crate::NodeError;
use delivery::Courier;
pub use delivery::TowerLink;
use justice::JusticeError;
use lightning::chain::transaction::TransactionData;
use outbox::{Outbox, RevokedRecord, Write, META_NAMESPACE};
use retention::Channels;

/// Lowest fee rate of a justice transaction (sat per 1,000 weight units; 10 sat/vB). Its fee
/// is fixed when signed, and a tower cannot bump it.
const MIN_JUSTICE_FEERATE: u32 = 2_500;
/// Where the justice transactions pay to (one wallet address, revealed once).
const DESTINATION_KEY: &str = "destination";

/// A configured tower as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TowerStatus {
	/// The tower's address as configured.
	pub url: String,
	/// The tower's public key (hex): configured, or learned from its first signed receipt.
	pub tower_id: Option<String>,
	/// `active` (appointments go through), `unreachable` (retrying), `registering`, or
	/// `misbehaving` (its last answer was not signed by its key; the reason in `last_error`;
	/// nothing it answered counts, and delivery retries).
	pub state: String,
	/// Appointments the tower accepted.
	pub delivered: u64,
	/// Appointments waiting in the outbox for this tower.
	pub pending: u64,
	/// Appointments the tower refused for good (with the reason in `last_error`).
	pub rejected: u64,
	/// Why the last attempt failed.
	pub last_error: Option<String>,
	/// When an appointment last went through (UNIX seconds).
	pub last_delivery_at: Option<u64>,
	/// Appointment slots left in the subscription.
	pub available_slots: Option<u32>,
	/// Block height the subscription ends at.
	pub subscription_expiry: Option<u32>,
}

/// The tower client: how to sign justice transactions, and the outbox with its delivery.
pub struct Towers {
	courier: Arc<Courier>,
	channels: Channels,
	keys: Arc<NodeKeysManager>,
	fees: Arc<BitcoindClient>,
	logger: Arc<FulgurLogger>,
	destination: ScriptBuf,
	signers: DashMap<ChannelId, Arc<InMemorySigner>>,
}

impl Towers {
	/// The client for the towers at `urls` (`http://host:port`, optionally `pubkey@host:port`).
	pub fn open(
		urls: &[String], store: Arc<DynStore>, keys: Arc<NodeKeysManager>,
		fees: Arc<BitcoindClient>, logger: Arc<FulgurLogger>, user_key: SecretKey,
		wallet: &crate::wallet::OnchainWallet,
	) -> Result<Arc<Towers>, NodeError> {
		let destination = match KVStoreSync::read(
			&*store,
			outbox::TOWERS_NAMESPACE,
			META_NAMESPACE,
			DESTINATION_KEY,
		) {
			Ok(bytes) => ScriptBuf::from_bytes(bytes),
			Err(_) => {
				let script = wallet.new_address()?.script_pubkey();
				KVStoreSync::write(
					&*store,
					outbox::TOWERS_NAMESPACE,
					META_NAMESPACE,
					DESTINATION_KEY,
					script.to_bytes(),
				)
				.map_err(|e| NodeError::Persistence(format!("tower destination: {e}")))?;
				script
			}
		};
		let outbox = Outbox::open(Arc::clone(&store))?;
		let channels = Channels::open(Arc::clone(&store))?;
		let links = urls
			.iter()
			.map(|url| TowerLink::load(url, &store, outbox.head()).map(Arc::new))
			.collect::<Result<Vec<_>, _>>()?;
		let courier = Courier::new(outbox, user_key, links, Arc::clone(&logger));
		Ok(Arc::new(Towers {
			courier: Arc::new(courier),
			channels,
			keys,
			fees,
			logger,
			destination,
			signers: DashMap::new(),
		}))
	}

	/// The durable side: staged commitments, appointments, revoked commitments.
	fn outbox(&self) -> &Outbox {
		&self.courier.outbox
	}

	/// Our user id with the towers.
	pub fn user_id(&self) -> PublicKey {
		self.courier.user_id()
	}

	/// Appointments not yet taken by every tower.
	pub fn outbox_len(&self) -> u64 {
		let head = self.outbox().head();
		let links = self.courier.links.iter();
		links.map(|link| head.saturating_sub(link.cursor())).max().unwrap_or(0)
	}

	/// Each tower's state.
	pub fn status(&self) -> Vec<TowerStatus> {
		self.courier.links.iter().map(|link| link.status(self.outbox().head())).collect()
	}

	/// The revoked commitment with this locator, if we made an appointment for it.
	pub fn revoked(&self, locator: &str) -> Option<RevokedRecord> {
		self.outbox().revoked(locator)
	}

	/// Starts one delivery task per tower.
	pub fn start(self: &Arc<Self>, stop: tokio_watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
		let courier = &self.courier;
		let task = |link: &Arc<TowerLink>| {
			tokio::spawn(delivery::run(Arc::clone(link), Arc::clone(courier), stop.clone()))
		};
		courier.links.iter().map(task).collect()
	}

	/// A new channel's monitor: the channel is tracked, its first counterparty commitment
	/// staged.
	pub fn on_new_monitor(
		&self, channel_id: &ChannelId, monitor: &ChannelMonitor<InMemorySigner>,
	) -> Vec<Write> {
		let funding = monitor.get_funding_txo().into_bitcoin_outpoint();
		let mut writes: Vec<Write> =
			self.channels.track(channel_id, funding, None).into_iter().collect();
		let commitment = monitor.initial_counterparty_commitment_tx();
		writes.extend(commitment.iter().map(|c| self.outbox().stage(channel_id, c)));
		writes
	}

	/// A monitor update (already applied to `monitor`): new counterparty commitments are
	/// staged, revoked ones become appointments. Returns the writes to wait for.
	pub fn on_update(
		&self, channel_id: &ChannelId, update: &ChannelMonitorUpdate,
		monitor: &ChannelMonitor<InMemorySigner>,
	) -> Vec<Write> {
		let commitments = monitor.counterparty_commitment_txs_from_update(update);
		let mut writes = Vec::new();
		if !commitments.is_empty() {
			// Channels from before this record existed are tracked from their next payment.
			let funding = monitor.get_funding_txo().into_bitcoin_outpoint();
			writes.extend(self.channels.track(channel_id, funding, None));
		}
		writes.extend(
			commitments.iter().map(|commitment| self.outbox().stage(channel_id, commitment)),
		);
		let secrets = match serialized::revealed_secrets(update) {
			Ok(secrets) => secrets,
			Err(e) => {
				self.fail(channel_id, &e);
				return writes;
			}
		};
		for revealed in secrets {
			let staged = match self.outbox().staged(channel_id, revealed.commitment_number) {
				Ok(staged) => staged,
				Err(e) => {
					self.fail(channel_id, &e.to_string());
					continue;
				}
			};
			for (key, commitment) in staged {
				match self.appointment(channel_id, monitor, &commitment, &revealed.secret) {
					Ok(appointment_writes) => writes.extend(appointment_writes),
					Err(e) => {
						self.fail(channel_id, &e);
						// Kept: the appointment can be made again by hand from the store.
						continue;
					}
				}
				writes.push(self.outbox().unstage(channel_id, &key));
			}
		}
		writes
	}

	/// The appointment for `commitment`, revoked by `secret`, appended to the outbox.
	fn appointment(
		&self, channel_id: &ChannelId, monitor: &ChannelMonitor<InMemorySigner>,
		commitment: &CommitmentTransaction, secret: &[u8; 32],
	) -> Result<Vec<Write>, String> {
		let signer = self.signer(channel_id, monitor)?;
		let justice = match justice::build(
			monitor,
			&signer,
			commitment,
			secret,
			&self.destination,
			self.justice_feerate(),
		) {
			Ok(justice) => justice,
			Err(JusticeError::NothingToClaim) => return Ok(Vec::new()),
			Err(e) => return Err(format!("justice transaction: {e:?}")),
		};
		let appointment = Appointment::for_justice_tx(
			&justice.commitment_txid,
			&justice.tx,
			justice.to_self_delay,
		);
		let revoked = RevokedRecord {
			channel_id: channel_id.0.to_lower_hex_string(),
			commitment_txid: justice.commitment_txid.to_string(),
			justice_txid: justice.tx.compute_txid().to_string(),
			justice_value_sat: justice.tx.output.iter().map(|o| o.value.to_sat()).sum(),
			htlc_outputs: justice.htlc_outputs,
		};
		let mut writes = self
			.outbox()
			.append(channel_id, commitment.commitment_number(), appointment, &revoked)
			.map_err(|e| e.to_string())?;
		if justice.to_self_delay > 0 {
			let funding = monitor.get_funding_txo().into_bitcoin_outpoint();
			writes.extend(self.channels.track(channel_id, funding, Some(justice.to_self_delay)));
		}
		Ok(writes)
	}

	/// The channel's signer (for our revocation base key), derived once per channel and
	/// checked against the basepoint the monitor holds.
	fn signer(
		&self, channel_id: &ChannelId, monitor: &ChannelMonitor<InMemorySigner>,
	) -> Result<Arc<InMemorySigner>, String> {
		if let Some(signer) = self.signers.get(channel_id) {
			return Ok(Arc::clone(&signer));
		}
		let keys = serialized::monitor_keys(monitor)?;
		let signer = self.keys.derive_channel_signer(keys.channel_keys_id);
		let basepoint = signer.pubkeys(&Secp256k1::new()).revocation_basepoint;
		if basepoint.to_public_key() != keys.revocation_basepoint {
			return Err("derived signer does not own the monitor's revocation basepoint".into());
		}
		let signer = Arc::new(signer);
		self.signers.insert(*channel_id, Arc::clone(&signer));
		Ok(signer)
	}

	fn justice_feerate(&self) -> u32 {
		let urgent = self.fees.get_est_sat_per_1000_weight(ConfirmationTarget::UrgentOnChainSweep);
		urgent.saturating_mul(2).max(MIN_JUSTICE_FEERATE)
	}

	fn fail(&self, channel_id: &ChannelId, why: &str) {
		crate::error!(self.logger, "tower client: no appointment for channel {channel_id}: {why}");
	}

	/// A block: closes are noted, channels closed long enough forgotten. The writes that make
	/// it durable.
	pub(crate) fn block_connected(&self, txdata: &TransactionData, height: u32) -> Vec<Write> {
		let (forgotten, writes) = self.channels.block_connected(self.outbox(), txdata, height);
		for channel_id in forgotten {
			self.signers.remove(&channel_id);
			crate::info!(
				self.logger,
				"tower client: channel {channel_id} closed for good; its records are dropped"
			);
		}
		writes
	}

	/// A reorg back to `fork_height`: closes above it are undone.
	pub(crate) fn blocks_disconnected(&self, fork_height: u32) -> Vec<Write> {
		self.channels.blocks_disconnected(fork_height)
	}

	/// Tells the delivery tasks that entries became durable.
	pub(crate) fn entries_durable(&self) {
		self.courier.entries_durable();
	}
}
