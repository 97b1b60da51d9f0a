//! Channels: open, list, close.

use std::sync::Arc;
use std::time::Duration;

use bitcoin::hex::FromHex;
use lightning::chain::channelmonitor::Balance as MonitorBalance;
use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::types::ChannelId;

use crate::config::MAX_SAT;
use crate::context::Context;
use crate::model::{ChannelInfo, OpenChannelRequest, OpenedChannel};
use crate::peers::{parse_address, parse_node_id};
use crate::NodeError;

/// How long an open waits for the peer to accept and the funding to be built.
const OPEN_TIMEOUT: Duration = Duration::from_secs(60);
/// LDK's smallest channel.
const MIN_CHANNEL_SAT: u64 = 1_000;
/// On-chain fee headroom required beyond the channel amount (funding plus anchor reserve).
const FUNDING_FEE_HEADROOM_SAT: u64 = 10_000;

/// Opens a channel and waits until its funding transaction is built and handed to bitcoind.
pub async fn open(ctx: &Arc<Context>, req: OpenChannelRequest) -> Result<OpenedChannel, NodeError> {
	let pubkey = parse_node_id(&req.node_id)?;
	parse_address(&req.address)?;
	if req.amount_sat < MIN_CHANNEL_SAT || req.amount_sat > MAX_SAT {
		return Err(NodeError::InvalidAmount(format!(
			"channel amount must be between {MIN_CHANNEL_SAT} and {MAX_SAT} sat"
		)));
	}
	let push_msat = req.push_msat.unwrap_or(0);
	if push_msat > req.amount_sat * 1000 {
		return Err(NodeError::InvalidAmount("push_msat exceeds the channel amount".into()));
	}
	let spendable = ctx.wallet.balance().confirmed_sat;
	if spendable < req.amount_sat + FUNDING_FEE_HEADROOM_SAT {
		return Err(NodeError::InsufficientFunds(format!(
			"{} sat confirmed on-chain, {} sat needed with fees",
			spendable,
			req.amount_sat + FUNDING_FEE_HEADROOM_SAT
		)));
	}
	crate::peers::connect(ctx, &req.node_id, &req.address).await?;

	let user_channel_id: u128 = rand::random();
	let (tx, rx) = tokio::sync::oneshot::channel();
	ctx.pending_opens.insert(user_channel_id, tx);
	let mut config = ctx.channel_manager.get_current_config();
	config.channel_handshake_config.announce_for_forwarding = req.announce.unwrap_or(true);
	let temporary_id = ctx
		.channel_manager
		.create_channel(pubkey, req.amount_sat, push_msat, user_channel_id, None, Some(config))
		.map_err(|e| {
			ctx.pending_opens.remove(&user_channel_id);
			NodeError::ChannelOpenFailed(format!("{e:?}"))
		})?;
	crate::info!(
		ctx.logger,
		"opening channel {temporary_id} to {pubkey} for {} sat",
		req.amount_sat
	);
	match tokio::time::timeout(OPEN_TIMEOUT, rx).await {
		Ok(Ok(Ok((channel_id, txid)))) => Ok(OpenedChannel {
			channel_id: channel_id.to_string(),
			counterparty_node_id: pubkey.to_string(),
			funding_txid: Some(txid),
		}),
		Ok(Ok(Err(reason))) => Err(NodeError::ChannelOpenFailed(reason)),
		Ok(Err(_)) => Err(NodeError::Internal("channel open notifier dropped".into())),
		Err(_) => {
			ctx.pending_opens.remove(&user_channel_id);
			// Still in progress: report the temporary id rather than a failure.
			Ok(OpenedChannel {
				channel_id: temporary_id.to_string(),
				counterparty_node_id: pubkey.to_string(),
				funding_txid: None,
			})
		}
	}
}

/// Every channel, pending ones included.
pub fn list(ctx: &Context) -> Vec<ChannelInfo> {
	let mut channels: Vec<ChannelInfo> =
		ctx.channel_manager.list_channels().iter().map(|c| channel_info(ctx, c)).collect();
	channels.sort_by(|a, b| a.channel_id.cmp(&b.channel_id));
	channels
}

/// One channel.
pub fn get(ctx: &Context, channel_id: &str) -> Result<ChannelInfo, NodeError> {
	let id = parse_channel_id(channel_id)?;
	ctx.channel_manager
		.list_channels()
		.iter()
		.find(|c| c.channel_id == id)
		.map(|c| channel_info(ctx, c))
		.ok_or_else(|| NodeError::NotFound(format!("no channel {channel_id}")))
}

/// Closes a channel: cooperatively, or by broadcasting our latest commitment when `force`.
pub fn close(ctx: &Context, channel_id: &str, force: bool) -> Result<(), NodeError> {
	let id = parse_channel_id(channel_id)?;
	let channel = ctx
		.channel_manager
		.list_channels()
		.into_iter()
		.find(|c| c.channel_id == id)
		.ok_or_else(|| NodeError::NotFound(format!("no channel {channel_id}")))?;
	let counterparty = channel.counterparty.node_id;
	let result = if force {
		ctx.channel_manager.force_close_broadcasting_latest_txn(
			&id,
			&counterparty,
			"closed by the node operator".to_string(),
		)
	} else {
		ctx.channel_manager.close_channel(&id, &counterparty)
	};
	result.map_err(|e| NodeError::ChannelCloseFailed(format!("{e:?}")))?;
	crate::info!(ctx.logger, "closing channel {id} (force: {force})");
	Ok(())
}

/// Funds of closed channels still on their way back to the wallet, in sat.
pub fn claimable_sat(ctx: &Context) -> u64 {
	let open = ctx.channel_manager.list_channels();
	let open_refs: Vec<&ChannelDetails> = open.iter().collect();
	ctx.chain_monitor
		.get_claimable_balances(&open_refs)
		.iter()
		.map(|b| match b {
			// Our share of a channel that is still open is counted as Lightning balance.
			MonitorBalance::ClaimableOnChannelClose { .. } => 0,
			other => other.claimable_amount_satoshis(),
		})
		.sum()
}

/// Parses a hex channel id.
pub fn parse_channel_id(channel_id: &str) -> Result<ChannelId, NodeError> {
	<[u8; 32]>::from_hex(channel_id.trim())
		.map(ChannelId)
		.map_err(|_| NodeError::InvalidRequest(format!("{channel_id:?} is not a channel id")))
}

fn channel_info(ctx: &Context, c: &ChannelDetails) -> ChannelInfo {
	// LDK names a (v1) channel's monitor after its funding outpoint.
	let engine = c
		.funding_txo
		.map(|o| ctx.engine_stats.channel(&format!("{}_{}", o.txid, o.index)))
		.unwrap_or_default();
	let state = if c.is_usable {
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
		is_usable: c.is_usable,
		updates_in_flight: engine.updates_in_flight,
		updates_done: engine.updates_done,
		last_persist_latency_us: engine.last_persist_latency_us,
		last_activity_at: engine.last_activity_at,
	}
}

/// `block x tx x output`, the usual short channel id notation.
pub fn format_scid(scid: u64) -> String {
	format!("{}x{}x{}", scid >> 40, (scid >> 16) & 0xff_ffff, scid & 0xffff)
}
