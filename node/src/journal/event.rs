//! What the journal records: one [`NodeEvent`] per thing a client may want to hear about, and
//! the stored [`EventRecord`] that gives it its index and time.
//!
//! Who may read which kind is decided here and nowhere else ([`INVOICE_SCOPE_KINDS`],
//! [`kind_readable_by`]): the events list, the stream and the API's description all ask.

use serde::{Deserialize, Serialize};

use crate::api_keys::ApiScope;
use crate::model::{ForwardRecord, InvoiceRecord, InvoiceStatus, PaymentRecord};

/// One entry of the event log, as stored and as the API serves it:
/// `{"index": 7, "timestamp": 1700000000, "type": "invoice_paid", "invoice": {...}}`.
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

/// Something that happened on the node. Serialised with its kind in `type`.
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
	/// or failed back by LDK because its HTLCs came near their expiry unsettled. The invoice
	/// reads `canceled`, or `open` again (payable anew) when LDK failed it back before the
	/// invoice expired.
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
		/// The counterparty, when LDK knows it.
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
	/// A counterparty's revoked commitment confirmed (seen by the tower client, which made an
	/// appointment for it; also when the node catches up after being offline).
	BreachSeen {
		/// Channel id (hex).
		channel_id: String,
		/// The revoked commitment transaction.
		txid: String,
	},
	/// The tower's justice transaction for a breach confirmed, taking the cheating
	/// counterparty's `to_local` and HTLC outputs.
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

/// Every event kind, as it appears in `type` and in webhook filters.
pub const EVENT_KINDS: &[&str] = &[
	"invoice_paid",
	"invoice_accepted",
	"invoice_canceled",
	"invoice_expired",
	"payment_received",
	"payment_succeeded",
	"payment_failed",
	"channel_pending",
	"channel_ready",
	"channel_closed",
	"peer_connected",
	"peer_disconnected",
	"onchain_received",
	"breach_seen",
	"breach_punished",
	"payment_forwarded",
	"forward_failed",
];

/// The kinds an `invoice` key reads: the life of the node's invoices, which it may create
/// and read anyway. Payments (with their preimages), channels, peers, the wallet and
/// breaches are for `admin` and `readonly` keys only, which read every kind. A kind not
/// listed here is hidden from invoice keys.
pub const INVOICE_SCOPE_KINDS: &[&str] =
	&["invoice_paid", "invoice_accepted", "invoice_canceled", "invoice_expired"];

/// Whether a key with `scope` may read events of `kind`.
pub fn kind_readable_by(kind: &str, scope: ApiScope) -> bool {
	match scope {
		ApiScope::Admin | ApiScope::Readonly => true,
		ApiScope::Invoice => INVOICE_SCOPE_KINDS.contains(&kind),
	}
}

impl NodeEvent {
	/// Whether a key with `scope` may read this event ([`kind_readable_by`]).
	pub fn readable_by(&self, scope: ApiScope) -> bool {
		kind_readable_by(self.kind(), scope)
	}

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

