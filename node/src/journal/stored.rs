//! The journal's stored form of an event (`fulgur_events`, keyed by zero-padded index), apart
//! from the [`EventRecord`] the node hands out.
//!
//! Invariant: field for field what fulgur before record versions wrote for an `EventRecord`
//! (version 1: `index`, `timestamp`, the kind in `type` and the kind's fields, invoices and
//! payments in their stored forms, invoices in version 2's, without the invoice counters), so
//! both versions read with these types. Events are never rewritten: the log is append-only,
//! so an event of version 1 stays version 1 until retention removes it, and is read as such.

use serde::{Deserialize, Serialize};

use super::{EventRecord, NodeEvent};
use crate::records::stored::forward::StoredForward;
use crate::records::stored::invoice::StoredInvoiceV2 as StoredInvoice;
use crate::records::stored::payment::StoredPayment;
use crate::records::version::StoredRecord;

/// A stored event, version 3 (version 2's layout; see [`StoredEvent::VERSION`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct StoredEvent {
	index: u64,
	timestamp: u64,
	#[serde(flatten)]
	event: StoredKind,
}

/// What happened, with its kind in `type`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StoredKind {
	InvoicePaid { invoice: StoredInvoice },
	InvoiceAccepted { invoice: StoredInvoice },
	InvoiceCanceled { invoice: StoredInvoice },
	InvoiceExpired { invoice: StoredInvoice },
	PaymentReceived { payment: StoredPayment },
	PaymentSucceeded { payment: StoredPayment },
	PaymentFailed { payment: StoredPayment },
	ChannelPending { channel_id: String, counterparty_node_id: String, funding_txo: String },
	ChannelReady { channel_id: String, counterparty_node_id: String },
	ChannelClosed { channel_id: String, counterparty_node_id: Option<String>, reason: String },
	PeerConnected { node_id: String, inbound: bool },
	PeerDisconnected { node_id: String },
	OnchainReceived { txid: String, amount_sat: u64, block_height: u32 },
	BreachSeen { channel_id: String, txid: String },
	BreachPunished { channel_id: String, txid: String },
	PaymentForwarded { forward: StoredForward },
	ForwardFailed { forward: StoredForward },
}

impl StoredRecord for StoredEvent {
	/// 3: a payment in an event may be of kind `rebalance` (the layout is version 2's).
	const VERSION: u32 = 3;
}

impl From<&EventRecord> for StoredEvent {
	fn from(record: &EventRecord) -> StoredEvent {
		let event = match &record.event {
			NodeEvent::InvoicePaid { invoice } => {
				StoredKind::InvoicePaid { invoice: invoice.into() }
			}
			NodeEvent::InvoiceAccepted { invoice } => {
				StoredKind::InvoiceAccepted { invoice: invoice.into() }
			}
			NodeEvent::InvoiceCanceled { invoice } => {
				StoredKind::InvoiceCanceled { invoice: invoice.into() }
			}
			NodeEvent::InvoiceExpired { invoice } => {
				StoredKind::InvoiceExpired { invoice: invoice.into() }
			}
			NodeEvent::PaymentReceived { payment } => {
				StoredKind::PaymentReceived { payment: payment.into() }
			}
			NodeEvent::PaymentSucceeded { payment } => {
				StoredKind::PaymentSucceeded { payment: payment.into() }
			}
			NodeEvent::PaymentFailed { payment } => {
				StoredKind::PaymentFailed { payment: payment.into() }
			}
			NodeEvent::ChannelPending { channel_id, counterparty_node_id, funding_txo } => {
				StoredKind::ChannelPending {
					channel_id: channel_id.clone(),
					counterparty_node_id: counterparty_node_id.clone(),
					funding_txo: funding_txo.clone(),
				}
			}
			NodeEvent::ChannelReady { channel_id, counterparty_node_id } => {
				StoredKind::ChannelReady {
					channel_id: channel_id.clone(),
					counterparty_node_id: counterparty_node_id.clone(),
				}
			}
			NodeEvent::ChannelClosed { channel_id, counterparty_node_id, reason } => {
				StoredKind::ChannelClosed {
					channel_id: channel_id.clone(),
					counterparty_node_id: counterparty_node_id.clone(),
					reason: reason.clone(),
				}
			}
			NodeEvent::PeerConnected { node_id, inbound } => {
				StoredKind::PeerConnected { node_id: node_id.clone(), inbound: *inbound }
			}
			NodeEvent::PeerDisconnected { node_id } => {
				StoredKind::PeerDisconnected { node_id: node_id.clone() }
			}
			NodeEvent::OnchainReceived { txid, amount_sat, block_height } => {
				StoredKind::OnchainReceived {
					txid: txid.clone(),
					amount_sat: *amount_sat,
					block_height: *block_height,
				}
			}
			NodeEvent::BreachSeen { channel_id, txid } => {
				StoredKind::BreachSeen { channel_id: channel_id.clone(), txid: txid.clone() }
			}
			NodeEvent::BreachPunished { channel_id, txid } => {
				StoredKind::BreachPunished { channel_id: channel_id.clone(), txid: txid.clone() }
			}
			NodeEvent::PaymentForwarded { forward } => {
				StoredKind::PaymentForwarded { forward: forward.into() }
			}
			NodeEvent::ForwardFailed { forward } => {
				StoredKind::ForwardFailed { forward: forward.into() }
			}
		};
		StoredEvent { index: record.index, timestamp: record.timestamp, event }
	}
}

