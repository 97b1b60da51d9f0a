//! `getinfo`, balances and channels in LND's shapes, from the node's own records. Every field
//! LND's messages have is present; what fulgur does not track reads as LND's default (zero,
//! empty, false).

use fulgur_node::{ChannelInfo, Node};
use serde_json::{json, Value};

use super::encoding::{parse_flag, LndError, I64, U64};
use super::routes::Call;

/// The LND version we answer as: clients check it to pick the API they use.
pub const LND_VERSION: &str = "0.19.0-beta";

/// LND's name for a network.
pub fn lnd_network(network: &str) -> &str {
	match network {
		"bitcoin" => "mainnet",
		other => other,
	}
}

/// `GET /v1/getinfo`.
pub fn get_info(node: &Node, alias: &str) -> Value {
	let info = node.info();
	let channels = node.list_channels();
	let pending = channels.iter().filter(|c| c.state == "pending").count();
	let active = channels.iter().filter(|c| c.is_usable).count();
	let inactive = channels.len() - pending - active;
	let uris: Vec<String> =
		info.listening_addresses.iter().map(|a| format!("{}@{a}", info.node_id)).collect();
	json!({
		"version": LND_VERSION,
		"commit_hash": "",
		"identity_pubkey": info.node_id,
		"alias": alias,
		"color": "#3399ff",
		"num_pending_channels": pending,
		"num_active_channels": active,
		"num_inactive_channels": inactive,
		"num_peers": info.num_peers,
		"block_height": info.block_height,
		"block_hash": info.block_hash,
		"best_header_timestamp": I64(0),
		"synced_to_chain": info.synced,
		"synced_to_graph": info.synced,
		"testnet": info.network == "testnet",
		"chains": [{ "chain": "bitcoin", "network": lnd_network(&info.network) }],
		"uris": uris,
		"features": {},
		"require_htlc_interceptor": false,
		"store_final_htlc_resolutions": false,
	})
}

fn amount(msat: u64) -> Value {
	json!({ "sat": U64(msat / 1000), "msat": U64(msat) })
}

fn remote_msat(c: &ChannelInfo) -> u64 {
	(c.capacity_sat * 1000).saturating_sub(c.local_balance_msat)
}

/// `GET /v1/balance/channels`: `balance` is what open channels hold on our side, in sat.
pub fn channel_balance(node: &Node) -> Value {
	let channels = node.list_channels();
	let (pending, open): (Vec<_>, Vec<_>) = channels.iter().partition(|c| c.state == "pending");
	let local: u64 = open.iter().map(|c| c.local_balance_msat).sum();
	let remote: u64 = open.iter().map(|c| remote_msat(c)).sum();
	let pending_local: u64 = pending.iter().map(|c| c.local_balance_msat).sum();
	let pending_remote: u64 = pending.iter().map(|c| remote_msat(c)).sum();
	json!({
		"balance": I64::from(local / 1000),
		"pending_open_balance": I64::from(pending_local / 1000),
		"local_balance": amount(local),
		"remote_balance": amount(remote),
		"unsettled_local_balance": amount(0),
		"unsettled_remote_balance": amount(0),
		"pending_open_local_balance": amount(pending_local),
		"pending_open_remote_balance": amount(pending_remote),
		"custom_channel_data": "",
	})
}

/// `GET /v1/balance/blockchain`.
pub fn wallet_balance(node: &Node) -> Value {
	let balance = node.balance();
	let (confirmed, unconfirmed) = (balance.onchain_confirmed_sat, balance.onchain_unconfirmed_sat);
	json!({
		"total_balance": I64::from(confirmed + unconfirmed),
		"confirmed_balance": I64::from(confirmed),
		"unconfirmed_balance": I64::from(unconfirmed),
		"locked_balance": I64(0),
		"reserved_balance_anchor_chan": I64(0),
		"account_balance": {},
	})
}

/// A short channel id `BxTxO` back in its `u64` form (LND's `chan_id`); 0 when unconfirmed.
pub fn scid_number(scid: Option<&str>) -> u64 {
	let Some(parts) = scid.map(|s| s.split('x').map(str::parse::<u64>).collect::<Vec<_>>()) else {
		return 0;
	};
	match parts.as_slice() {
		[Ok(block), Ok(tx), Ok(out)] => (block << 40) | (tx << 16) | out,
		_ => 0,
	}
}

