//! Hold invoices: issued for a payment hash whose preimage the node does not know (the
//! merchant keeps it). A payment to one is not claimed: its HTLCs stay pending and the invoice
//! reads `accepted` until the merchant settles it with the preimage or cancels it.
//!
//! Every state change is durable before LDK hears of it: the record turns `accepted` before
//! the `PaymentClaimable` event counts as handled, `canceled` before the HTLCs are failed
//! back, and the preimage is stored before the funds are claimed. After a crash, a replayed
//! event finds the stored state and acts on it again.
//!
//! LDK gives a held payment up on its own when its HTLCs near their expiry unsettled (a few
//! blocks before the claim deadline it announced): the invoice then leaves `accepted` before
//! that event counts as handled, `open` again if it is still valid, else `canceled`, with an
//! `invoice_canceled` event; nothing held is left to settle, so settling answers a conflict.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::{DisplayHex, FromHex};
use lightning::events::ReplayEvent;
use lightning::types::payment::{PaymentHash, PaymentPreimage};

use super::{current_view, unix_now, Payments};
use crate::config::HOLD_SETTLE_WAIT;
use crate::journal::NodeEvent;
use crate::model::{InvoiceRecord, InvoiceStatus};
use crate::NodeError;

/// A payment without a preimage we know arrived. If it pays one of our hold invoices, it is
/// held (or refused when the invoice cannot take it) and `Some` says how that went; `None`
/// when the hash is no hold invoice of ours.
/// `claim_deadline` is the height at which LDK fails the payment back unless it is claimed.
pub(super) async fn on_claimable(
	pay: &Payments, payment_hash: PaymentHash, amount_msat: u64, claim_deadline: Option<u32>,
) -> Option<Result<(), ReplayEvent>> {
	let hash = payment_hash.0.to_lower_hex_string();
	let invoice = pay.invoices.get(&hash).filter(|invoice| invoice.hold)?;
	Some(accept(pay, payment_hash, &hash, invoice, amount_msat, claim_deadline).await)
}

async fn accept(
	pay: &Payments, payment_hash: PaymentHash, hash: &str, invoice: InvoiceRecord,
	amount_msat: u64, claim_deadline: Option<u32>,
) -> Result<(), ReplayEvent> {
	// LDK already checks the amount against the one registered with the hash; this keeps the
	// rule in view here too.
	if invoice.amount_msat.is_some_and(|asked| amount_msat < asked) {
		crate::info!(pay.logger, "refusing {amount_msat} msat for hold invoice {hash}: too little");
		pay.channel_manager.fail_htlc_backwards(&payment_hash);
		return Ok(());
	}
	let now = unix_now();
	let updated = pay
		.invoices
		.update(hash, |r| match r.status {
			InvoiceStatus::Open if r.expires_at > now => {
				r.status = InvoiceStatus::Accepted;
				r.amount_received_msat = Some(amount_msat);
				r.claim_deadline = claim_deadline;
				true
			}
			// A replayed event: write the record again, so it is durable even if the first
			// write failed (the cache holds a change as soon as it is issued).
			InvoiceStatus::Accepted => true,
			_ => false,
		})
		.await
		.map_err(|e| pay.replay(e))?;
	let Some(invoice) = updated.filter(|r| r.status == InvoiceStatus::Accepted) else {
		crate::info!(
			pay.logger,
			"refusing {amount_msat} msat for hold invoice {hash}: it is {:?}",
			invoice.status
		);
		pay.channel_manager.fail_htlc_backwards(&payment_hash);
		return Ok(());
	};
	// The preimage a settle stored, in the record's hex.
	if let Some(preimage) = invoice.preimage.as_deref().and_then(|p| <[u8; 32]>::from_hex(p).ok()) {
		// Settled before a crash that lost the claim: claim again.
		crate::info!(pay.logger, "hold invoice {hash} was being settled: claiming");
		pay.channel_manager.claim_funds(PaymentPreimage(preimage));
		return Ok(());
	}
	crate::info!(pay.logger, "hold invoice {hash} accepted: {amount_msat} msat held");
	pay.record(NodeEvent::InvoiceAccepted { invoice }).await
}

