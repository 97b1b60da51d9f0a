//! Payments and invoices: BOLT11, BOLT12, keysend, and the records fulgur keeps of them.

pub mod bolt11;
pub mod bolt12;
pub mod hold;
pub mod keysend;
pub(crate) mod keyspaces;
mod received;
pub(crate) mod reconcile;

pub use received::{on_payment_claimable, on_payment_claimed, on_payment_failed, on_payment_sent};

use std::sync::Arc;

use lightning::events::PaymentFailureReason;
use lightning::ln::channelmanager::RetryableSendFailure;

use crate::config::{PAYMENT_RETRY_TIMEOUT, PAYMENT_WAIT_SLACK};
use crate::context::Context;
use crate::journal::NodeEvent;
use crate::model::{
	InvoiceRecord, InvoiceStatus, PayRequest, PaymentDirection, PaymentKind, PaymentRecord,
	PaymentStatus,
};
use crate::parse::check_amount_msat;
use crate::NodeError;

/// Pays a BOLT11 invoice or BOLT12 offer, telling them apart by prefix.
pub async fn pay(
	ctx: &Arc<Context>, req: PayRequest, wait: bool,
) -> Result<PaymentRecord, NodeError> {
	let text = req.invoice.trim().to_string();
	if let Some(amount) = req.amount_msat {
		check_amount_msat(amount)?;
	}
	let lower = text.to_ascii_lowercase();
	let mut updates = ctx.payments.subscribe();
	let record = if lower.starts_with("lno") {
		bolt12::pay_offer(ctx, &text, req.amount_msat, req.max_fee_msat).await?
	} else {
		bolt11::pay_invoice(ctx, &text, req.amount_msat, req.max_fee_msat).await?
	};
	if !wait {
		return Ok(record);
	}
	wait_final(ctx, &record.payment_id, &mut updates).await
}

/// Waits until a payment is final (or the wait times out, answering the pending record).
pub(crate) async fn wait_final(
	ctx: &Arc<Context>, payment_id: &str, updates: &mut tokio::sync::broadcast::Receiver<String>,
) -> Result<PaymentRecord, NodeError> {
	let deadline = tokio::time::Instant::now() + PAYMENT_RETRY_TIMEOUT + PAYMENT_WAIT_SLACK;
	loop {
		let record = ctx
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
pub async fn expire_invoices(ctx: &Arc<Context>) {
	let now = unix_now();
	for invoice in ctx.invoices.all() {
		if invoice.status == InvoiceStatus::Open && invoice.expires_at <= now {
			let expired = InvoiceRecord { status: InvoiceStatus::Expired, ..invoice.clone() };
			if let Err(e) = ctx.journal.append(NodeEvent::InvoiceExpired { invoice: expired }).await
			{
				let hash = &invoice.payment_hash;
				crate::warn!(ctx.logger, "recording expiry of invoice {hash}: {e}");
				continue;
			}
			let update = ctx.invoices.update(&invoice.payment_hash, |r| {
				if r.status == InvoiceStatus::Open {
					r.status = InvoiceStatus::Expired;
					true
				} else {
					false
				}
			});
			if let Err(e) = update.await {
				crate::warn!(ctx.logger, "marking invoice expired: {e}");
			}
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
