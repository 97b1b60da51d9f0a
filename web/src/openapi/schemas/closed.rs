//! The schemas of closed channels and the utilities (decode, message signatures).

use serde_json::Value;

use super::{array, boolean, hex, int, nullable, object, one_of, page, reference, string};

pub(super) fn schemas() -> Vec<(&'static str, Value)> {
	vec![
		(
			"ClosedChannelInfo",
			object(&[
				("channel_id", hex("channel id")),
				("counterparty_node_id", nullable(string())),
				("funding_txo", nullable(string())),
				("capacity_sat", int()),
				(
					"closing_type",
					one_of(&[
						"cooperative",
						"local_force",
						"remote_force",
						"breach",
						"funding_failed",
						"other",
					]),
				),
				("closure_reason", string()),
				("closing_txid", nullable(hex("transaction id"))),
				("closing_height", nullable(int())),
				("settled_balance_sat", int()),
				("claimable_sat", int()),
				("closed_at", int()),
			]),
		),
		("ListClosedChannelsResponse", page("closed_channels", "ClosedChannelInfo")),
		("DecodeRequest", object(&[("invoice", string())])),
		(
			"RouteHintHop",
			object(&[
				("node_id", string()),
				("short_channel_id", string()),
				("fee_base_msat", int()),
				("fee_ppm", int()),
				("cltv_expiry_delta", int()),
			]),
		),
		(
			"DecodedInvoice",
			object(&[
				("kind", one_of(&["bolt11", "bolt12_offer"])),
				("network", string()),
				("payee", nullable(string())),
				("amount_msat", nullable(int())),
				("currency", nullable(string())),
				("description", nullable(string())),
				("description_hash", nullable(hex("description hash"))),
				("created_at", nullable(int())),
				("expiry_secs", nullable(int())),
				("expires_at", nullable(int())),
				("payment_hash", nullable(hex("payment hash"))),
				("min_final_cltv_expiry_delta", nullable(int())),
				("route_hints", array(array(reference("RouteHintHop")))),
				("blinded_paths", int()),
				("issuer", nullable(string())),
				("features", array(int())),
				("expired", boolean()),
			]),
		),
		("SignMessageRequest", object(&[("message", string())])),
		("SignMessageResponse", object(&[("signature", string())])),
		("VerifyMessageRequest", object(&[("message", string()), ("signature", string())])),
		("VerifyMessageResponse", object(&[("valid", boolean()), ("node_id", nullable(string()))])),
	]
}
