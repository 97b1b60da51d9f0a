//! LDK's forward events turned into what `forwards` records: `PaymentForwarded` (settled)
//! and `HTLCHandlingFailed` of a forward (failed).
//!
//! Invariant: the digest is of the whole event as LDK serialises it (what it stores and
//! hands over again), so every hand-over of one event gives the same digest.

use bitcoin::secp256k1::PublicKey;
use lightning::events::{Event, HTLCHandlingFailureReason, HTLCHandlingFailureType};
use lightning::ln::types::ChannelId;
use lightning::util::ser::Writeable;

use crate::forwards::ForwardSeen;
use crate::model::ForwardStatus;

/// The forward a `PaymentForwarded` or a forward's `HTLCHandlingFailed` reports; `None` for
/// any other event. `peer_of` finds the counterparty of one of our channels (LDK's failure
/// event names only the next node).
pub(crate) fn seen(
	event: &Event, peer_of: impl Fn(&ChannelId) -> Option<PublicKey>,
) -> Option<ForwardSeen> {
	let digest = ForwardSeen::digest(&event.encode());
	match event {
		Event::PaymentForwarded {
			prev_channel_id,
			next_channel_id,
			prev_node_id,
			next_node_id,
			total_fee_earned_msat,
			outbound_amount_forwarded_msat,
			..
		} => Some(ForwardSeen {
			digest,
			in_channel_id: prev_channel_id.map(|id| id.to_string()),
			out_channel_id: next_channel_id.map(|id| id.to_string()),
			in_peer_node_id: prev_node_id
				.or_else(|| prev_channel_id.as_ref().and_then(&peer_of))
				.map(|id| id.to_string()),
			out_peer_node_id: next_node_id
				.or_else(|| next_channel_id.as_ref().and_then(&peer_of))
				.map(|id| id.to_string()),
			out_amount_msat: *outbound_amount_forwarded_msat,
			fee_msat: *total_fee_earned_msat,
			status: ForwardStatus::Settled,
			failure_reason: None,
		}),
		Event::HTLCHandlingFailed {
			prev_channel_id,
			failure_type: HTLCHandlingFailureType::Forward { node_id, channel_id },
			failure_reason,
		} => Some(ForwardSeen {
			digest,
			in_channel_id: Some(prev_channel_id.to_string()),
			out_channel_id: Some(channel_id.to_string()),
			in_peer_node_id: peer_of(prev_channel_id).map(|id| id.to_string()),
			out_peer_node_id: node_id.or_else(|| peer_of(channel_id)).map(|id| id.to_string()),
			out_amount_msat: None,
			fee_msat: None,
			status: ForwardStatus::Failed,
			failure_reason: Some(reason(failure_reason.as_ref())),
		}),
		_ => None,
	}
}

/// A failure reason in words: LDK's local reason by name, or that the next hop failed it.
fn reason(reason: Option<&HTLCHandlingFailureReason>) -> String {
	match reason {
		Some(HTLCHandlingFailureReason::Downstream) => "failed by the next hop".to_string(),
		Some(HTLCHandlingFailureReason::Local { reason }) => format!("{reason:?}"),
		None => "unknown".to_string(),
	}
}
