//! Closed channels and the utilities (decode, message signatures) to the wire.
//!
//! Invariant: like every conversion here, each node type is destructured whole; a closed
//! channel is flattened (the node keeps the record as stored apart from what is read live)
//! and its closing type spelled as the node spells it.

use fulgur_api::wire::channels::ClosedChannelInfo;
use fulgur_api::wire::utilities::{DecodedInvoice, RouteHintHop};
use fulgur_node as node;

use super::{field_by_field, ToWire};

impl ToWire for node::ClosedChannelInfo {
	type Wire = ClosedChannelInfo;
	fn into_wire(self) -> ClosedChannelInfo {
		let node::ClosedChannelInfo { record, closing_txid, closing_height, claimable_sat } = self;
		let node::ClosedChannelRecord {
			channel_id,
			counterparty_node_id,
			funding_txo,
			capacity_sat,
			closing_type,
			reason,
			settled_balance_sat,
			closed_at,
		} = record;
		ClosedChannelInfo {
			channel_id,
			counterparty_node_id,
			funding_txo,
			capacity_sat,
			closing_type: closing_type.as_str().to_string(),
			closure_reason: reason,
			closing_txid,
			closing_height,
			settled_balance_sat,
			claimable_sat,
			closed_at,
		}
	}
}

field_by_field! {
	node::decode::RouteHintHop => RouteHintHop {
		node_id, short_channel_id, fee_base_msat, fee_ppm, cltv_expiry_delta,
	}
	node::decode::DecodedInvoice => DecodedInvoice {
		kind, network, payee, amount_msat, currency, description, description_hash, created_at,
		expiry_secs, expires_at, payment_hash, min_final_cltv_expiry_delta, route_hints,
		blinded_paths, issuer, features, expired,
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_closed_channel_is_flat_on_the_wire() {
		let info = node::ClosedChannelInfo {
			record: node::ClosedChannelRecord {
				channel_id: "ab".repeat(32),
				counterparty_node_id: None,
				funding_txo: Some("cd:1".into()),
				capacity_sat: 100_000,
				closing_type: node::ClosingType::LocalForce,
				reason: "closed by the node operator".into(),
				settled_balance_sat: 40_000,
				closed_at: 7,
			},
			closing_txid: Some("ef".repeat(32)),
			closing_height: Some(120),
			claimable_sat: 39_000,
		};
		let json = serde_json::to_value(info.into_wire()).expect("json");
		assert_eq!(
			json,
			serde_json::json!({
				"channel_id": "ab".repeat(32), "counterparty_node_id": null,
				"funding_txo": "cd:1", "capacity_sat": 100000, "closing_type": "local_force",
				"closure_reason": "closed by the node operator", "closing_txid": "ef".repeat(32),
				"closing_height": 120, "settled_balance_sat": 40000, "claimable_sat": 39000,
				"closed_at": 7,
			})
		);
	}

	#[test]
	fn a_decoded_invoice_is_the_same_json() {
		let decoded = node::decode::DecodedInvoice {
			kind: "bolt11".into(),
			network: "regtest".into(),
			payee: Some("02aa".into()),
			amount_msat: Some(1000),
			currency: None,
			description: Some("coffee".into()),
			description_hash: None,
			created_at: Some(1),
			expiry_secs: Some(3600),
			expires_at: Some(3601),
			payment_hash: Some("bb".repeat(32)),
			min_final_cltv_expiry_delta: Some(18),
			route_hints: vec![vec![node::decode::RouteHintHop {
				node_id: "03cc".into(),
				short_channel_id: "1x2x3".into(),
				fee_base_msat: 1000,
				fee_ppm: 1,
				cltv_expiry_delta: 40,
			}]],
			blinded_paths: 0,
			issuer: None,
			features: vec![9, 14],
			expired: false,
		};
		let before = serde_json::to_string(&decoded).expect("json");
		assert_eq!(serde_json::to_string(&decoded.into_wire()).expect("json"), before);
	}
}
