//! Closed channels: a durable record of every close LDK reports, the transaction that spent
//! each channel's funding output once it confirms, and what each closed channel still holds
//! for us on-chain.
//!
//! Invariants: a close is recorded once, when LDK first reports it (a replay of the event
//! finds the record and keeps it), and before the event counts as handled; only closes of
//! channels whose funding output was ever seen (in a block, or the mempool) are recorded: a
//! stranger can open and close channels whose funding never existed as often as it likes, at
//! no cost, and those would grow the store without bound (the journal's `channel_closed`
//! event, which retention bounds, still tells of them); the closing
//! transaction is the one seen spending the funding output in a connected block (every block
//! is scanned, the ones the node catches up on at start too), durable before the next block
//! is handed on; what is claimable comes from LDK alone (the monitors' claimable balances and
//! the sweeper's outputs whose sweep has not confirmed), never from a stored number, so it
//! drops to 0 once the funds are swept.

use std::collections::HashMap;
use std::sync::Arc;

use bitcoin::block::Header;
use bitcoin::OutPoint;
use lightning::chain::channelmonitor::Balance as MonitorBalance;
use lightning::chain::transaction::TransactionData;
use lightning::chain::{BestBlock, Listen};
use lightning::events::ClosureReason;
use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::types::ChannelId;
use lightning::sign::SpendableOutputDescriptor;
use lightning::util::sweep::{OutputSpendStatus, TrackedSpendableOutput};

use crate::chain::BitcoindClient;
use crate::logger::FulgurLogger;
use crate::model::{ClosedChannelInfo, ClosedChannelRecord, ClosingSpend, ClosingType};
use crate::records::{Insert, RecordStore};
use crate::store::DynStore;
use crate::types::{ChainMonitor, Sweeper};
use crate::NodeError;

/// Where closes are recorded, by channel id.
pub(crate) const CLOSED_NAMESPACE: &str = "fulgur_closed_channels";
/// Where closing transactions are recorded, by channel id.
pub(crate) const SPENDS_NAMESPACE: &str = "fulgur_closing_spends";

/// The closed channels handle.
pub(crate) struct ClosedChannels {
	/// Closes as LDK reported them.
	records: Arc<RecordStore<ClosedChannelRecord>>,
	/// Confirmed spends of funding outputs.
	spends: Arc<RecordStore<ClosingSpend>>,
	/// The monitors (claimable balances, funding outpoints).
	chain_monitor: Arc<ChainMonitor>,
	/// Outputs being swept to the wallet.
	sweeper: Arc<Sweeper>,
	/// Whether a funding output exists.
	bitcoind: Arc<BitcoindClient>,
	/// Log.
	logger: Arc<FulgurLogger>,
}

/// What LDK's `Event::ChannelClosed` says of a close.
pub(crate) struct Close {
	/// The channel.
	pub(crate) channel_id: ChannelId,
	/// Why.
	pub(crate) reason: ClosureReason,
	/// The counterparty, when known.
	pub(crate) counterparty_node_id: Option<bitcoin::secp256k1::PublicKey>,
	/// Channel size, when known.
	pub(crate) capacity_sat: Option<u64>,
	/// The funding outpoint, when the channel was funded.
	pub(crate) funding_txo: Option<OutPoint>,
	/// Our balance at the close, in msat.
	pub(crate) last_local_balance_msat: Option<u64>,
}

/// How a close LDK reports counts, from our side. A channel without a funding outpoint never
/// had funds on chain, whatever the reason.
pub(crate) fn closing_type(reason: &ClosureReason, funded: bool) -> ClosingType {
	if !funded {
		return ClosingType::FundingFailed;
	}
	match reason {
		ClosureReason::LegacyCooperativeClosure
		| ClosureReason::CounterpartyInitiatedCooperativeClosure
		| ClosureReason::LocallyInitiatedCooperativeClosure => ClosingType::Cooperative,
		// We broadcast our commitment: asked to, or LDK did to resolve HTLCs, an error of
		// ours, a peer's fee rate, or a manager older than its monitors.
		ClosureReason::HolderForceClosed { broadcasted_latest_txn: Some(true) | None, .. }
		| ClosureReason::HTLCsTimedOut { .. }
		| ClosureReason::ProcessingError { .. }
		| ClosureReason::PeerFeerateTooLow { .. }
		| ClosureReason::OutdatedChannelManager => ClosingType::LocalForce,
		// Closed without broadcasting anything: nothing of ours went on chain.
		ClosureReason::HolderForceClosed { broadcasted_latest_txn: Some(false), .. } => {
			ClosingType::Other
		}
		// The peer's error, or a commitment we did not broadcast confirmed (a revoked one is
		// a breach; see `ClosedChannels::record_close`).
		ClosureReason::CounterpartyForceClosed { .. } | ClosureReason::CommitmentTxConfirmed => {
			ClosingType::RemoteForce
		}
		ClosureReason::FundingTimedOut
		| ClosureReason::DisconnectedPeer
		| ClosureReason::CounterpartyCoopClosedUnfundedChannel
		| ClosureReason::LocallyCoopClosedUnfundedChannel
		| ClosureReason::FundingBatchClosure => ClosingType::FundingFailed,
	}
}

