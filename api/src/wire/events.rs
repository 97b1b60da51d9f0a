//! `GET /v1/events`, `GET /v1/events/stream`: the node's event log, and the event records
//! webhooks deliver.
//!
//! A record is `{"index": 7, "timestamp": 1700000000, "type": "invoice_paid", "invoice": {...}}`:
//! the event's fields flattened next to its index and time, its kind in `type`.

use serde::{Deserialize, Serialize};

use super::forwards::ForwardRecord;
use super::invoices::InvoiceRecord;
use super::payments::PaymentRecord;
use super::{Validate, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
use crate::error::ApiError;

/// One entry of the event log.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventRecord {
	/// Position in the log: 1 for the first event, then one more for each; never reused.
	/// Clients resume after the last index they saw and may use it to drop duplicates.
	pub index: u64,
	/// When it was recorded (UNIX seconds).
	pub timestamp: u64,
	/// What happened.
	#[serde(flatten)]
	pub event: NodeEvent,
}

/// Something that happened on the node, with its kind in `type`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NodeEvent {
	/// An invoice we issued was paid; the record as it reads once paid.
	InvoicePaid {
		/// The invoice.
		invoice: InvoiceRecord,
	},
	/// A payment to one of our hold invoices arrived and is held: the invoice waits to be
	/// settled or canceled.
	InvoiceAccepted {
		/// The invoice, as it reads once accepted.
		invoice: InvoiceRecord,
	},
	/// A payment held for one of our hold invoices was given up: canceled through the API,
	/// or failed back because its HTLCs came near their expiry unsettled. The invoice reads
	/// `canceled`, or `open` again (payable anew) when it was failed back before the invoice
	/// expired.
	InvoiceCanceled {
		/// The invoice, as it reads after.
		invoice: InvoiceRecord,
	},
	/// An invoice we issued expired unpaid.
	InvoiceExpired {
		/// The invoice.
		invoice: InvoiceRecord,
	},
	/// Money arrived without an invoice of ours (keysend, BOLT12 offer).
	PaymentReceived {
		/// The inbound payment.
		payment: PaymentRecord,
	},
	/// One of our payments arrived; the record carries preimage and fee.
	PaymentSucceeded {
		/// The payment.
		payment: PaymentRecord,
	},
	/// One of our payments failed for good; the record carries the reason.
	PaymentFailed {
		/// The payment.
		payment: PaymentRecord,
	},
	/// A channel's funding transaction is out; it waits for confirmations.
	ChannelPending {
		/// Channel id (hex).
		channel_id: String,
		/// The counterparty.
		counterparty_node_id: String,
		/// Funding outpoint `txid:vout`.
		funding_txo: String,
	},
	/// A channel can carry payments.
	ChannelReady {
		/// Channel id (hex).
		channel_id: String,
		/// The counterparty.
		counterparty_node_id: String,
	},
	/// A channel closed (or an open failed).
	ChannelClosed {
		/// Channel id (hex).
		channel_id: String,
		/// The counterparty, when known.
		counterparty_node_id: Option<String>,
		/// Why, in words.
		reason: String,
	},
	/// A peer connection came up (after the handshake).
	PeerConnected {
		/// The peer.
		node_id: String,
		/// Whether the peer connected to us.
		inbound: bool,
	},
	/// A peer connection went down.
	PeerDisconnected {
		/// The peer.
		node_id: String,
	},
	/// The on-chain wallet received funds in a confirmed transaction.
	OnchainReceived {
		/// The transaction.
		txid: String,
		/// What the wallet gained from it (received minus spent).
		amount_sat: u64,
		/// The block it confirmed in.
		block_height: u32,
	},
	/// A counterparty's revoked commitment confirmed.
	BreachSeen {
		/// Channel id (hex).
		channel_id: String,
		/// The revoked commitment transaction.
		txid: String,
	},
	/// The tower's justice transaction for a breach confirmed.
	BreachPunished {
		/// Channel id (hex).
		channel_id: String,
		/// The justice transaction.
		txid: String,
	},
	/// An HTLC forwarded through us settled: the fee is earned.
	PaymentForwarded {
		/// The forward.
		forward: ForwardRecord,
	},
	/// An HTLC we were asked to forward was failed back.
	ForwardFailed {
		/// The forward, with its failure reason.
		forward: ForwardRecord,
	},
}

