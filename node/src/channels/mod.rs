//! Channels: open, list, close, and what funds of closed channels are still on their way
//! (closed channels themselves in `closed`).

use std::sync::Arc;

use bitcoin::secp256k1::PublicKey;
use lightning::chain::channelmonitor::Balance as MonitorBalance;
use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::types::ChannelId;

use crate::chain::BitcoindClient;
use crate::channel_stats::EngineStats;
use crate::config::{
	CHANNEL_OPEN_TIMEOUT, COOPERATIVE_CLOSE_RETRY, COOPERATIVE_CLOSE_WAIT, MAX_SAT,
};
use crate::fee_policy::FeePolicy;
use crate::logger::FulgurLogger;
use crate::model::{ChannelInfo, OpenChannelRequest, OpenedChannel};
use crate::parse::format_scid;
use crate::peers::{check_address, Peers};
use crate::types::{ChainMonitor, ChannelManager};
use crate::wallet::OnchainWallet;
use crate::NodeError;

pub(crate) mod closed;
mod pending;
pub(crate) mod policy;

pub(crate) use pending::{FundingBatch, OpenOutcome, PendingOpens, ReadyFunding};

/// LDK's smallest channel.
const MIN_CHANNEL_SAT: u64 = 1_000;
/// On-chain fee headroom required beyond the channel amount (funding plus anchor reserve).
const FUNDING_FEE_HEADROOM_SAT: u64 = 10_000;

/// The channels handle: opening, listing and closing channels, and the channel events.
#[derive(Clone)]
pub(crate) struct Channels {
	/// Channels.
	pub(crate) channel_manager: Arc<ChannelManager>,
	/// Channel monitors (balances of closed channels).
	pub(crate) chain_monitor: Arc<ChainMonitor>,
	/// Funds channels.
	pub(crate) wallet: Arc<OnchainWallet>,
	/// Fee estimates.
	pub(crate) bitcoind: Arc<BitcoindClient>,
	/// Per-channel persistence counters.
	pub(crate) engine_stats: Arc<EngineStats>,
	/// How far peers' fee rates may differ from ours.
	pub(crate) fee_policy: FeePolicy,
	/// Opens in flight.
	pub(crate) opens: Arc<PendingOpens>,
	/// Connects to the peer of an open.
	pub(crate) peers: Peers,
	/// Closed channels: their records and what they still hold.
	pub(crate) closed: Arc<closed::ClosedChannels>,
	/// Log.
	pub(crate) logger: Arc<FulgurLogger>,
	/// The channel manager's one writer, to make a change of the manager's own state (a
	/// channel's policy) durable before it is answered; `None` on the `fs-sync` baseline.
	pub(crate) manager_writes: Option<Arc<crate::persistence::ManagerBarrier>>,
}

/// A validated open request.
struct CheckedOpen {
	pubkey: PublicKey,
	amount_sat: u64,
	push_msat: u64,
	announce: bool,
}

fn check(req: &OpenChannelRequest) -> Result<CheckedOpen, NodeError> {
	let pubkey = req.node_id;
	check_address(&req.address)?;
	if req.amount_sat < MIN_CHANNEL_SAT || req.amount_sat > MAX_SAT {
		return Err(NodeError::InvalidAmount(format!(
			"channel amount must be between {MIN_CHANNEL_SAT} and {MAX_SAT} sat"
		)));
	}
	let push_msat = req.push_msat.unwrap_or(0);
	if push_msat > req.amount_sat * 1000 {
		return Err(NodeError::InvalidAmount("push_msat exceeds the channel amount".into()));
	}
	Ok(CheckedOpen {
		pubkey,
		amount_sat: req.amount_sat,
		push_msat,
		announce: req.announce.unwrap_or(true),
	})
}

fn check_funds(channels: &Channels, amount_sat: u64, count: u64) -> Result<(), NodeError> {
	let spendable = channels.wallet.balance().confirmed_sat;
	let needed = amount_sat + FUNDING_FEE_HEADROOM_SAT * count;
	if spendable < needed {
		return Err(NodeError::InsufficientFunds(format!(
			"{spendable} sat confirmed on-chain, {needed} sat needed with fees"
		)));
	}
	Ok(())
}

/// Asks LDK for the channel; the outcome arrives on the returned receiver.
fn create(
	channels: &Channels, open: &CheckedOpen, user_channel_id: u128,
) -> Result<(ChannelId, tokio::sync::oneshot::Receiver<OpenOutcome>), NodeError> {
	let (tx, rx) = tokio::sync::oneshot::channel();
	channels.opens.waiting.insert(user_channel_id, tx);
	let mut config = channels.channel_manager.get_current_config();
	config.channel_handshake_config.announce_for_forwarding = open.announce;
	let temporary_id = channels
		.channel_manager
		.create_channel(
			open.pubkey,
			open.amount_sat,
			open.push_msat,
			user_channel_id,
			None,
			Some(config),
		)
		.map_err(|e| {
			channels.opens.waiting.remove(&user_channel_id);
			NodeError::ChannelOpenFailed(format!("{e:?}"))
		})?;
	crate::info!(
		channels.logger,
		"opening channel {temporary_id} to {} for {} sat",
		open.pubkey,
		open.amount_sat
	);
	Ok((temporary_id, rx))
}

