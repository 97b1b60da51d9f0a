//! Node state, peers, channels, invoices and payments.

use fulgur_api::wire::channels::{ChannelInfo, OpenChannelRequest, OpenedChannel};
use fulgur_api::wire::info::{Balance, NodeInfo};
use fulgur_api::wire::invoices::{InvoiceRecord, InvoiceStatus};
use fulgur_api::wire::payments::{
	PayBody, PaymentDirection, PaymentKind, PaymentRecord, PaymentStatus,
};
use fulgur_api::wire::peers::PeerInfo;
use fulgur_api::wire::policy::{ForwardingPolicy, PolicyUpdateBody};
use fulgur_node as node;

use super::{field_by_field, parse, ToWire};
use crate::error::ApiError;

field_by_field! {
	node::NodeInfo => NodeInfo {
		node_id, network, block_height, block_hash, synced, sync_status, num_peers, num_channels,
		num_usable_channels, listening_addresses, graph_nodes, graph_channels,
		monitor_updates_in_flight, monitor_updates_done, last_persist_latency_us,
	}
	node::Balance => Balance {
		onchain_confirmed_sat, onchain_unconfirmed_sat, lightning_outbound_msat,
		lightning_inbound_msat, lightning_claimable_sat, onchain_claimable_sat,
	}
	node::PeerInfo => PeerInfo { node_id, address, connected, persisted }
	node::ChannelInfo => ChannelInfo {
		channel_id, counterparty_node_id, funding_txo, short_channel_id, capacity_sat,
		local_balance_msat, outbound_capacity_msat, inbound_capacity_msat, confirmations, state,
		announced, is_outbound, is_usable, unusable_reason, commitment_feerate_sat_per_kw, anchors,
		updates_in_flight, updates_done, last_persist_latency_us, last_activity_at, policy,
	}
	node::ForwardingPolicy => ForwardingPolicy {
		fee_base_msat, fee_ppm, cltv_expiry_delta, htlc_minimum_msat, htlc_maximum_msat,
	}
	node::OpenedChannel => OpenedChannel { channel_id, counterparty_node_id, funding_txid }
	node::PaymentRecord => PaymentRecord {
		payment_id, payment_hash, kind, direction, destination, invoice, description, amount_msat,
		fee_msat, max_fee_msat, preimage, status, failure_reason, created_at, completed_at,
	}
}

/// Field by field, as `field_by_field!`, but without the stored counters `add_index` and
/// `settle_index`: they are the LND surface's numbering, not part of this API's invoice.
impl ToWire for node::InvoiceRecord {
	type Wire = InvoiceRecord;
	fn into_wire(self) -> InvoiceRecord {
		let Self {
			payment_hash,
			bolt11,
			description,
			amount_msat,
			amount_received_msat,
			created_at,
			expires_at,
			paid_at,
			preimage,
			status,
			hold,
			claim_deadline,
			add_index: _,
			settle_index: _,
		} = self;
		InvoiceRecord {
			payment_hash,
			bolt11,
			description,
			amount_msat,
			amount_received_msat,
			created_at,
			expires_at,
			paid_at,
			preimage,
			status: status.into_wire(),
			hold,
			claim_deadline,
		}
	}
}

impl ToWire for node::InvoiceStatus {
	type Wire = InvoiceStatus;
	fn into_wire(self) -> InvoiceStatus {
		match self {
			node::InvoiceStatus::Open => InvoiceStatus::Open,
			node::InvoiceStatus::Accepted => InvoiceStatus::Accepted,
			node::InvoiceStatus::Paid => InvoiceStatus::Paid,
			node::InvoiceStatus::Expired => InvoiceStatus::Expired,
			node::InvoiceStatus::Canceled => InvoiceStatus::Canceled,
		}
	}
}

impl ToWire for node::PaymentStatus {
	type Wire = PaymentStatus;
	fn into_wire(self) -> PaymentStatus {
		match self {
			node::PaymentStatus::Pending => PaymentStatus::Pending,
			node::PaymentStatus::Succeeded => PaymentStatus::Succeeded,
			node::PaymentStatus::Failed => PaymentStatus::Failed,
		}
	}
}

impl ToWire for node::PaymentKind {
	type Wire = PaymentKind;
	fn into_wire(self) -> PaymentKind {
		match self {
			node::PaymentKind::Bolt11 => PaymentKind::Bolt11,
			node::PaymentKind::Bolt12 => PaymentKind::Bolt12,
			node::PaymentKind::Keysend => PaymentKind::Keysend,
			node::PaymentKind::Rebalance => PaymentKind::Rebalance,
		}
	}
}

impl ToWire for node::PaymentDirection {
	type Wire = PaymentDirection;
	fn into_wire(self) -> PaymentDirection {
		match self {
			node::PaymentDirection::Outbound => PaymentDirection::Outbound,
			node::PaymentDirection::Inbound => PaymentDirection::Inbound,
		}
	}
}

/// The node's request to open the channel a `POST /v1/channels` body asks for.
pub(crate) fn open_channel_request(
	req: OpenChannelRequest,
) -> Result<node::OpenChannelRequest, ApiError> {
	let OpenChannelRequest { node_id, address, amount_sat, push_msat, announce } = req;
	let node_id = parse::node_id(&node_id)?;
	Ok(node::OpenChannelRequest { node_id, address, amount_sat, push_msat, announce })
}

/// The node's request to pay what a `POST /v1/payments` body asks for (`wait` aside).
pub(crate) fn pay_request(body: PayBody) -> node::PayRequest {
	let PayBody { invoice, amount_msat, max_fee_msat, wait: _ } = body;
	node::PayRequest { invoice, amount_msat, max_fee_msat }
}

/// A policy change as the node takes it: every field as sent (the node refuses the fixed ones).
pub(crate) fn policy_update(body: PolicyUpdateBody) -> node::PolicyUpdate {
	let PolicyUpdateBody {
		fee_base_msat,
		fee_ppm,
		cltv_expiry_delta,
		htlc_minimum_msat,
		htlc_maximum_msat,
	} = body;
	node::PolicyUpdate {
		fee_base_msat,
		fee_ppm,
		cltv_expiry_delta,
		htlc_minimum_msat,
		htlc_maximum_msat,
	}
}
