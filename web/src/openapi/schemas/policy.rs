//! Schemas of forwarding policy and rebalancing.

use serde_json::Value;

use super::{hex, int, nullable, object};

/// A channel's forwarding policy, as `ChannelInfo.policy` and the policy endpoints answer it.
pub(super) fn forwarding_policy() -> Value {
	object(&[
		("fee_base_msat", int()),
		("fee_ppm", int()),
		("cltv_expiry_delta", int()),
		("htlc_minimum_msat", nullable(int())),
		("htlc_maximum_msat", nullable(int())),
	])
}

/// The schemas of the policy and rebalance endpoints.
pub(super) fn schemas() -> Vec<(&'static str, Value)> {
	vec![
		("ForwardingPolicy", forwarding_policy()),
		(
			"PolicyUpdateBody",
			object(&[
				("?fee_base_msat", int()),
				("?fee_ppm", int()),
				("?cltv_expiry_delta", int()),
				("?htlc_minimum_msat", int()),
				("?htlc_maximum_msat", int()),
			]),
		),
		("PoliciesUpdated", object(&[("changed", int())])),
		(
			"RebalanceBody",
			object(&[
				("out_channel_id", hex("channel id")),
				("in_channel_id", hex("channel id")),
				("amount_msat", int()),
				("max_fee_msat", int()),
			]),
		),
	]
}