/// Waits for an open's outcome; an open still in progress at the timeout is reported with
/// its temporary id and no funding txid rather than as a failure.
async fn outcome(
	channels: &Channels, open: &CheckedOpen, user_channel_id: u128, temporary_id: ChannelId,
	rx: tokio::sync::oneshot::Receiver<OpenOutcome>,
) -> Result<OpenedChannel, NodeError> {
	let counterparty_node_id = open.pubkey.to_string();
	match tokio::time::timeout(CHANNEL_OPEN_TIMEOUT, rx).await {
		Ok(Ok(Ok((channel_id, txid)))) => Ok(OpenedChannel {
			channel_id: channel_id.to_string(),
			counterparty_node_id,
			funding_txid: Some(txid),
		}),
		Ok(Ok(Err(reason))) => Err(NodeError::ChannelOpenFailed(reason)),
		Ok(Err(_)) => Err(NodeError::Internal("channel open notifier dropped".into())),
		Err(_) => {
			channels.opens.waiting.remove(&user_channel_id);
			Ok(OpenedChannel {
				channel_id: temporary_id.to_string(),
				counterparty_node_id,
				funding_txid: None,
			})
		}
	}
}

/// Opens a channel and waits until its funding transaction is built and handed to bitcoind.
pub async fn open(
	channels: &Channels, req: OpenChannelRequest,
) -> Result<OpenedChannel, NodeError> {
	let open = check(&req)?;
	check_funds(channels, open.amount_sat, 1)?;
	channels.peers.connect(req.node_id, &req.address).await?;
	let user_channel_id: u128 = rand::random();
	let (temporary_id, rx) = create(channels, &open, user_channel_id)?;
	outcome(channels, &open, user_channel_id, temporary_id, rx).await
}

/// Opens several channels funded by one transaction (LDK's batch funding): one transaction
/// instead of many, and no chains of unconfirmed change between them. If any channel of the
/// batch fails, LDK closes them all.
pub async fn open_batch(
	channels: &Channels, reqs: Vec<OpenChannelRequest>,
) -> Result<Vec<OpenedChannel>, NodeError> {
	if reqs.is_empty() {
		return Err(NodeError::InvalidRequest("no channels to open".into()));
	}
	let opens = reqs.iter().map(check).collect::<Result<Vec<_>, _>>()?;
	let total = opens
		.iter()
		.try_fold(0u64, |sum, o| sum.checked_add(o.amount_sat))
		.ok_or_else(|| NodeError::InvalidAmount("the channels add up to too much".into()))?;
	check_funds(channels, total, 1)?;
	for req in &reqs {
		channels.peers.connect(req.node_id, &req.address).await?;
	}
	let batch = Arc::new(FundingBatch::new(opens.len()));
	let mut created = Vec::with_capacity(opens.len());
	for open in &opens {
		let user_channel_id: u128 = rand::random();
		channels.opens.funding_batches.insert(user_channel_id, Arc::clone(&batch));
		match create(channels, open, user_channel_id) {
			Ok((temporary_id, rx)) => created.push((user_channel_id, temporary_id, rx)),
			Err(e) => {
				// The batch can never complete: drop what was started.
				for (id, temporary_id, _) in &created {
					channels.opens.funding_batches.remove(id);
					let _ = channels.channel_manager.force_close_broadcasting_latest_txn(
						temporary_id,
						&open.pubkey,
						"batch aborted".into(),
					);
				}
				channels.opens.funding_batches.remove(&user_channel_id);
				return Err(e);
			}
		}
	}
	let mut opened = Vec::with_capacity(created.len());
	for (open, (user_channel_id, temporary_id, rx)) in opens.iter().zip(created) {
		let result = outcome(channels, open, user_channel_id, temporary_id, rx).await;
		channels.opens.funding_batches.remove(&user_channel_id);
		opened.push(result?);
	}
	Ok(opened)
}

/// Every channel, pending ones included.
pub fn list(channels: &Channels) -> Vec<ChannelInfo> {
	let mut all: Vec<ChannelInfo> = channels
		.channel_manager
		.list_channels()
		.iter()
		.map(|c| channel_info(channels, c))
		.collect();
	all.sort_by(|a, b| a.channel_id.cmp(&b.channel_id));
	all
}

/// One channel, if we have it.
pub fn get(channels: &Channels, channel_id: &ChannelId) -> Option<ChannelInfo> {
	channels
		.channel_manager
		.list_channels()
		.iter()
		.find(|c| c.channel_id == *channel_id)
		.map(|c| channel_info(channels, c))
}

