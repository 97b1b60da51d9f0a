//! The node's error type: one variant per failure a caller can act on.
//!
//! Invariant: it knows nothing of HTTP. The API maps each variant to its wire code and status
//! (`fulgur-web`'s `error` module); [`NodeError::code`] is the node's own stable name of the
//! variant, the prefix of its `Display` in logs.

use std::fmt;

/// What went wrong, with a stable machine-readable [`NodeError::code`] and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeError {
	/// The request itself is malformed (bad field, bad combination of fields).
	InvalidRequest(String),
	/// An amount is zero, negative, out of range or contradicts the invoice.
	InvalidAmount(String),
	/// A BOLT11 invoice or BOLT12 offer could not be parsed or is for another network.
	InvalidInvoice(String),
	/// A network or on-chain address could not be parsed or is for another network.
	InvalidAddress(String),
	/// The thing named does not exist (peer, channel, invoice, payment).
	NotFound(String),
	/// The invoice has expired.
	InvoiceExpired(String),
	/// This payment was already made or is in flight (same payment hash or id).
	DuplicatePayment(String),
	/// The invoice's state does not allow this: settling one that is not accepted, canceling
	/// a paid one, issuing a second invoice for a payment hash.
	InvoiceConflict(String),
	/// The peer could not be reached or is not connected.
	PeerUnreachable(String),
	/// Not enough funds on-chain or in channels.
	InsufficientFunds(String),
	/// No route was found within the limits.
	RouteNotFound(String),
	/// The payment reached a final failed state.
	PaymentFailed(String),
	/// LDK refused to open the channel.
	ChannelOpenFailed(String),
	/// LDK refused to close the channel.
	ChannelCloseFailed(String),
	/// A channel named cannot carry a payment now (pending, peer offline, no policy yet).
	ChannelNotUsable(String),
	/// The node has not caught up with the chain yet.
	NotSynced(String),
	/// Storage failed: the operation was not done.
	Persistence(String),
	/// bitcoind could not be reached or answered with an error.
	ChainSource(String),
	/// A bounded resource is in full use (every event stream slot is taken): try again later.
	Busy(String),
	/// Anything else: a bug or an unexpected state; the detail is logged.
	Internal(String),
}

impl NodeError {
	/// The variant's stable name (`snake_case`), as logs show it; the API's codes have the
	/// same names.
	pub fn code(&self) -> &'static str {
		match self {
			NodeError::InvalidRequest(_) => "invalid_request",
			NodeError::InvalidAmount(_) => "invalid_amount",
			NodeError::InvalidInvoice(_) => "invalid_invoice",
			NodeError::InvalidAddress(_) => "invalid_address",
			NodeError::NotFound(_) => "not_found",
			NodeError::InvoiceExpired(_) => "invoice_expired",
			NodeError::DuplicatePayment(_) => "duplicate_payment",
			NodeError::InvoiceConflict(_) => "invoice_conflict",
			NodeError::PeerUnreachable(_) => "peer_unreachable",
			NodeError::InsufficientFunds(_) => "insufficient_funds",
			NodeError::RouteNotFound(_) => "route_not_found",
			NodeError::PaymentFailed(_) => "payment_failed",
			NodeError::ChannelOpenFailed(_) => "channel_open_failed",
			NodeError::ChannelCloseFailed(_) => "channel_close_failed",
			NodeError::ChannelNotUsable(_) => "channel_not_usable",
			NodeError::NotSynced(_) => "not_synced",
			NodeError::Persistence(_) => "persistence_failed",
			NodeError::ChainSource(_) => "chain_source_failed",
			NodeError::Busy(_) => "busy",
			NodeError::Internal(_) => "internal",
		}
	}

	/// The human-readable message.
	pub fn message(&self) -> &str {
		match self {
			NodeError::InvalidRequest(m)
			| NodeError::InvalidAmount(m)
			| NodeError::InvalidInvoice(m)
			| NodeError::InvalidAddress(m)
			| NodeError::NotFound(m)
			| NodeError::InvoiceExpired(m)
			| NodeError::DuplicatePayment(m)
			| NodeError::InvoiceConflict(m)
			| NodeError::PeerUnreachable(m)
			| NodeError::InsufficientFunds(m)
			| NodeError::RouteNotFound(m)
			| NodeError::PaymentFailed(m)
			| NodeError::ChannelOpenFailed(m)
			| NodeError::ChannelCloseFailed(m)
			| NodeError::ChannelNotUsable(m)
			| NodeError::NotSynced(m)
			| NodeError::Persistence(m)
			| NodeError::ChainSource(m)
			| NodeError::Busy(m)
			| NodeError::Internal(m) => m,
		}
	}
}

impl fmt::Display for NodeError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "{}: {}", self.code(), self.message())
	}
}

impl std::error::Error for NodeError {}

impl From<std::io::Error> for NodeError {
	fn from(e: std::io::Error) -> Self {
		NodeError::Persistence(e.to_string())
	}
}
