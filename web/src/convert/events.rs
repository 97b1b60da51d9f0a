//! Event records, as the events list and stream send them.

use fulgur_api::wire::events::{EventRecord, NodeEvent};
use fulgur_node as node;

use super::{field_by_field, ToWire};

field_by_field! {
	node::EventRecord => EventRecord { index, timestamp, event }
}

impl ToWire for node::NodeEvent {
	type Wire = NodeEvent;
	fn into_wire(self) -> NodeEvent {
		use node::NodeEvent as N;
		match self {
			N::InvoicePaid { invoice } => NodeEvent::InvoicePaid { invoice: invoice.into_wire() },
			N::InvoiceAccepted { invoice } => {
				NodeEvent::InvoiceAccepted { invoice: invoice.into_wire() }
			}
			N::InvoiceCanceled { invoice } => {
				NodeEvent::InvoiceCanceled { invoice: invoice.into_wire() }
			}
			N::InvoiceExpired { invoice } => {
				NodeEvent::InvoiceExpired { invoice: invoice.into_wire() }
			}
			N::PaymentReceived { payment } => {
				NodeEvent::PaymentReceived { payment: payment.into_wire() }
			}
			N::PaymentSucceeded { payment } => {
				NodeEvent::PaymentSucceeded { payment: payment.into_wire() }
			}
			N::PaymentFailed { payment } => {
				NodeEvent::PaymentFailed { payment: payment.into_wire() }
			}
			N::ChannelPending { channel_id, counterparty_node_id, funding_txo } => {
				NodeEvent::ChannelPending { channel_id, counterparty_node_id, funding_txo }
			}
			N::ChannelReady { channel_id, counterparty_node_id } => {
				NodeEvent::ChannelReady { channel_id, counterparty_node_id }
			}
			N::ChannelClosed { channel_id, counterparty_node_id, reason } => {
				NodeEvent::ChannelClosed { channel_id, counterparty_node_id, reason }
			}
			N::PeerConnected { node_id, inbound } => NodeEvent::PeerConnected { node_id, inbound },
			N::PeerDisconnected { node_id } => NodeEvent::PeerDisconnected { node_id },
			N::OnchainReceived { txid, amount_sat, block_height } => {
				NodeEvent::OnchainReceived { txid, amount_sat, block_height }
			}
			N::BreachSeen { channel_id, txid } => NodeEvent::BreachSeen { channel_id, txid },
			N::BreachPunished { channel_id, txid } => {
				NodeEvent::BreachPunished { channel_id, txid }
			}
			N::PaymentForwarded { forward } => {
				NodeEvent::PaymentForwarded { forward: forward.into_wire() }
			}
			N::ForwardFailed { forward } => {
				NodeEvent::ForwardFailed { forward: forward.into_wire() }
			}
		}
	}
}