/// Closes a channel: cooperatively, or by broadcasting our latest commitment when `force`.
///
/// LDK begins a cooperative close only while the peer is connected and no monitor update of
/// the channel is in flight, and refuses it otherwise; both pass by themselves (the node
/// reconnects to channel peers, updates complete), so that refusal is asked again for up to
/// [`COOPERATIVE_CLOSE_WAIT`] before it is answered. Any other refusal is answered at once.
pub async fn close(channels: &Channels, id: &ChannelId, force: bool) -> Result<(), NodeError> {
	let deadline = tokio::time::Instant::now() + COOPERATIVE_CLOSE_WAIT;
	loop {
		let channel = channels
			.channel_manager
			.list_channels()
			.into_iter()
			.find(|c| c.channel_id == *id)
			.ok_or_else(|| NodeError::NotFound(format!("no channel {id}")))?;
		let counterparty = channel.counterparty.node_id;
		// A force close broadcasts through bitcoind, synchronously.
		let result = crate::blocking::off_runtime(|| {
			if force {
				channels.channel_manager.force_close_broadcasting_latest_txn(
					id,
					&counterparty,
					"closed by the node operator".to_string(),
				)
			} else {
				channels.channel_manager.close_channel(id, &counterparty)
			}
		});
		match result {
			Ok(()) => break,
			Err(e) if !force && refused_for_now(&e) && tokio::time::Instant::now() < deadline => {
				tokio::time::sleep(COOPERATIVE_CLOSE_RETRY).await;
			}
			Err(e) if !force && refused_for_now(&e) => {
				return Err(NodeError::ChannelCloseFailed(format!(
					"the peer stayed disconnected or an update of the channel stayed in flight \
					 for {} s (a cooperative close needs the peer; force-close instead): {e:?}",
					COOPERATIVE_CLOSE_WAIT.as_secs()
				)))
			}
			Err(e) => return Err(NodeError::ChannelCloseFailed(format!("{e:?}"))),
		}
	}
	crate::info!(channels.logger, "closing channel {id} (force: {force})");
	Ok(())
}

/// LDK's refusal of a cooperative close for a reason that passes by itself: the peer is
/// disconnected or a monitor update is in flight (LDK says both in one message).
fn refused_for_now(e: &lightning::util::errors::APIError) -> bool {
	matches!(e, lightning::util::errors::APIError::ChannelUnavailable { err }
		if err.contains("peer is disconnected") || err.contains("waiting on a monitor update"))
}

/// Funds of closed channels still on their way back to the wallet, in sat.
pub fn claimable_sat(channels: &Channels) -> u64 {
	let open = channels.channel_manager.list_channels();
	let open_refs: Vec<&ChannelDetails> = open.iter().collect();
	channels
		.chain_monitor
		.get_claimable_balances(&open_refs)
		.iter()
		.map(|b| match b {
			// Our share of a channel that is still open is counted as Lightning balance.
			MonitorBalance::ClaimableOnChannelClose { .. } => 0,
			other => other.claimable_amount_satoshis(),
		})
		.sum()
}

fn channel_info(channels: &Channels, c: &ChannelDetails) -> ChannelInfo {
	// LDK names a (v1) channel's monitor after its funding outpoint.
	let engine = c
		.funding_txo
		.map(|o| channels.engine_stats.channel(&format!("{}_{}", o.txid, o.index)))
		.unwrap_or_default();
	let ceiling = channels.bitcoind.peer_fee_rate_ceiling();
	let receive_blocked = crate::fee_policy::receive_blocked(c, &channels.fee_policy, ceiling);
	let is_usable = c.is_usable && receive_blocked.is_none();
	let state = if is_usable {
		"usable"
	} else if c.is_channel_ready {
		"ready"
	} else {
		"pending"
	};
	let reserve_msat = c.unspendable_punishment_reserve.unwrap_or(0) * 1000;
	ChannelInfo {
		channel_id: c.channel_id.to_string(),
		counterparty_node_id: c.counterparty.node_id.to_string(),
		funding_txo: c.funding_txo.map(|o| format!("{}:{}", o.txid, o.index)),
		short_channel_id: c.short_channel_id.map(format_scid),
		capacity_sat: c.channel_value_satoshis,
		local_balance_msat: c.outbound_capacity_msat + reserve_msat,
		outbound_capacity_msat: c.outbound_capacity_msat,
		inbound_capacity_msat: c.inbound_capacity_msat,
		confirmations: c.confirmations,
		state: state.to_string(),
		announced: c.is_announced,
		is_outbound: c.is_outbound,
		is_usable,
		unusable_reason: receive_blocked,
		commitment_feerate_sat_per_kw: c.feerate_sat_per_1000_weight,
		anchors: c.channel_type.as_ref().is_some_and(|t| t.supports_anchors_zero_fee_htlc_tx()),
		updates_in_flight: engine.updates_in_flight,
		updates_done: engine.updates_done,
		last_persist_latency_us: engine.last_persist_latency_us,
		last_activity_at: engine.last_activity_at,
		policy: policy::of(c),
	}
}