/// Whether a close is worth a durable record: only when its funding output was ever seen
/// on chain or in the mempool (`funding_seen`); a channel without a funding outpoint never
/// had one.
fn should_record(funding: Option<OutPoint>, funding_seen: bool) -> bool {
	funding.is_some() && funding_seen
}

/// A channel id as the records write it (hex); a record written by this code always is.
fn channel_id_from_hex(hex: &str) -> Option<ChannelId> {
	use bitcoin::hex::FromHex;
	<[u8; 32]>::from_hex(hex).ok().map(ChannelId)
}

/// The value of an output the sweeper tracks.
fn output_value_sat(descriptor: &SpendableOutputDescriptor) -> u64 {
	match descriptor {
		SpendableOutputDescriptor::StaticOutput { output, .. } => output.value.to_sat(),
		SpendableOutputDescriptor::DelayedPaymentOutput(d) => d.output.value.to_sat(),
		SpendableOutputDescriptor::StaticPaymentOutput(d) => d.output.value.to_sat(),
	}
}

/// Whether the sweep of an output has yet to confirm (once it has, the funds are the
/// wallet's).
fn not_yet_swept(status: &OutputSpendStatus) -> bool {
	match status {
		OutputSpendStatus::PendingInitialBroadcast { .. }
		| OutputSpendStatus::PendingFirstConfirmation { .. } => true,
		OutputSpendStatus::PendingThresholdConfirmations { .. } => false,
	}
}

impl ClosedChannels {
	/// Loads the records (blocking store reads: call at start-up).
	pub(crate) async fn load(
		store: Arc<DynStore>, chain_monitor: Arc<ChainMonitor>, sweeper: Arc<Sweeper>,
		bitcoind: Arc<BitcoindClient>, logger: Arc<FulgurLogger>,
	) -> Result<Arc<ClosedChannels>, NodeError> {
		let records = RecordStore::load(Arc::clone(&store), CLOSED_NAMESPACE).await?;
		let spends = RecordStore::load(store, SPENDS_NAMESPACE).await?;
		Ok(Arc::new(ClosedChannels { records, spends, chain_monitor, sweeper, bitcoind, logger }))
	}

	/// Whether the channel's funding output was ever seen: its spend is in a block we
	/// scanned, or bitcoind has it (unspent, or spent in the mempool).
	async fn funding_seen(&self, id: &str, funding: Option<OutPoint>) -> Result<bool, NodeError> {
		let Some(funding) = funding else { return Ok(false) };
		Ok(should_record(
			Some(funding),
			self.spends.get(id).is_some() || self.bitcoind.outpoint_seen(&funding).await?,
		))
	}

	/// Records a close LDK reported, unless it is recorded already (LDK replays events);
	/// durable when this returns `Ok`.
	pub(crate) async fn record_close(&self, close: Close) -> Result<(), NodeError> {
		let mut closing_type = closing_type(&close.reason, close.funding_txo.is_some());
		if closing_type == ClosingType::RemoteForce && self.revoked(&close.channel_id) {
			closing_type = ClosingType::Breach;
		}
		let id = close.channel_id.to_string();
		if self.records.get(&id).is_some() {
			return Ok(());
		}
		if !self.funding_seen(&id, close.funding_txo).await? {
			crate::debug!(
				self.logger,
				"channel {id} closed without its funding ever on chain: not recorded"
			);
			return Ok(());
		}
		let record = ClosedChannelRecord {
			channel_id: id.clone(),
			counterparty_node_id: close.counterparty_node_id.map(|n| n.to_string()),
			funding_txo: close.funding_txo.map(|o| o.to_string()),
			capacity_sat: close.capacity_sat.unwrap_or(0),
			closing_type,
			reason: close.reason.to_string(),
			settled_balance_sat: close.last_local_balance_msat.unwrap_or(0) / 1000,
			closed_at: fulgur_base::clock::unix_now(),
		};
		if let Insert::Written = self.records.insert_unless(&id, record, |_| true).await? {
			crate::info!(self.logger, "channel {id} recorded closed ({})", closing_type.as_str());
		}
		Ok(())
	}

