//! Payment events from LDK turned into record updates, durable before the event counts as
//! handled: a failed write asks LDK to replay the event.

use bitcoin::hex::{DisplayHex, FromHex};
use lightning::events::{PaymentFailureReason, PaymentPurpose, ReplayEvent};
use lightning::ln::channelmanager::PaymentId;
use lightning::types::payment::{PaymentHash, PaymentPreimage};

use super::{failure_text, new_record, unix_now, Payments};
use crate::journal::NodeEvent;
use crate::model::{InvoiceStatus, PaymentDirection, PaymentKind, PaymentRecord, PaymentStatus};
use crate::records::Insert;

/// Decides whether to claim an incoming payment: only invoices still open are claimed, and a
/// payment to a hold invoice is held instead (see `hold`).
pub async fn on_payment_claimable(
	pay: &Payments, payment_hash: PaymentHash, amount_msat: u64, purpose: PaymentPurpose,
	claim_deadline: Option<u32>,
) -> Result<(), ReplayEvent> {
	let hash = payment_hash.0.to_lower_hex_string();
	let Some(preimage) = purpose.preimage() else {
		if let PaymentPurpose::Bolt11InvoicePayment { .. } = purpose {
			// An invoice issued for a preimage its creator chose: the record holds it.
			if let Some(preimage) = chosen_preimage(pay, &hash) {
				return claim_if_open(pay, &hash, payment_hash, amount_msat, preimage);
			}
			if let Some(handled) =
				super::hold::on_claimable(pay, payment_hash, amount_msat, claim_deadline).await
			{
				return handled;
			}
		}
		crate::warn!(pay.logger, "payment {hash} arrived without a preimage we know; failing it");
		pay.channel_manager.fail_htlc_backwards(&payment_hash);
		return Ok(());
	};
	if let PaymentPurpose::Bolt11InvoicePayment { .. } = purpose {
		return claim_if_open(pay, &hash, payment_hash, amount_msat, preimage);
	}
	pay.channel_manager.claim_funds(preimage);
	Ok(())
}

/// The preimage a non-hold invoice's creator chose (kept in its record), if any.
fn chosen_preimage(pay: &Payments, hash: &str) -> Option<PaymentPreimage> {
	let invoice = pay.invoices.get(hash).filter(|invoice| !invoice.hold)?;
	let preimage = <[u8; 32]>::from_hex(invoice.preimage.as_deref()?).ok()?;
	Some(PaymentPreimage(preimage))
}

/// Claims a payment to one of our invoices while the invoice is open; fails it back otherwise
/// (paid, expired or canceled). A payment for a hash we issued no record for is claimed.
fn claim_if_open(
	pay: &Payments, hash: &str, payment_hash: PaymentHash, amount_msat: u64,
	preimage: PaymentPreimage,
) -> Result<(), ReplayEvent> {
	if let Some(invoice) = pay.invoices.get(hash).map(super::current_view) {
		if invoice.status != InvoiceStatus::Open {
			crate::info!(
				pay.logger,
				"refusing {amount_msat} msat for invoice {hash}: it is {:?}",
				invoice.status
			);
			pay.channel_manager.fail_htlc_backwards(&payment_hash);
			return Ok(());
		}
	}
	pay.channel_manager.claim_funds(preimage);
	Ok(())
}

/// Records money received: the invoice turns paid, or an inbound payment record appears.
pub async fn on_payment_claimed(
	pay: &Payments, payment_hash: PaymentHash, amount_msat: u64, purpose: PaymentPurpose,
) -> Result<(), ReplayEvent> {
	let hash = payment_hash.0.to_lower_hex_string();
	let preimage = purpose.preimage().map(|p| p.0.to_lower_hex_string());
	let now = unix_now();
	let kind = match purpose {
		PaymentPurpose::Bolt11InvoicePayment { .. } => {
			let updated = pay
				.invoice_indexes
				.update(&pay.invoices, &hash, |invoice| {
					invoice.status = InvoiceStatus::Paid;
					invoice.amount_received_msat = Some(amount_msat);
					invoice.paid_at = Some(now);
					// A hold invoice's purpose carries no preimage: settling stored it.
					if preimage.is_some() {
						invoice.preimage = preimage.clone();
					}
					true
				})
				.await
				.map_err(|e| pay.replay(e))?;
			if let Some(invoice) = updated {
				crate::info!(pay.logger, "invoice {hash} paid: {amount_msat} msat");
				return pay.record(NodeEvent::InvoicePaid { invoice }).await;
			}
			// The incoming half of our own rebalance: its record is the trace.
			if super::rebalance::is_ours(pay, &hash) {
				crate::info!(pay.logger, "rebalance {hash} arrived: {amount_msat} msat");
				return Ok(());
			}
			// An invoice we have no record of (issued through LDK directly): keep the money's
			// trace as an inbound payment.
			PaymentKind::Bolt11
		}
		PaymentPurpose::Bolt12OfferPayment { .. } | PaymentPurpose::Bolt12RefundPayment { .. } => {
			PaymentKind::Bolt12
		}
		PaymentPurpose::SpontaneousPayment(_) => PaymentKind::Keysend,
	};
	let payment = PaymentRecord {
		payment_hash: Some(hash.clone()),
		destination: Some(pay.channel_manager.get_our_node_id().to_string()),
		amount_msat: Some(amount_msat),
		preimage,
		..new_record(&hash, kind, PaymentDirection::Inbound, PaymentStatus::Succeeded)
	};
	// LDK may hand a claim over again (after a restart): the record it made stays as it is.
	let same_claim = |existing: &PaymentRecord| {
		(existing.kind, existing.amount_msat, &existing.preimage)
			== (payment.kind, payment.amount_msat, &payment.preimage)
	};
	let payment = match pay.received.insert_unless(&hash, payment.clone(), same_claim).await {
		Ok(Insert::Written) => payment,
		Ok(Insert::Kept(existing)) => existing,
		Err(e) => return Err(pay.replay(e)),
	};
	crate::info!(pay.logger, "received {amount_msat} msat ({kind:?}) {hash}");
	pay.record(NodeEvent::PaymentReceived { payment }).await
}

