//! Circular rebalancing: we pay ourselves out through one channel and back in through
//! another, moving liquidity between them for the fees of the nodes on the way.
//!
//! The route is built here, since LDK's router never routes to its own node: its first hop is
//! the out channel; from that channel's peer, LDK's router finds a path to us that can only
//! end over the in channel (every other channel of ours is excluded, so the path cannot pass
//! through us either); the out peer's fee for forwarding onto that path is added in front
//! (when both channels are with one peer, that peer forwards straight back to us). We
//! are paid with a payment hash and secret of our own, so LDK claims the payment when it
//! arrives ("a simple rebalance loop" is a route LDK accepts).
//!
//! Invariants: nothing is sent unless the whole route's fee is within `max_fee_msat`; the
//! payment's record (kind `rebalance`) is durable before LDK is asked to send, so no answer
//! lost after sending makes a rebalance look unsent; the incoming half is not recorded as a
//! second payment (the rebalance record is the one trace of it).

use bitcoin::hex::DisplayHex;
use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::channelmanager::{PaymentId, RecipientOnionFields, MIN_FINAL_CLTV_EXPIRY_DELTA};
use lightning::ln::types::ChannelId;
use lightning::routing::gossip::NodeId;
use lightning::routing::gossip::RoutingFees;
use lightning::routing::router::{
	Path, PaymentParameters, Route, RouteHint, RouteHintHop, RouteHop, RouteParameters, Router,
};
use lightning::types::features::{ChannelFeatures, NodeFeatures};

use super::{new_record, send_failure, Payments};
use crate::model::{PaymentDirection, PaymentKind, PaymentRecord, PaymentStatus};
use crate::parse::check_amount_msat;
use crate::records::Insert;
use crate::NodeError;

/// How long our own payment hash may wait for the payment (seconds).
const REBALANCE_EXPIRY_SECS: u32 = 600;
/// Blocks our payment may meet on its way back to us beyond what LDK needs to claim it: the
/// final CLTV is counted from our view of the chain when sending, and LDK refuses a payment
/// whose expiry is within its claim buffer at arrival (`PaymentClaimBuffer`), so blocks found
/// meanwhile, or our view lagging the chain's tip when we sent, must not make us reject our
/// own rebalance. (It once asked for LDK's buffer plus one block: one block in between failed.)
const REBALANCE_CLTV_MARGIN: u32 = 24;
/// The CLTV delta we ask of the last hop, toward us: LDK's least final delta plus the margin.
const REBALANCE_FINAL_CLTV_DELTA: u32 = MIN_FINAL_CLTV_EXPIRY_DELTA as u32 + REBALANCE_CLTV_MARGIN;

/// What a rebalance asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RebalanceRequest {
	/// The channel the payment leaves through: its local balance goes down.
	pub out_channel_id: ChannelId,
	/// The channel it comes back through: its local balance goes up.
	pub in_channel_id: ChannelId,
	/// Amount moved, in msat.
	pub amount_msat: u64,
	/// The most the route's fees may be, in msat.
	pub max_fee_msat: u64,
}