	/// Whether the channel's monitor claims outputs of a revoked commitment.
	fn revoked(&self, channel_id: &ChannelId) -> bool {
		self.monitor_balances(channel_id)
			.iter()
			.any(|b| matches!(b, MonitorBalance::CounterpartyRevokedOutputClaimable { .. }))
	}

	fn monitor_balances(&self, channel_id: &ChannelId) -> Vec<MonitorBalance> {
		match self.chain_monitor.get_monitor(*channel_id) {
			Ok(monitor) => monitor.get_claimable_balances(),
			// No monitor (never funded, or archived once fully resolved): nothing to claim.
			Err(()) => Vec::new(),
		}
	}

	/// What the closed channel `channel_id` still holds for us on-chain, in sat; `tracked`
	/// is what the sweeper tracks.
	fn claimable_sat(&self, channel_id: &ChannelId, tracked: &[TrackedSpendableOutput]) -> u64 {
		let monitor: u64 =
			self.monitor_balances(channel_id).iter().map(|b| b.claimable_amount_satoshis()).sum();
		let sweeping: u64 = tracked
			.iter()
			.filter(|o| o.channel_id.as_ref() == Some(channel_id) && not_yet_swept(&o.status))
			.map(|o| output_value_sat(&o.descriptor))
			.sum();
		monitor + sweeping
	}

	/// What every closed channel still holds for us on-chain, in sat: the claimable balances
	/// of every monitor but those of `open` channels, and the outputs the sweeper has not
	/// swept yet.
	pub(crate) fn onchain_claimable_sat(&self, open: &[ChannelDetails]) -> u64 {
		let open: Vec<&ChannelDetails> = open.iter().collect();
		let monitors: u64 = self
			.chain_monitor
			.get_claimable_balances(&open)
			.iter()
			.map(|b| b.claimable_amount_satoshis())
			.sum();
		let sweeping: u64 = self
			.sweeper
			.tracked_spendable_outputs()
			.iter()
			.filter(|o| not_yet_swept(&o.status))
			.map(|o| output_value_sat(&o.descriptor))
			.sum();
		monitors + sweeping
	}

	/// Every closed channel, newest first (then by channel id), with its closing transaction
	/// and what it still holds. A remote force-close whose monitor turns out to claim a revoked
	/// commitment is recorded as the breach it is.
	pub(crate) async fn list(&self) -> Result<Vec<ClosedChannelInfo>, NodeError> {
		let tracked = self.sweeper.tracked_spendable_outputs();
		let mut all = Vec::new();
		for mut record in self.records.all() {
			let Some(channel_id) = channel_id_from_hex(&record.channel_id) else {
				continue;
			};
			if record.closing_type == ClosingType::RemoteForce && self.revoked(&channel_id) {
				let breach = |r: &mut ClosedChannelRecord| {
					r.closing_type = ClosingType::Breach;
					true
				};
				if let Some(updated) = self.records.update(&record.channel_id, breach).await? {
					record = updated;
				}
			}
			let spend = self.spends.get(&record.channel_id);
			all.push(ClosedChannelInfo {
				closing_txid: spend.as_ref().map(|s| s.txid.clone()),
				closing_height: spend.map(|s| s.height),
				claimable_sat: self.claimable_sat(&channel_id, &tracked),
				record,
			});
		}
		all.sort_by(|a, b| {
			b.record
				.closed_at
				.cmp(&a.record.closed_at)
				.then(a.record.channel_id.cmp(&b.record.channel_id))
		});
		Ok(all)
	}

	/// A chain listener recording closing transactions; `loaded` are the funding outpoints of
	/// the monitors read at start, which the chain monitor holds only after the catch-up.
	pub(crate) fn spend_watcher(
		self: &Arc<Self>, loaded: HashMap<OutPoint, ChannelId>,
	) -> ClosingSpendWatcher {
		ClosingSpendWatcher { closed: Arc::clone(self), loaded }
	}
}

/// Records the transaction of a connected block that spends a channel's funding output.
pub struct ClosingSpendWatcher {
	closed: Arc<ClosedChannels>,
	loaded: HashMap<OutPoint, ChannelId>,
}