/// Our payment arrived: record preimage and fee.
pub async fn on_payment_sent(
	pay: &Payments, payment_id: Option<PaymentId>, preimage: PaymentPreimage,
	payment_hash: PaymentHash, amount_msat: Option<u64>, fee_msat: Option<u64>,
) -> Result<(), ReplayEvent> {
	let id = payment_id.map(|p| p.0).unwrap_or(payment_hash.0).to_lower_hex_string();
	let hash = payment_hash.0.to_lower_hex_string();
	let preimage = preimage.0.to_lower_hex_string();
	let now = unix_now();
	let updated = pay
		.payments
		.update(&id, |r| {
			r.status = PaymentStatus::Succeeded;
			r.payment_hash = Some(hash.clone());
			r.preimage = Some(preimage.clone());
			r.fee_msat = fee_msat;
			r.failure_reason = None;
			if amount_msat.is_some() {
				r.amount_msat = amount_msat;
			}
			r.completed_at = Some(now);
			true
		})
		.await
		.map_err(|e| pay.replay(e))?;
	let payment = match updated {
		Some(payment) => payment,
		None => {
			crate::warn!(pay.logger, "payment {id} succeeded but had no record; recording it");
			let payment = PaymentRecord {
				payment_hash: Some(hash),
				amount_msat,
				fee_msat,
				preimage: Some(preimage),
				..new_record(
					&id,
					PaymentKind::Bolt11,
					PaymentDirection::Outbound,
					PaymentStatus::Succeeded,
				)
			};
			pay.payments.put(&id, payment.clone()).await.map_err(|e| pay.replay(e))?;
			payment
		}
	};
	crate::info!(pay.logger, "payment {id} succeeded, fee {fee_msat:?} msat");
	pay.record(NodeEvent::PaymentSucceeded { payment }).await
}

/// Our payment will not complete.
pub async fn on_payment_failed(
	pay: &Payments, payment_id: PaymentId, payment_hash: Option<PaymentHash>,
	reason: Option<PaymentFailureReason>,
) -> Result<(), ReplayEvent> {
	let id = payment_id.0.to_lower_hex_string();
	if reason == Some(PaymentFailureReason::RouteNotFound) {
		let record = pay.payments.get(&id);
		if record.is_some_and(|r| super::bolt11::queue_again_after_no_route(pay, &r)) {
			crate::debug!(pay.logger, "payment {id} lost its slot to a racing send: waits again");
			return Ok(());
		}
	}
	let text = failure_text(reason);
	crate::info!(pay.logger, "payment {id} failed: {text}");
	let hash = payment_hash.map(|h| h.0.to_lower_hex_string());
	let updated = pay
		.payments
		.update(&id, |r| {
			if r.payment_hash.is_none() {
				r.payment_hash = hash.clone();
			}
			fail(r, text.clone())
		})
		.await
		.map_err(|e| pay.replay(e))?;
	match updated {
		Some(payment) if payment.status == PaymentStatus::Failed => {
			pay.record(NodeEvent::PaymentFailed { payment }).await
		}
		_ => Ok(()),
	}
}

/// Marks a payment failed after a synchronous send failure.
pub(crate) async fn mark_failed(pay: &Payments, id: &str, reason: String) {
	match pay.payments.update(id, |r| fail(r, reason.clone())).await {
		Ok(Some(payment)) if payment.status == PaymentStatus::Failed => {
			if let Err(e) = pay.journal.append(NodeEvent::PaymentFailed { payment }).await {
				crate::error!(pay.logger, "recording the failure event of payment {id}: {e}");
			}
		}
		Ok(_) => {}
		Err(e) => crate::error!(pay.logger, "recording failure of payment {id}: {e}"),
	}
}

/// A payment that succeeded never turns failed.
fn fail(record: &mut PaymentRecord, reason: String) -> bool {
	if record.status == PaymentStatus::Succeeded {
		return false;
	}
	record.status = PaymentStatus::Failed;
	record.failure_reason = Some(reason);
	record.completed_at = Some(unix_now());
	true
}