/// Settles an accepted hold invoice: stores the preimage, claims the held payment, and
/// answers once LDK reports the claim (the invoice then reads `paid`) or after
/// [`HOLD_SETTLE_WAIT`].
pub async fn settle(
	pay: &Payments, payment_hash: PaymentHash, preimage: PaymentPreimage,
) -> Result<InvoiceRecord, NodeError> {
	pay.refuse_if_fenced()?;
	let (hash, preimage) = (payment_hash.0, preimage.0);
	let id = hash.to_lower_hex_string();
	if pay.invoices.get(&id).is_none() {
		return Err(NodeError::NotFound(format!("no invoice {id}")));
	}
	if sha256::Hash::hash(&preimage).to_byte_array() != hash {
		return Err(NodeError::InvalidRequest(
			"the preimage does not match the payment hash: its SHA-256 differs".into(),
		));
	}
	let preimage_hex = preimage.to_lower_hex_string();
	let mut updates = pay.invoices.subscribe();
	let updated = pay
		.invoices
		.update(&id, |r| {
			let settleable = r.status == InvoiceStatus::Accepted;
			if settleable {
				r.preimage = Some(preimage_hex.clone());
			}
			settleable
		})
		.await?
		.ok_or_else(|| NodeError::NotFound(format!("no invoice {id}")))?;
	if updated.status != InvoiceStatus::Accepted {
		return Err(NodeError::InvoiceConflict(format!(
			"invoice {id} is {}: only an accepted hold invoice can be settled",
			status_word(current_view(updated).status)
		)));
	}
	crate::info!(pay.logger, "settling hold invoice {id}");
	pay.channel_manager.claim_funds(PaymentPreimage(preimage));
	let deadline = tokio::time::Instant::now() + HOLD_SETTLE_WAIT;
	loop {
		let invoice = pay
			.invoices
			.get(&id)
			.ok_or_else(|| NodeError::Internal(format!("invoice {id} vanished")))?;
		match invoice.status {
			InvoiceStatus::Accepted => {}
			InvoiceStatus::Paid => return Ok(invoice),
			// LDK had given the payment up before the claim reached it.
			status => {
				return Err(NodeError::InvoiceConflict(format!(
					"invoice {id} is {}: its held payment was failed back before it could be \
					 settled",
					status_word(status)
				)))
			}
		}
		tokio::select! {
			_ = tokio::time::sleep_until(deadline) => return Ok(invoice),
			// Any update (or a lagged receiver) means: look again.
			_ = updates.recv() => {},
		}
	}
}

/// Cancels an open invoice or an accepted hold invoice: the record turns `canceled`, then a
/// held payment is failed back to the payer. Canceling a canceled invoice changes nothing.
pub async fn cancel(pay: &Payments, payment_hash: PaymentHash) -> Result<InvoiceRecord, NodeError> {
	let hash = payment_hash.0;
	let id = hash.to_lower_hex_string();
	let now = unix_now();
	let updated = pay
		.invoices
		.update(&id, |r| {
			let cancelable = match r.status {
				InvoiceStatus::Open => r.expires_at > now,
				// Once settling started, the preimage may be out: too late.
				InvoiceStatus::Accepted => r.preimage.is_none(),
				InvoiceStatus::Paid | InvoiceStatus::Expired | InvoiceStatus::Canceled => false,
			};
			if cancelable {
				r.status = InvoiceStatus::Canceled;
			}
			cancelable
		})
		.await?
		.ok_or_else(|| NodeError::NotFound(format!("no invoice {id}")))?;
	let invoice = current_view(updated);
	if invoice.status != InvoiceStatus::Canceled {
		let why = match invoice.status {
			InvoiceStatus::Accepted => "being settled".to_string(),
			status => status_word(status).to_string(),
		};
		return Err(NodeError::InvoiceConflict(format!(
			"invoice {id} is {why}: it cannot be canceled"
		)));
	}
	crate::info!(pay.logger, "invoice {id} canceled");
	// Fails whatever LDK holds for the hash; nothing when no payment arrived.
	pay.channel_manager.fail_htlc_backwards(&PaymentHash(hash));
	// Recorded once however often the cancel is asked (a retry after this failed records it).
	pay.journal.append(NodeEvent::InvoiceCanceled { invoice: invoice.clone() }).await?;
	Ok(invoice)
}

/// LDK failed a held payment back on its own, because its HTLCs came near their expiry
/// unsettled (`LocalHTLCFailureReason::PaymentClaimBuffer`). An accepted hold invoice for the
/// hash is no longer held: it turns `open` (or `canceled` once expired), the event recorded
/// first so a failed record update is retried by the replayed event without a second event.
///
/// Only that failure reason counts: LDK also fails other HTLCs for the hash (a second payer's
/// while one payment is held, ours when the invoice is canceled) while the held one stays.
pub(crate) async fn on_failed_back(
	pay: &Payments, payment_hash: PaymentHash,
) -> Result<(), ReplayEvent> {
	let hash = payment_hash.0.to_lower_hex_string();
	let Some(held) = pay.invoices.get(&hash) else { return Ok(()) };
	if !held.hold || held.status != InvoiceStatus::Accepted {
		return Ok(());
	}
	let status =
		if held.expires_at > unix_now() { InvoiceStatus::Open } else { InvoiceStatus::Canceled };
	let release = |r: &mut InvoiceRecord| {
		r.status = status;
		r.amount_received_msat = None;
		// A settle that came too late stored it; nothing was claimed, and an open invoice
		// starts over.
		r.preimage = None;
	};
	let mut released = held.clone();
	release(&mut released);
	crate::info!(
		pay.logger,
		"the payment held for invoice {hash} was failed back near its expiry: {}",
		status_word(status)
	);
	pay.record(NodeEvent::InvoiceCanceled { invoice: released }).await?;
	pay.invoices
		.update(&hash, |r| {
			// Still this held payment (a settle may have stored its preimage meanwhile).
			let same_payment =
				r.status == InvoiceStatus::Accepted && r.claim_deadline == held.claim_deadline;
			if same_payment {
				release(r);
			}
			same_payment
		})
		.await
		.map_err(|e| pay.replay(e))?;
	Ok(())
}

fn status_word(status: InvoiceStatus) -> &'static str {
	match status {
		InvoiceStatus::Open => "open",
		InvoiceStatus::Accepted => "accepted",
		InvoiceStatus::Paid => "paid",
		InvoiceStatus::Expired => "expired",
		InvoiceStatus::Canceled => "canceled",
	}
}