impl ClosingSpendWatcher {
	/// The funding outpoints to look for: every monitor's (closed channels keep theirs until
	/// archived) and those read at start.
	fn watched(&self) -> HashMap<OutPoint, ChannelId> {
		let monitor = &self.closed.chain_monitor;
		let mut watched = self.loaded.clone();
		for channel_id in monitor.list_monitors() {
			if let Ok(m) = monitor.get_monitor(channel_id) {
				watched.insert(m.get_funding_txo().into_bitcoin_outpoint(), channel_id);
			}
		}
		watched
	}

	fn scan(&self, txdata: &TransactionData, height: u32) {
		let watched = self.watched();
		if watched.is_empty() {
			return;
		}
		for (_, tx) in txdata {
			let Some(channel_id) = tx.input.iter().find_map(|i| watched.get(&i.previous_output))
			else {
				continue;
			};
			let txid = tx.compute_txid().to_string();
			let id = channel_id.to_string();
			let known = self.closed.spends.get(&id);
			if known.is_some_and(|s| s.txid == txid && s.height == height) {
				continue;
			}
			let spend = ClosingSpend { txid: txid.clone(), height };
			match self.closed.spends.put_blocking(&id, spend) {
				Ok(()) => crate::info!(
					self.closed.logger,
					"channel {id}: funding spent by {txid} at height {height}"
				),
				// The record is missing, nothing else is: the close itself is LDK's.
				Err(e) => crate::error!(self.closed.logger, "recording channel {id}'s close: {e}"),
			}
		}
	}
}

impl Listen for ClosingSpendWatcher {
	fn filtered_block_connected(&self, _header: &Header, txdata: &TransactionData, height: u32) {
		// A durable write per closing transaction found: off the runtime's workers.
		crate::blocking::off_runtime(|| self.scan(txdata, height));
	}

	fn blocks_disconnected(&self, _fork_point: BestBlock) {
		// A reorged closing transaction confirms again, or another spend replaces it when its
		// block connects.
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn only_closes_whose_funding_was_seen_are_recorded() {
		let funding = OutPoint::null();
		assert!(should_record(Some(funding), true));
		// A funding outpoint a stranger made up: bitcoind never saw it.
		assert!(!should_record(Some(funding), false));
		assert!(!should_record(None, true));
		assert!(!should_record(None, false));
	}

	#[test]
	fn every_closure_reason_has_its_closing_type() {
		use ClosingType::*;
		let cases = [
			(ClosureReason::LegacyCooperativeClosure, Cooperative),
			(ClosureReason::CounterpartyInitiatedCooperativeClosure, Cooperative),
			(ClosureReason::LocallyInitiatedCooperativeClosure, Cooperative),
			(
				ClosureReason::HolderForceClosed {
					broadcasted_latest_txn: Some(true),
					message: "operator".into(),
				},
				LocalForce,
			),
			(
				ClosureReason::HolderForceClosed {
					broadcasted_latest_txn: Some(false),
					message: "operator".into(),
				},
				Other,
			),
			(ClosureReason::HTLCsTimedOut { payment_hash: None }, LocalForce),
			(ClosureReason::ProcessingError { err: "bad".into() }, LocalForce),
			(ClosureReason::OutdatedChannelManager, LocalForce),
			(
				ClosureReason::PeerFeerateTooLow {
					peer_feerate_sat_per_kw: 253,
					required_feerate_sat_per_kw: 1000,
				},
				LocalForce,
			),
			(
				ClosureReason::CounterpartyForceClosed {
					peer_msg: lightning::types::string::UntrustedString("bye".into()),
				},
				RemoteForce,
			),
			(ClosureReason::CommitmentTxConfirmed, RemoteForce),
			(ClosureReason::FundingTimedOut, FundingFailed),
			(ClosureReason::DisconnectedPeer, FundingFailed),
			(ClosureReason::CounterpartyCoopClosedUnfundedChannel, FundingFailed),
			(ClosureReason::LocallyCoopClosedUnfundedChannel, FundingFailed),
			(ClosureReason::FundingBatchClosure, FundingFailed),
		];
		for (reason, expected) in cases {
			assert_eq!(closing_type(&reason, true), expected, "{reason:?}");
			// Never funded: whatever the reason, nothing went on chain.
			assert_eq!(closing_type(&reason, false), FundingFailed, "{reason:?}");
		}
	}
}