impl NodeEvent {
	/// The kind, as in `type`.
	pub fn kind(&self) -> &'static str {
		match self {
			NodeEvent::InvoicePaid { .. } => "invoice_paid",
			NodeEvent::InvoiceAccepted { .. } => "invoice_accepted",
			NodeEvent::InvoiceCanceled { .. } => "invoice_canceled",
			NodeEvent::InvoiceExpired { .. } => "invoice_expired",
			NodeEvent::PaymentReceived { .. } => "payment_received",
			NodeEvent::PaymentSucceeded { .. } => "payment_succeeded",
			NodeEvent::PaymentFailed { .. } => "payment_failed",
			NodeEvent::ChannelPending { .. } => "channel_pending",
			NodeEvent::ChannelReady { .. } => "channel_ready",
			NodeEvent::ChannelClosed { .. } => "channel_closed",
			NodeEvent::PeerConnected { .. } => "peer_connected",
			NodeEvent::PeerDisconnected { .. } => "peer_disconnected",
			NodeEvent::OnchainReceived { .. } => "onchain_received",
			NodeEvent::BreachSeen { .. } => "breach_seen",
			NodeEvent::BreachPunished { .. } => "breach_punished",
			NodeEvent::PaymentForwarded { .. } => "payment_forwarded",
			NodeEvent::ForwardFailed { .. } => "forward_failed",
		}
	}
}

/// `GET /v1/events` query: `?after=&limit=` (`cursor` is `after` under its list name).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
	/// Return events with a greater index; 0 (the default) is from the start.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub after: Option<u64>,
	/// `next_cursor` of the previous page: the same as `after`.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub cursor: Option<String>,
	/// Events per page, 1 to 1000; 100 by default.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub limit: Option<usize>,
}

impl EventsQuery {
	/// (after, limit) asked for.
	pub fn bounds(&self) -> Result<(u64, usize), ApiError> {
		let limit = self.limit.unwrap_or(DEFAULT_PAGE_LIMIT);
		if limit == 0 || limit > MAX_PAGE_LIMIT {
			return Err(ApiError::invalid_request(format!(
				"limit must be between 1 and {MAX_PAGE_LIMIT}"
			)));
		}
		let cursor = match self.cursor.as_deref() {
			None => None,
			Some(c) => Some(
				c.parse::<u64>()
					.map_err(|_| ApiError::invalid_request(format!("invalid cursor {c:?}")))?,
			),
		};
		match (self.after, cursor) {
			(Some(a), Some(c)) if a != c => {
				Err(ApiError::invalid_request("give after or cursor, not both"))
			}
			(after, cursor) => Ok((after.or(cursor).unwrap_or(0), limit)),
		}
	}
}

impl Validate for EventsQuery {
	fn validate(&self) -> Result<(), ApiError> {
		self.bounds().map(|_| ())
	}
}

/// `GET /v1/events` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListEventsResponse {
	/// This page, oldest first: the events the key's scope may read (an `invoice` key reads
	/// invoice events only). May hold fewer than `limit` events, even none, while
	/// `next_cursor` says there is more to look at.
	pub events: Vec<EventRecord>,
	/// Events in the log, of every kind.
	pub total: u64,
	/// Index of the oldest event still in the log (0 when there is none): events before it
	/// were removed by the retention policy. A client resuming after `after` missed removed
	/// events when `first_index > after + 1`.
	pub first_index: u64,
	/// Index of the newest event (0 when there is none).
	pub latest_index: u64,
	/// Pass as `cursor` (or `after`) for the next page; `null` when this page reaches the
	/// newest event.
	pub next_cursor: Option<String>,
}

/// `GET /v1/events/stream` query: `?after=`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
	/// Send events with a greater index (the `Last-Event-ID` header wins over it).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub after: Option<u64>,
}

impl Validate for StreamQuery {}

/// `GET /v1/events/stream` request: where to resume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventStreamRequest {
	/// Send events with a greater index; `None`: from the next event on.
	pub after: Option<u64>,
}

#[cfg(test)]
mod tests {
	use super::*;

	fn query(after: Option<u64>, cursor: Option<&str>, limit: Option<usize>) -> EventsQuery {
		EventsQuery { after, cursor: cursor.map(str::to_owned), limit }
	}

	#[test]
	fn cursor_is_after() {
		assert_eq!(query(None, None, None).bounds().unwrap(), (0, DEFAULT_PAGE_LIMIT));
		assert_eq!(query(Some(7), None, Some(5)).bounds().unwrap(), (7, 5));
		assert_eq!(query(None, Some("7"), None).bounds().unwrap().0, 7);
		assert_eq!(query(Some(7), Some("7"), None).bounds().unwrap().0, 7);
		for bad in [
			query(Some(7), Some("8"), None),
			query(None, Some("x"), None),
			query(None, None, Some(0)),
			query(None, None, Some(1001)),
		] {
			assert_eq!(bad.validate().unwrap_err().code().as_str(), "invalid_request", "{bad:?}");
		}
	}

	#[test]
	fn kinds_match_the_serialised_type() {
		let event =
			NodeEvent::ChannelReady { channel_id: "ab".into(), counterparty_node_id: "02".into() };
		let record = EventRecord { index: 3, timestamp: 9, event };
		let json = serde_json::to_value(&record).expect("json");
		assert_eq!(json["type"], "channel_ready");
		assert_eq!(json["type"], record.event.kind());
		assert_eq!(json["index"], 3);
		assert_eq!(json["channel_id"], "ab");
		let back: EventRecord = serde_json::from_value(json).expect("parse");
		assert_eq!(back, record);
	}
}
