//! Payments and invoices: BOLT11, BOLT12, keysend, and the records fulgur keeps of them.

pub mod bolt11;
pub mod bolt12;
pub mod hold;
pub(crate) mod indexes;
pub mod keysend;
pub(crate) mod keyspaces;
pub mod rebalance;
mod received;
pub(crate) mod reconcile;
pub(crate) mod route_hints;
pub(crate) mod slots;

pub use received::{on_payment_claimable, on_payment_claimed, on_payment_failed, on_payment_sent};

use std::sync::Arc;
use std::time::Duration;

use bitcoin::hex::DisplayHex;
use lightning::events::{PaymentFailureReason, ReplayEvent};
use lightning::ln::channelmanager::{PaymentId, RetryableSendFailure};
use lightning::types::payment::PaymentHash;

use crate::config::{RoutingLimits, MAX_PAYMENT_RETRY_TIMEOUT, PAYMENT_WAIT_SLACK};
use crate::journal::{Journal, NodeEvent};
use crate::logger::FulgurLogger;
use crate::model::{
	InvoiceRecord, InvoiceStatus, PayRequest, PaymentDirection, PaymentKind, PaymentRecord,
	PaymentStatus,
};
use crate::parse::check_amount_msat;
use crate::records::RecordStore;
use crate::routing::Routing;
use crate::types::ChannelManager;
use crate::NodeError;

/// The payments handle: what paying, invoicing and the payment events touch.
#[derive(Clone)]
pub(crate) struct Payments {
	/// Sends, claims and fails HTLCs.
	pub(crate) channel_manager: Arc<ChannelManager>,
	/// Invoices we issued, by payment hash.
	pub(crate) invoices: Arc<RecordStore<InvoiceRecord>>,
	/// The invoices' stored counters; invoices are added and turn paid through it.
	pub(crate) invoice_indexes: Arc<indexes::InvoiceIndexes>,
	/// Our outbound payments, by payment id (see `keyspaces`).
	pub(crate) payments: Arc<RecordStore<PaymentRecord>>,
	/// Payments we received without an invoice record of ours, by payment hash; apart from
	/// `payments`, so a payment to us can never replace the record of one we made.
	pub(crate) received: Arc<RecordStore<PaymentRecord>>,
	/// The event log.
	pub(crate) journal: Arc<Journal>,
	/// Log.
	pub(crate) logger: Arc<FulgurLogger>,
	/// The chain invoices and offers must be for.
	pub(crate) network: bitcoin::Network,
	/// The router's limits for every payment sent.
	pub(crate) limits: RoutingLimits,
	/// Routes, to explain a payment that found none within its fee limit.
	pub(crate) routing: Routing,
	/// Sends waiting for a free HTLC slot.
	pub(crate) slots: Arc<slots::SlotWaiters>,
	/// Raised when the node lost its leader lease: no payment starts or settles any more.
	pub(crate) fence: crate::fence::Fence,
	/// Signs our invoices.
	pub(crate) keys: Arc<crate::keys::NodeKeysManager>,
	/// The route hints invoices carry, from a recent snapshot of the channels.
	pub(crate) route_hints: Arc<route_hints::RouteHintCache>,
}

impl Payments {
	/// Refuses to start (or settle) a payment once the node is fenced.
	pub(crate) fn refuse_if_fenced(&self) -> Result<(), NodeError> {
		match self.fence.reason() {
			None => Ok(()),
			Some(reason) => Err(NodeError::Persistence(format!(
				"this node is stopping and pays nothing more: {reason}"
			))),
		}
	}

	/// Records an event in the journal for an LDK event handler; if that fails, LDK replays
	/// the event (the journal records it once however often it is handled).
	pub(crate) async fn record(&self, event: NodeEvent) -> Result<(), ReplayEvent> {
		self.journal.append_or_replay(event, &self.logger).await
	}

	/// A failed write of an event handler: logged, and the event is replayed.
	pub(crate) fn replay(&self, e: NodeError) -> ReplayEvent {
		crate::error!(self.logger, "event not handled, will be replayed: {e}");
		ReplayEvent()
	}

	/// One invoice by payment hash, as it reads now.
	pub(crate) fn invoice(&self, payment_hash: &PaymentHash) -> Option<InvoiceRecord> {
		self.invoices.get(&payment_hash.0.to_lower_hex_string()).map(current_view)
	}