impl From<StoredEvent> for EventRecord {
	fn from(stored: StoredEvent) -> EventRecord {
		let event = match stored.event {
			StoredKind::InvoicePaid { invoice } => {
				NodeEvent::InvoicePaid { invoice: invoice.into() }
			}
			StoredKind::InvoiceAccepted { invoice } => {
				NodeEvent::InvoiceAccepted { invoice: invoice.into() }
			}
			StoredKind::InvoiceCanceled { invoice } => {
				NodeEvent::InvoiceCanceled { invoice: invoice.into() }
			}
			StoredKind::InvoiceExpired { invoice } => {
				NodeEvent::InvoiceExpired { invoice: invoice.into() }
			}
			StoredKind::PaymentReceived { payment } => {
				NodeEvent::PaymentReceived { payment: payment.into() }
			}
			StoredKind::PaymentSucceeded { payment } => {
				NodeEvent::PaymentSucceeded { payment: payment.into() }
			}
			StoredKind::PaymentFailed { payment } => {
				NodeEvent::PaymentFailed { payment: payment.into() }
			}
			StoredKind::ChannelPending { channel_id, counterparty_node_id, funding_txo } => {
				NodeEvent::ChannelPending { channel_id, counterparty_node_id, funding_txo }
			}
			StoredKind::ChannelReady { channel_id, counterparty_node_id } => {
				NodeEvent::ChannelReady { channel_id, counterparty_node_id }
			}
			StoredKind::ChannelClosed { channel_id, counterparty_node_id, reason } => {
				NodeEvent::ChannelClosed { channel_id, counterparty_node_id, reason }
			}
			StoredKind::PeerConnected { node_id, inbound } => {
				NodeEvent::PeerConnected { node_id, inbound }
			}
			StoredKind::PeerDisconnected { node_id } => NodeEvent::PeerDisconnected { node_id },
			StoredKind::OnchainReceived { txid, amount_sat, block_height } => {
				NodeEvent::OnchainReceived { txid, amount_sat, block_height }
			}
			StoredKind::BreachSeen { channel_id, txid } => {
				NodeEvent::BreachSeen { channel_id, txid }
			}
			StoredKind::BreachPunished { channel_id, txid } => {
				NodeEvent::BreachPunished { channel_id, txid }
			}
			StoredKind::PaymentForwarded { forward } => {
				NodeEvent::PaymentForwarded { forward: forward.into() }
			}
			StoredKind::ForwardFailed { forward } => {
				NodeEvent::ForwardFailed { forward: forward.into() }
			}
		};
		EventRecord { index: stored.index, timestamp: stored.timestamp, event }
	}
}
