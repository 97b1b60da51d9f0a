//! `POST /v1/channels/{channel_id}/policy`, `POST /v1/channels/policy`: our forwarding policy;
//! `POST /v1/rebalance`: a circular payment to ourselves between two of our channels.

pub use fulgur_api::wire::payments::PaymentRecord;
pub use fulgur_api::wire::policy::{
	ForwardingPolicy, PoliciesUpdated, PolicyUpdateBody, RebalanceBody,
};
use fulgur_node::Node;

use crate::convert::{parse, policy_update, ToWire};
use crate::error::ApiError;

/// `POST /v1/channels/{channel_id}/policy` request: the path and the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateChannelPolicyRequest {
	/// Channel id (hex).
	pub channel_id: String,
	/// What to change.
	pub update: PolicyUpdateBody,
}

/// `POST /v1/channels/{channel_id}/policy`: changes one channel's policy; answers the new one.
pub(crate) async fn handle_update_channel_policy(
	node: Node, req: UpdateChannelPolicyRequest,
) -> Result<ForwardingPolicy, ApiError> {
	let id = parse::channel_id(&req.channel_id)?;
	let update = policy_update(req.update);
	Ok(node.update_channel_policy(&id, &update).await?.policy.into_wire())
}

/// `POST /v1/channels/policy`: changes every channel's policy; answers how many changed.
pub(crate) async fn handle_update_all_policies(
	node: Node, req: PolicyUpdateBody,
) -> Result<PoliciesUpdated, ApiError> {
	let update = policy_update(req);
	Ok(PoliciesUpdated { changed: node.update_all_channel_policies(&update).await? })
}

/// `POST /v1/rebalance`: pays ourselves out through one channel and in through the other;
/// answers the payment once final (a failed one as `payment_failed`, with its record).
pub(crate) async fn handle_rebalance(
	node: Node, req: RebalanceBody,
) -> Result<PaymentRecord, ApiError> {
	let req = fulgur_node::RebalanceRequest {
		out_channel_id: parse::channel_id(&req.out_channel_id)?,
		in_channel_id: parse::channel_id(&req.in_channel_id)?,
		amount_msat: req.amount_msat,
		max_fee_msat: req.max_fee_msat,
	};
	super::payments::failed_as_error(node.rebalance(req).await?.into_wire())
}