	/// Up to `limit` invoices whose counter (`index` of the record) is above `after`, by that
	/// counter, as they read now; an invoice added is listed once it is durable.
	pub(crate) fn invoices_after(
		&self, after: u64, limit: usize, index: impl Fn(&InvoiceRecord) -> Option<u64>,
	) -> Vec<InvoiceRecord> {
		let durable_add = self.invoice_indexes.durable_add_index();
		let mut found = self
			.invoices
			.matching(|r| r.add_index <= durable_add && index(r).is_some_and(|i| i > after));
		found.sort_by_key(|r| index(r));
		found.truncate(limit);
		found.into_iter().map(current_view).collect()
	}

	/// All invoices, newest first.
	pub(crate) fn all_invoices(&self) -> Vec<InvoiceRecord> {
		let mut all: Vec<_> = self.invoices.all().into_iter().map(current_view).collect();
		all.sort_by(|a, b| {
			b.created_at.cmp(&a.created_at).then_with(|| a.payment_hash.cmp(&b.payment_hash))
		});
		all
	}

	/// One payment by id: ours by payment id, else one we received by payment hash (kept
	/// under the hash's hex).
	pub(crate) fn payment(&self, payment_id: &PaymentId) -> Option<PaymentRecord> {
		let id = payment_id.0.to_lower_hex_string();
		self.payments.get(&id).or_else(|| self.received.get(&id))
	}

	/// All payments, made and received, newest first.
	pub(crate) fn all_payments(&self) -> Vec<PaymentRecord> {
		let mut all = self.payments.all();
		all.extend(self.received.all());
		all.sort_by(|a, b| {
			b.created_at.cmp(&a.created_at).then_with(|| a.payment_id.cmp(&b.payment_id))
		});
		all
	}
}

/// Pays a BOLT11 invoice or BOLT12 offer, telling them apart by prefix.
pub async fn pay(
	pay: &Payments, req: PayRequest, retry: Duration, wait: bool,
) -> Result<PaymentRecord, NodeError> {
	check_retry(retry)?;
	let text = req.invoice.trim().to_string();
	if let Some(amount) = req.amount_msat {
		check_amount_msat(amount)?;
	}
	let lower = text.to_ascii_lowercase();
	let mut updates = pay.payments.subscribe();
	let record = if lower.starts_with("lno") {
		bolt12::pay_offer(pay, &text, req.amount_msat, req.max_fee_msat, retry).await?
	} else {
		bolt11::pay_invoice(pay, &text, req.amount_msat, req.max_fee_msat, retry).await?
	};
	if !wait {
		return Ok(record);
	}
	wait_final(pay, &record.payment_id, retry, &mut updates).await
}

/// Refuses a payment retry time of zero or above [`MAX_PAYMENT_RETRY_TIMEOUT`].
pub(crate) fn check_retry(retry: Duration) -> Result<(), NodeError> {
	if retry.is_zero() || retry > MAX_PAYMENT_RETRY_TIMEOUT {
		return Err(NodeError::InvalidRequest(format!(
			"the retry time must be from 1 to {} seconds",
			MAX_PAYMENT_RETRY_TIMEOUT.as_secs()
		)));
	}
	Ok(())
}

/// Waits until a payment is final (or the wait times out, answering the pending record).
pub(crate) async fn wait_final(
	pay: &Payments, payment_id: &str, retry: Duration,
	updates: &mut tokio::sync::broadcast::Receiver<String>,
) -> Result<PaymentRecord, NodeError> {
	let deadline = tokio::time::Instant::now() + retry + PAYMENT_WAIT_SLACK;
	loop {
		let record = pay
			.payments
			.get(payment_id)
			.ok_or_else(|| NodeError::Internal(format!("payment {payment_id} vanished")))?;
		if record.status != PaymentStatus::Pending {
			return Ok(record);
		}
		tokio::select! {
			_ = tokio::time::sleep_until(deadline) => return Ok(record),
			// Any update (or a lagged receiver) means: look again.
			_ = updates.recv() => {},
		}
	}
}