/// Moves `amount_msat` from the out channel to the in channel; answers the payment's record
/// once it is final (or still pending when the wait times out).
pub async fn rebalance(pay: &Payments, req: RebalanceRequest) -> Result<PaymentRecord, NodeError> {
	pay.refuse_if_fenced()?;
	check_amount_msat(req.amount_msat)?;
	if req.out_channel_id == req.in_channel_id {
		return Err(NodeError::InvalidRequest(
			"out_channel_id and in_channel_id are the same channel".into(),
		));
	}
	let channels = pay.channel_manager.list_channels();
	let find = |id: &ChannelId| {
		channels
			.iter()
			.find(|c| c.channel_id == *id)
			.ok_or_else(|| NodeError::NotFound(format!("no channel {id}")))
	};
	let (out, inbound) = (find(&req.out_channel_id)?, find(&req.in_channel_id)?);
	for (channel, side) in [(out, "out"), (inbound, "in")] {
		if !channel.is_usable {
			return Err(NodeError::ChannelNotUsable(format!(
				"the {side} channel {} is not usable now (pending, or its peer is offline)",
				channel.channel_id
			)));
		}
	}
	if inbound.inbound_capacity_msat < req.amount_msat {
		return Err(NodeError::InsufficientFunds(format!(
			"the in channel can receive {} msat, less than {}",
			inbound.inbound_capacity_msat, req.amount_msat
		)));
	}
	let route = build_route(pay, out, inbound, &channels, req)?;
	let fee_msat = route.paths[0].fee_msat();
	if fee_msat > req.max_fee_msat {
		return Err(NodeError::RouteNotFound(format!(
			"no route within max_fee_msat {}: the best route costs {fee_msat} msat",
			req.max_fee_msat
		)));
	}
	if out.next_outbound_htlc_limit_msat < req.amount_msat + fee_msat {
		return Err(NodeError::InsufficientFunds(format!(
			"the out channel can send {} msat, less than {} with fees",
			out.next_outbound_htlc_limit_msat,
			req.amount_msat + fee_msat
		)));
	}
	let (hash, secret) = pay
		.channel_manager
		.create_inbound_payment(Some(req.amount_msat), REBALANCE_EXPIRY_SECS, None)
		.map_err(|()| NodeError::Internal("LDK refused to create our own payment hash".into()))?;
	let payment_id = PaymentId(hash.0);
	let id = payment_id.0.to_lower_hex_string();
	let record = PaymentRecord {
		payment_hash: Some(hash.0.to_lower_hex_string()),
		destination: Some(pay.channel_manager.get_our_node_id().to_string()),
		amount_msat: Some(req.amount_msat),
		max_fee_msat: Some(req.max_fee_msat),
		description: Some(format!("rebalance out {} in {}", req.out_channel_id, req.in_channel_id)),
		..new_record(
			&id,
			PaymentKind::Rebalance,
			PaymentDirection::Outbound,
			PaymentStatus::Pending,
		)
	};
	let mut updates = pay.payments.subscribe();
	if let Insert::Kept(_) = pay.payments.insert_unless(&id, record, |_| true).await? {
		return Err(NodeError::DuplicatePayment(format!("payment {id} exists already")));
	}
	crate::info!(
		pay.logger,
		"rebalancing {} msat out {} in {} over {} hops, fee {fee_msat} msat",
		req.amount_msat,
		req.out_channel_id,
		req.in_channel_id,
		route.paths[0].hops.len()
	);
	let onion = RecipientOnionFields::secret_only(secret);
	let sent = pay
		.slots
		.sending(|| pay.channel_manager.send_payment_with_route(route, hash, onion, payment_id));
	if let Err(e) = sent {
		let error = send_failure(e);
		super::received::mark_failed(pay, &id, error.message().to_string()).await;
		return Err(error);
	}
	// One path, no retries (`send_payment_with_route`): the node's retry window bounds the wait.
	super::wait_final(pay, &id, crate::config::PAYMENT_RETRY_TIMEOUT, &mut updates).await
}

/// Whether a payment we received is the incoming half of one of our rebalances (its record,
/// under the payment hash's hex, is the one trace of it).
pub(crate) fn is_ours(pay: &Payments, hash_hex: &str) -> bool {
	pay.payments.get(hash_hex).is_some_and(|r| r.kind == PaymentKind::Rebalance)
}

/// The route out through `out` and back in through `inbound`, for `req.amount_msat`.
fn build_route(
	pay: &Payments, out: &ChannelDetails, inbound: &ChannelDetails, ours: &[ChannelDetails],
	req: RebalanceRequest,
) -> Result<Route, NodeError> {
	let us = pay.channel_manager.get_our_node_id();
	let out_peer = out.counterparty.node_id;
	let in_scid = inbound.get_inbound_payment_scid().ok_or_else(|| {
		NodeError::ChannelNotUsable("the in channel has no short channel id yet".into())
	})?;
	let out_scid = out.get_outbound_payment_scid().ok_or_else(|| {
		NodeError::ChannelNotUsable("the out channel has no short channel id yet".into())
	})?;
	let tail = if out_peer == inbound.counterparty.node_id {
		// Two channels with one peer: it forwards straight back to us.
		vec![RouteHop {
			pubkey: us,
			node_features: pay.channel_manager.node_features(),
			short_channel_id: in_scid,
			channel_features: ChannelFeatures::empty(),
			fee_msat: req.amount_msat,
			cltv_expiry_delta: REBALANCE_FINAL_CLTV_DELTA,
			maybe_announced_channel: inbound.is_announced,
		}]
	} else {
		path_back(pay, out_peer, inbound, in_scid, ours, req)?
	};
	let ends_in = tail.last().is_some_and(|h| h.pubkey == us && h.short_channel_id == in_scid);
	let first = tail.first().ok_or_else(|| NodeError::Internal("empty path".into()))?;
	if !ends_in {
		return Err(NodeError::Internal("the path found does not end over the in channel".into()));
	}
	// The out peer forwards onto the path's first channel: its fee and CLTV delta there.
	let carried: u64 = tail.iter().map(|h| h.fee_msat).sum();
	let (fees, cltv) = forwarding_terms(pay, &out_peer, first.short_channel_id, inbound, in_scid)?;
	let out_peer_fee = u64::from(fees.base_msat)
		+ carried.saturating_mul(u64::from(fees.proportional_millionths)) / 1_000_000;
	let node_features = pay
		.routing
		.graph
		.read_only()
		.node(&NodeId::from_pubkey(&out_peer))
		.and_then(|n| n.announcement_info.as_ref().map(|a| a.features().clone()))
		.unwrap_or_else(NodeFeatures::empty);
	let mut hops = vec![RouteHop {
		pubkey: out_peer,
		node_features,
		short_channel_id: out_scid,
		channel_features: ChannelFeatures::empty(),
		fee_msat: out_peer_fee,
		cltv_expiry_delta: u32::from(cltv),
		maybe_announced_channel: out.is_announced,
	}];
	hops.extend(tail);
	Ok(Route { paths: vec![Path { hops, blinded_tail: None }], route_params: None })
}

