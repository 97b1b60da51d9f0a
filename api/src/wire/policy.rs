//! Forwarding policy: the `policy` of `GET /v1/channels` and `GET /v1/channels/{channel_id}`,
//! `POST /v1/channels/{channel_id}/policy` and `POST /v1/channels/policy`; and
//! `POST /v1/rebalance`, which pays ourselves through two of our channels.

use serde::{Deserialize, Serialize};

use super::Validate;
use crate::error::ApiError;

/// Our forwarding policy on one channel: what our `channel_update` for our direction
/// announces.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ForwardingPolicy {
	/// Fixed fee per forwarded HTLC, in msat.
	pub fee_base_msat: u32,
	/// Proportional fee, in millionths of the forwarded amount.
	pub fee_ppm: u32,
	/// Blocks between an incoming HTLC's expiry and the one we forward.
	pub cltv_expiry_delta: u16,
	/// Smallest HTLC we forward: the peer's minimum, fixed at open; `null` until known.
	pub htlc_minimum_msat: Option<u64>,
	/// Largest HTLC we forward (derived by LDK from the capacity and the peer's limit).
	pub htlc_maximum_msat: Option<u64>,
}

/// `POST /v1/channels/{channel_id}/policy` and `POST /v1/channels/policy` body: the fields to
/// change. `htlc_minimum_msat` and `htlc_maximum_msat` are refused (LDK cannot change them);
/// they are accepted as keys only to say so clearly.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PolicyUpdateBody {
	/// New fixed fee, in msat.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub fee_base_msat: Option<u32>,
	/// New proportional fee, in millionths (at most 1,000,000).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub fee_ppm: Option<u32>,
	/// New CLTV delta, in blocks (48 to 2016).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub cltv_expiry_delta: Option<u16>,
	/// Refused: the peer's minimum, fixed at open.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub htlc_minimum_msat: Option<u64>,
	/// Refused: derived by LDK.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub htlc_maximum_msat: Option<u64>,
}

impl Validate for PolicyUpdateBody {
	fn validate(&self) -> Result<(), ApiError> {
		if self.htlc_minimum_msat.is_some() {
			return Err(ApiError::invalid_request(
				"htlc_minimum_msat cannot be changed: it is the peer's minimum, fixed when the \
				 channel was opened",
			));
		}
		if self.htlc_maximum_msat.is_some() {
			return Err(ApiError::invalid_request(
				"htlc_maximum_msat cannot be changed: LDK derives it from the capacity and \
				 what the peer allows in flight",
			));
		}
		if self.fee_base_msat.is_none()
			&& self.fee_ppm.is_none()
			&& self.cltv_expiry_delta.is_none()
		{
			return Err(ApiError::invalid_request(
				"nothing to change: give fee_base_msat, fee_ppm or cltv_expiry_delta",
			));
		}
		Ok(())
	}
}

/// `POST /v1/channels/policy` answer.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PoliciesUpdated {
	/// Channels whose policy changed (those that had it already are not counted).
	pub changed: usize,
}

/// `POST /v1/rebalance` body: pay ourselves `amount_msat` out through one channel and back
/// in through the other, for at most `max_fee_msat` in fees.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RebalanceBody {
	/// The channel whose local balance goes down (hex channel id).
	pub out_channel_id: String,
	/// The channel whose local balance goes up (hex channel id).
	pub in_channel_id: String,
	/// Amount moved; not zero.
	pub amount_msat: u64,
	/// The most the route's fees may be.
	pub max_fee_msat: u64,
}

impl Validate for RebalanceBody {
	fn validate(&self) -> Result<(), ApiError> {
		super::nonzero(Some(self.amount_msat), "amount_msat must be greater than zero")?;
		if self.out_channel_id.trim() == self.in_channel_id.trim() {
			return Err(ApiError::invalid_request(
				"out_channel_id and in_channel_id are the same channel",
			));
		}
		Ok(())
	}
}