/// A payment record with only its identity and status; callers add what they know with
/// struct update syntax.
pub(crate) fn new_record(
	id: &str, kind: PaymentKind, direction: PaymentDirection, status: PaymentStatus,
) -> PaymentRecord {
	let now = unix_now();
	PaymentRecord {
		payment_id: id.to_string(),
		payment_hash: None,
		kind,
		direction,
		destination: None,
		invoice: None,
		description: None,
		amount_msat: None,
		fee_msat: None,
		max_fee_msat: None,
		preimage: None,
		status,
		failure_reason: None,
		created_at: now,
		completed_at: (status != PaymentStatus::Pending).then_some(now),
	}
}

/// Marks open invoices past their expiry as expired. The event is recorded first: if the
/// record update then fails, the next round finds the invoice still open and tries again,
/// and the journal does not record the event twice.
pub async fn expire_invoices(pay: &Payments) {
	let now = unix_now();
	// Only the invoices to expire are copied: the others are read in place.
	let due = pay.invoices.matching(|i| i.status == InvoiceStatus::Open && i.expires_at <= now);
	for invoice in due {
		let expired = InvoiceRecord { status: InvoiceStatus::Expired, ..invoice.clone() };
		if let Err(e) = pay.journal.append(NodeEvent::InvoiceExpired { invoice: expired }).await {
			let hash = &invoice.payment_hash;
			crate::warn!(pay.logger, "recording expiry of invoice {hash}: {e}");
			continue;
		}
		let update = pay.invoices.update(&invoice.payment_hash, |r| {
			if r.status == InvoiceStatus::Open {
				r.status = InvoiceStatus::Expired;
				true
			} else {
				false
			}
		});
		if let Err(e) = update.await {
			crate::warn!(pay.logger, "marking invoice expired: {e}");
		}
	}
}

/// The invoice as it reads now: an open invoice past its expiry reads expired even before the
/// periodic check stored that.
pub fn current_view(mut invoice: InvoiceRecord) -> InvoiceRecord {
	if invoice.status == InvoiceStatus::Open && invoice.expires_at <= unix_now() {
		invoice.status = InvoiceStatus::Expired;
	}
	invoice
}

/// Why LDK gave up on a payment, in words.
pub fn failure_text(reason: Option<PaymentFailureReason>) -> String {
	match reason {
		Some(PaymentFailureReason::RecipientRejected) => "the recipient rejected the payment",
		Some(PaymentFailureReason::UserAbandoned) => "abandoned",
		Some(PaymentFailureReason::RetriesExhausted) => "all routes failed and retries ran out",
		Some(PaymentFailureReason::PaymentExpired) => "the invoice expired",
		Some(PaymentFailureReason::RouteNotFound) => "no route to the recipient",
		Some(PaymentFailureReason::UnexpectedError) => "unexpected error",
		Some(PaymentFailureReason::UnknownRequiredFeatures) => {
			"the invoice requires features we do not support"
		}
		Some(PaymentFailureReason::InvoiceRequestExpired) => "the offer did not answer in time",
		Some(PaymentFailureReason::InvoiceRequestRejected) => "the offer's node refused",
		Some(PaymentFailureReason::BlindedPathCreationFailed) => "could not build a blinded path",
		None => "failed",
	}
	.to_string()
}

/// Maps LDK's synchronous send failures.
pub fn send_failure(e: RetryableSendFailure) -> NodeError {
	match e {
		RetryableSendFailure::PaymentExpired => {
			NodeError::InvoiceExpired("the invoice has expired".into())
		}
		RetryableSendFailure::RouteNotFound => {
			NodeError::RouteNotFound("no route to the recipient".into())
		}
		RetryableSendFailure::DuplicatePayment => {
			NodeError::DuplicatePayment("this payment is already in flight or done".into())
		}
		RetryableSendFailure::OnionPacketSizeExceeded => {
			NodeError::InvalidRequest("payment metadata too large for the onion".into())
		}
	}
}

/// Seconds since the epoch (the one clock, [`fulgur_base::clock`]).
pub use fulgur_base::clock::unix_now;

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_retry_time_is_from_one_second_to_the_maximum() {
		assert!(check_retry(Duration::from_secs(1)).is_ok());
		assert!(check_retry(MAX_PAYMENT_RETRY_TIMEOUT).is_ok());
		for bad in [Duration::ZERO, MAX_PAYMENT_RETRY_TIMEOUT + Duration::from_secs(1)] {
			let refused = check_retry(bad).expect_err("refused");
			assert!(refused.message().contains("from 1 to 3600 seconds"), "{refused}");
		}
	}
}