	/// What makes this event unique, when it must be recorded at most once however often
	/// its cause is handled (LDK replays events after a failed step or a restart): e.g.
	/// `invoice_paid_<hash>`. `None` for events that may legitimately repeat (peers), and
	/// for failed forwards (see `forwards`).
	pub fn once_key(&self) -> Option<String> {
		let id = match self {
			NodeEvent::InvoicePaid { invoice } | NodeEvent::InvoiceExpired { invoice } => {
				invoice.payment_hash.clone()
			}
			// A hold invoice failed back while still valid is open again and may hold another
			// payment: each held payment has its own claim deadline (a later payment's HTLCs
			// expire later), and its cancellation leaves the invoice open or canceled.
			NodeEvent::InvoiceAccepted { invoice } => match invoice.claim_deadline {
				Some(deadline) => format!("{}_{deadline}", invoice.payment_hash),
				None => invoice.payment_hash.clone(),
			},
			NodeEvent::InvoiceCanceled { invoice } => {
				let status = match invoice.status {
					InvoiceStatus::Open => "open",
					_ => "canceled",
				};
				let deadline = invoice.claim_deadline.map_or("none".to_string(), |d| d.to_string());
				format!("{}_{status}_{deadline}", invoice.payment_hash)
			}
			// Money arrives once per payment hash; a replayed claim rebuilds the record.
			NodeEvent::PaymentReceived { payment } => payment.payment_id.clone(),
			// A failed payment may be tried again under the same id: each attempt is a new
			// record, told apart by its start time (which updates of it keep).
			NodeEvent::PaymentSucceeded { payment } | NodeEvent::PaymentFailed { payment } => {
				format!("{}_{}", payment.payment_id, payment.created_at)
			}
			NodeEvent::ChannelPending { channel_id, .. }
			| NodeEvent::ChannelReady { channel_id, .. }
			| NodeEvent::ChannelClosed { channel_id, .. } => channel_id.clone(),
			NodeEvent::OnchainReceived { txid, .. }
			| NodeEvent::BreachSeen { txid, .. }
			| NodeEvent::BreachPunished { txid, .. } => txid.clone(),
			// A forward's id is the same however often LDK hands its event over.
			NodeEvent::PaymentForwarded { forward } => forward.id.clone(),
			// Keys stay forever, and any peer fails HTLCs through us at will: `forwards` sees
			// to it that a failed forward's event is appended once.
			NodeEvent::ForwardFailed { .. }
			| NodeEvent::PeerConnected { .. }
			| NodeEvent::PeerDisconnected { .. } => return None,
		};
		Some(format!("{}_{id}", self.kind()))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn kinds_match_the_serialised_type() {
		let event =
			NodeEvent::ChannelReady { channel_id: "ab".into(), counterparty_node_id: "02".into() };
		let record = EventRecord { index: 3, timestamp: 9, event };
		let json = serde_json::to_value(&record).expect("json");
		assert_eq!(json["type"], "channel_ready");
		assert_eq!(json["index"], 3);
		assert_eq!(json["channel_id"], "ab");
		assert!(EVENT_KINDS.contains(&record.event.kind()));
		let back: EventRecord = serde_json::from_value(json).expect("parse");
		assert_eq!(back, record);
		assert_eq!(back.event.once_key().as_deref(), Some("channel_ready_ab"));
	}

	#[test]
	fn each_held_payment_of_a_hold_invoice_is_accepted_and_canceled_once() {
		let invoice = |status, claim_deadline| InvoiceRecord {
			payment_hash: "aa".into(),
			bolt11: "lnbcrt1".into(),
			description: String::new(),
			amount_msat: None,
			amount_received_msat: None,
			created_at: 1,
			expires_at: 2,
			paid_at: None,
			preimage: None,
			status,
			hold: true,
			claim_deadline,
			add_index: 0,
			settle_index: None,
		};
		let key = |event: NodeEvent| event.once_key().expect("keyed");
		let accepted = |deadline| {
			key(NodeEvent::InvoiceAccepted { invoice: invoice(InvoiceStatus::Accepted, deadline) })
		};
		let canceled = |status, deadline| {
			key(NodeEvent::InvoiceCanceled { invoice: invoice(status, deadline) })
		};
		// Records from before claim deadlines keep their key.
		assert_eq!(accepted(None), "invoice_accepted_aa");
		// Held at deadline 150, failed back (open again), held again at 230, canceled.
		let keys = [
			accepted(Some(150)),
			canceled(InvoiceStatus::Open, Some(150)),
			accepted(Some(230)),
			canceled(InvoiceStatus::Canceled, Some(230)),
		];
		let distinct: std::collections::HashSet<_> = keys.iter().collect();
		assert_eq!(distinct.len(), keys.len(), "{keys:?}");
		// Failed back, then canceled through the API while open: two events.
		assert_ne!(
			canceled(InvoiceStatus::Open, Some(150)),
			canceled(InvoiceStatus::Canceled, Some(150))
		);
		assert_eq!(canceled(InvoiceStatus::Canceled, None), "invoice_canceled_aa_canceled_none");
	}

	#[test]
	fn invoice_keys_read_invoice_kinds_only() {
		assert!(INVOICE_SCOPE_KINDS.iter().all(|k| EVENT_KINDS.contains(k)));
		for kind in EVENT_KINDS {
			assert!(kind_readable_by(kind, ApiScope::Admin), "{kind}");
			assert!(kind_readable_by(kind, ApiScope::Readonly), "{kind}");
			assert_eq!(kind_readable_by(kind, ApiScope::Invoice), kind.starts_with("invoice_"));
		}
		assert!(!kind_readable_by("no_such_kind", ApiScope::Invoice));
	}
}
