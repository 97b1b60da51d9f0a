//! `GET /v1/channels/closed` in LND's shape, from the node's closed-channel records.
//!
//! Invariant: every close the node recorded is listed (filtered by LND's close-type flags
//! when any is set), with its close type by LND's names; the fields fulgur has no record of
//! (initiator of a cooperative close, resolutions) read as LND's defaults.

use fulgur_node::{ClosedChannelInfo, ClosingType, Node};
use serde_json::{json, Value};

use super::encoding::{parse_flag, LndError, I64, U64};
use super::routes::Call;

/// LND's close-type filter flags and the closing types each selects.
const FILTERS: [(&str, ClosingType); 6] = [
	("cooperative", ClosingType::Cooperative),
	("local_force", ClosingType::LocalForce),
	("remote_force", ClosingType::RemoteForce),
	("breach", ClosingType::Breach),
	("funding_canceled", ClosingType::FundingFailed),
	("abandoned", ClosingType::Other),
];

/// LND's `close_type` for a closing type.
pub fn lnd_close_type(closing_type: ClosingType) -> &'static str {
	match closing_type {
		ClosingType::Cooperative => "COOPERATIVE_CLOSE",
		ClosingType::LocalForce => "LOCAL_FORCE_CLOSE",
		ClosingType::RemoteForce => "REMOTE_FORCE_CLOSE",
		ClosingType::Breach => "BREACH_CLOSE",
		ClosingType::FundingFailed => "FUNDING_CANCELED",
		// Closed without broadcasting: what LND calls abandoning a channel.
		ClosingType::Other => "ABANDONED",
	}
}

/// Who closed, when the type says it.
fn close_initiator(closing_type: ClosingType) -> &'static str {
	match closing_type {
		ClosingType::LocalForce | ClosingType::Other => "INITIATOR_LOCAL",
		ClosingType::RemoteForce | ClosingType::Breach => "INITIATOR_REMOTE",
		ClosingType::Cooperative | ClosingType::FundingFailed => "INITIATOR_UNKNOWN",
	}
}

fn closed_channel(c: &ClosedChannelInfo) -> Value {
	let r = &c.record;
	json!({
		"channel_point": r.funding_txo.clone().unwrap_or_default(),
		"chan_id": U64(0),
		"chain_hash": "",
		"closing_tx_hash": c.closing_txid.clone().unwrap_or_default(),
		"remote_pubkey": r.counterparty_node_id.clone().unwrap_or_default(),
		"capacity": I64(r.capacity_sat as i64),
		"close_height": c.closing_height.unwrap_or(0),
		"settled_balance": I64(r.settled_balance_sat as i64),
		// What is still locked on chain for us (to come back once swept).
		"time_locked_balance": I64(c.claimable_sat as i64),
		"close_type": lnd_close_type(r.closing_type),
		"open_initiator": "INITIATOR_UNKNOWN",
		"close_initiator": close_initiator(r.closing_type),
		"resolutions": [],
		"alias_scids": [],
		"zero_conf_confirmed_scid": U64(0),
		"custom_channel_data": "",
		"channel_id": r.channel_id,
	})
}

/// `GET /v1/channels/closed` with LND's `cooperative`, `local_force`, `remote_force`,
/// `breach`, `funding_canceled`, `abandoned` flags: the closes of those types (all without
/// a flag), newest first.
pub async fn closed_channels(node: &Node, call: &Call) -> Result<Value, LndError> {
	let mut wanted = Vec::new();
	for (name, closing_type) in FILTERS {
		if let Some(v) = call.get(name) {
			if parse_flag(v)
				.ok_or_else(|| LndError::invalid(format!("{name}: {v:?} is not a boolean")))?
			{
				wanted.push(closing_type);
			}
		}
	}
	let closed: Vec<Value> = node
		.closed_channels()
		.await?
		.iter()
		.filter(|c| wanted.is_empty() || wanted.contains(&c.record.closing_type))
		.map(closed_channel)
		.collect();
	Ok(json!({ "channels": closed }))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn every_closing_type_has_lnds_name_and_a_filter() {
		for (name, closing_type) in FILTERS {
			let lnd = lnd_close_type(closing_type);
			assert!(lnd.ends_with("_CLOSE") || lnd == "FUNDING_CANCELED" || lnd == "ABANDONED");
			assert!(!name.is_empty());
		}
		assert_eq!(lnd_close_type(ClosingType::RemoteForce), "REMOTE_FORCE_CLOSE");
		assert_eq!(lnd_close_type(ClosingType::Breach), "BREACH_CLOSE");
	}
}