/// The path from the out channel's peer back to us over the in channel, found by LDK's
/// router from that peer with every other channel of ours excluded.
fn path_back(
	pay: &Payments, out_peer: bitcoin::secp256k1::PublicKey, inbound: &ChannelDetails,
	in_scid: u64, ours: &[ChannelDetails], req: RebalanceRequest,
) -> Result<Vec<RouteHop>, NodeError> {
	let us = pay.channel_manager.get_our_node_id();
	let in_peer_policy = inbound.counterparty.forwarding_info.clone().ok_or_else(|| {
		NodeError::ChannelNotUsable(
			"the in channel's peer has not told us its forwarding policy yet".into(),
		)
	})?;
	// The last hop, over the in channel, as a hint: a private channel is in no graph.
	let hint = RouteHint(vec![RouteHintHop {
		src_node_id: inbound.counterparty.node_id,
		short_channel_id: in_scid,
		fees: RoutingFees {
			base_msat: in_peer_policy.fee_base_msat,
			proportional_millionths: in_peer_policy.fee_proportional_millionths,
		},
		cltv_expiry_delta: in_peer_policy.cltv_expiry_delta,
		htlc_minimum_msat: inbound.inbound_htlc_minimum_msat,
		htlc_maximum_msat: inbound.inbound_htlc_maximum_msat,
	}]);
	let mut payee = pay
		.limits
		.apply(PaymentParameters::from_node_id(us, REBALANCE_FINAL_CLTV_DELTA))
		.with_route_hints(vec![hint])
		.map_err(|()| NodeError::Internal("route hints refused".into()))?;
	payee.max_path_count = 1;
	// Every other channel of ours is off limits: the path may reach us only over the in one.
	payee.previously_failed_channels = ours
		.iter()
		.filter(|c| c.channel_id != inbound.channel_id)
		.flat_map(|c| [c.short_channel_id, c.outbound_scid_alias, c.inbound_scid_alias])
		.flatten()
		.collect();
	let mut params = RouteParameters::from_payment_params_and_value(payee, req.amount_msat);
	params.max_total_routing_fee_msat = Some(req.max_fee_msat);
	let tail = pay
		.routing
		.router
		.find_route(&out_peer, &params, None, pay.channel_manager.compute_inflight_htlcs())
		.map_err(|e| {
			NodeError::RouteNotFound(format!(
				"no route from the out channel's peer back over the in channel within \
				 max_fee_msat {}: {e}",
				req.max_fee_msat
			))
		})?;
	let path = tail.paths.into_iter().next().ok_or_else(|| {
		NodeError::RouteNotFound("the router found no path back over the in channel".into())
	})?;
	Ok(path.hops)
}

/// What `node` charges and adds to forward over channel `scid`: from the graph, or, for our
/// in channel (private, or not yet gossiped), what its peer told us.
fn forwarding_terms(
	pay: &Payments, node: &bitcoin::secp256k1::PublicKey, scid: u64, inbound: &ChannelDetails,
	in_scid: u64,
) -> Result<(RoutingFees, u16), NodeError> {
	if scid == in_scid && inbound.counterparty.node_id == *node {
		let info = inbound.counterparty.forwarding_info.clone().ok_or_else(|| {
			NodeError::ChannelNotUsable("the in channel's peer sent no forwarding policy".into())
		})?;
		let fees = RoutingFees {
			base_msat: info.fee_base_msat,
			proportional_millionths: info.fee_proportional_millionths,
		};
		return Ok((fees, info.cltv_expiry_delta));
	}
	let graph = pay.routing.graph.read_only();
	let channel = graph.channel(scid).ok_or_else(|| {
		NodeError::RouteNotFound(format!("channel {scid} of the path left the graph"))
	})?;
	let direction = if channel.node_one == NodeId::from_pubkey(node) {
		channel.one_to_two.as_ref()
	} else {
		channel.two_to_one.as_ref()
	};
	let update = direction.ok_or_else(|| {
		NodeError::RouteNotFound(format!("no policy of the out peer on channel {scid}"))
	})?;
	Ok((update.fees, update.cltv_expiry_delta))
}