fn channel(c: &ChannelInfo) -> Value {
	json!({
		"active": c.is_usable,
		"remote_pubkey": c.counterparty_node_id,
		"channel_point": c.funding_txo.clone().unwrap_or_default(),
		"chan_id": U64(scid_number(c.short_channel_id.as_deref())),
		"capacity": I64::from(c.capacity_sat),
		"local_balance": I64::from(c.local_balance_msat / 1000),
		"remote_balance": I64::from(remote_msat(c) / 1000),
		"commit_fee": I64(0),
		"commit_weight": I64(0),
		"fee_per_kw": I64::from(u64::from(c.commitment_feerate_sat_per_kw.unwrap_or(0))),
		"unsettled_balance": I64(0),
		"total_satoshis_sent": I64(0),
		"total_satoshis_received": I64(0),
		"num_updates": U64(c.updates_done),
		"pending_htlcs": [],
		"csv_delay": 0,
		"private": !c.announced,
		"initiator": c.is_outbound,
		"chan_status_flags": if c.is_usable { "ChanStatusDefault" } else { "ChanStatusInactive" },
		"local_chan_reserve_sat": I64(0),
		"remote_chan_reserve_sat": I64(0),
		"static_remote_key": true,
		"commitment_type": commitment_type(c),
		"lifetime": I64(0),
		"uptime": I64(0),
		"close_address": "",
		"push_amount_sat": U64(0),
		"thaw_height": 0,
		"local_constraints": null,
		"remote_constraints": null,
		"alias_scids": [],
		"zero_conf": false,
		"zero_conf_confirmed_scid": U64(0),
		"peer_alias": "",
		"peer_scid_alias": U64(0),
		"memo": "",
		"custom_channel_data": "",
	})
}

fn commitment_type(c: &ChannelInfo) -> &'static str {
	if c.anchors {
		"ANCHORS"
	} else {
		"STATIC_REMOTE_KEY"
	}
}

/// `GET /v1/channels` with `active_only`, `inactive_only`, `public_only`, `private_only`,
/// `peer` (base64 node id): open channels (not pending ones, as LND).
pub fn list_channels(node: &Node, call: &Call) -> Result<Value, LndError> {
	let flag = |name: &str| -> Result<bool, LndError> {
		match call.get(name) {
			None => Ok(false),
			Some(v) => parse_flag(v)
				.ok_or_else(|| LndError::invalid(format!("{name}: {v:?} is not a boolean"))),
		}
	};
	let (active_only, inactive_only) = (flag("active_only")?, flag("inactive_only")?);
	let (public_only, private_only) = (flag("public_only")?, flag("private_only")?);
	let peer = match call.get("peer").filter(|p| !p.is_empty()) {
		None => None,
		Some(p) => {
			let bytes = super::encoding::decode_base64(p)
				.ok_or_else(|| LndError::invalid("peer: not base64"))?;
			Some(bitcoin::hex::DisplayHex::to_lower_hex_string(bytes.as_slice()))
		}
	};
	let channels: Vec<Value> = node
		.list_channels()
		.iter()
		.filter(|c| c.state != "pending")
		.filter(|c| !active_only || c.is_usable)
		.filter(|c| !inactive_only || !c.is_usable)
		.filter(|c| !public_only || c.announced)
		.filter(|c| !private_only || !c.announced)
		.filter(|c| peer.as_ref().is_none_or(|p| *p == c.counterparty_node_id))
		.map(channel)
		.collect();
	Ok(json!({ "channels": channels }))
}

/// `GET /v1/channels/pending`: channels whose funding is not confirmed enough yet.
pub fn pending_channels(node: &Node) -> Value {
	let pending: Vec<Value> = node
		.list_channels()
		.iter()
		.filter(|c| c.state == "pending")
		.map(|c| {
			json!({
				"channel": {
					"remote_node_pub": c.counterparty_node_id,
					"channel_point": c.funding_txo.clone().unwrap_or_default(),
					"capacity": I64::from(c.capacity_sat),
					"local_balance": I64::from(c.local_balance_msat / 1000),
					"remote_balance": I64::from(remote_msat(c) / 1000),
					"local_chan_reserve_sat": I64(0),
					"remote_chan_reserve_sat": I64(0),
					"initiator": if c.is_outbound { "INITIATOR_LOCAL" } else { "INITIATOR_REMOTE" },
					"commitment_type": commitment_type(c),
					"num_forwarding_packages": I64(0),
					"chan_status_flags": "",
					"private": !c.announced,
					"memo": "",
					"custom_channel_data": "",
				},
				"commit_fee": I64(0),
				"commit_weight": I64(0),
				"fee_per_kw": I64::from(u64::from(c.commitment_feerate_sat_per_kw.unwrap_or(0))),
				"funding_expiry_blocks": 0,
				"confirmations_until_active": 0,
			})
		})
		.collect();
	json!({
		"total_limbo_balance": I64(0),
		"pending_open_channels": pending,
		"pending_closing_channels": [],
		"pending_force_closing_channels": [],
		"waiting_close_channels": [],
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn short_channel_ids_turn_back_into_numbers() {
		assert_eq!(scid_number(Some("103x1x0")), (103 << 40) | (1 << 16));
		assert_eq!(scid_number(Some("bad")), 0);
		assert_eq!(scid_number(None), 0);
	}
}
