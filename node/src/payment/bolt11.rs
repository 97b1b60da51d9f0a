//! BOLT11: issuing invoices and paying them.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
use lightning::ln::channelmanager::RetryableSendFailure;
use lightning::ln::channelmanager::{Bolt11PaymentError, Retry};
use lightning::ln::channelmanager::{PaymentId, MIN_FINAL_CLTV_EXPIRY_DELTA};
use lightning::sign::{NodeSigner, Recipient};
use lightning::types::payment::{PaymentHash, PaymentPreimage};
use lightning_invoice::{
	Bolt11InvoiceDescription, Bolt11InvoiceDescriptionRef, Currency, InvoiceBuilder,
};

use std::sync::Arc;
use std::time::Duration;

use lightning::routing::router::RouteParametersConfig;
use lightning_invoice::Bolt11Invoice;
use tokio::time::Instant;

use super::slots::{self, ResendError};
use super::{new_record, send_failure, unix_now, Payments};
use crate::config::{
	DEFAULT_INVOICE_EXPIRY_SECS, MAX_INVOICE_EXPIRY_SECS, PAYMENT_RETRY_TIMEOUT, PAYMENT_SLOT_WAIT,
};
use crate::model::{
	InvoiceRecord, InvoiceStatus, PaymentDirection, PaymentKind, PaymentRecord, PaymentStatus,
};
use crate::parse::{check_amount_msat, parse_invoice};
use crate::records::Insert;
use crate::NodeError;

/// BOLT11 descriptions are capped at 639 bytes.
const MAX_DESCRIPTION_BYTES: usize = 639;

/// Issues an invoice and records it (durably) before handing it out. With `payment_hash`, a
/// hold invoice: LDK issues it for that hash without knowing the preimage (see `hold`). With
/// `preimage`, an invoice for the preimage the caller chose: LDK issues it for its hash, the
/// record keeps the preimage and a payment to it is claimed with it (see `received`). With
/// `description_hash`, the invoice commits to that SHA-256 of a description kept elsewhere
/// (LNURL-pay's metadata) instead of carrying `description`, which the record still keeps.
pub async fn create_invoice(
	pay: &Payments, amount_msat: Option<u64>, description: &str, expiry_secs: Option<u32>,
	payment_hash: Option<PaymentHash>, preimage: Option<PaymentPreimage>,
	description_hash: Option<[u8; 32]>,
) -> Result<InvoiceRecord, NodeError> {
	let hold = payment_hash.is_some() && preimage.is_none();
	let payment_hash = match preimage {
		Some(preimage) => Some(PaymentHash(sha256::Hash::hash(&preimage.0).to_byte_array())),
		None => payment_hash,
	};
	if let Some(amount) = amount_msat {
		check_amount_msat(amount)?;
	}
	if description.len() > MAX_DESCRIPTION_BYTES {
		return Err(NodeError::InvalidRequest(format!(
			"description is longer than {MAX_DESCRIPTION_BYTES} bytes"
		)));
	}
	let expiry = expiry_secs.unwrap_or(DEFAULT_INVOICE_EXPIRY_SECS);
	if expiry == 0 || expiry > MAX_INVOICE_EXPIRY_SECS {
		return Err(NodeError::InvalidRequest(format!(
			"expiry_secs must be between 1 and {MAX_INVOICE_EXPIRY_SECS}"
		)));
	}
	if let Some(hash) = payment_hash {
		// A second invoice would replace the first one's record, and whoever holds the
		// preimage could settle either payment.
		if pay.invoices.get(&hash.0.to_lower_hex_string()).is_some() {
			return Err(NodeError::InvoiceConflict(
				"an invoice for this payment hash exists already".into(),
			));
		}
	}
	let invoice_description = match description_hash {
		Some(hash) => Bolt11InvoiceDescription::Hash(lightning_invoice::Sha256(
			sha256::Hash::from_byte_array(hash),
		)),
		None => Bolt11InvoiceDescription::Direct(
			lightning_invoice::Description::new(description.to_string())
				.map_err(|e| NodeError::InvalidRequest(format!("description: {e}")))?,
		),
	};
	let invoice = issue(pay, amount_msat, invoice_description, expiry, payment_hash)?;
	let created_at = invoice.duration_since_epoch().as_secs();
	let record = InvoiceRecord {
		payment_hash: invoice.payment_hash().to_byte_array().to_lower_hex_string(),
		bolt11: invoice.to_string(),
		description: description.to_string(),
		amount_msat,
		amount_received_msat: None,
		created_at,
		expires_at: created_at + u64::from(expiry),
		paid_at: None,
		preimage: preimage.map(|p| p.0.to_lower_hex_string()),
		status: InvoiceStatus::Open,
		hold,
		claim_deadline: None,
		add_index: 0,
		settle_index: None,
	};
	pay.invoice_indexes.add(&pay.invoices, record).await
}

/// Issues the invoice as LDK's `create_bolt11_invoice` does, with the route hints of our
/// cache (see `route_hints`) instead of a listing of every channel: registers the payment
/// with LDK (for `payment_hash` through `create_inbound_payment_for_hash`, which a hold or
/// chosen-preimage invoice needs), then builds and signs the invoice with the node key.
fn issue(
	pay: &Payments, amount_msat: Option<u64>, description: Bolt11InvoiceDescription, expiry: u32,
	payment_hash: Option<PaymentHash>,
) -> Result<Bolt11Invoice, NodeError> {
	let manager = &pay.channel_manager;
	let registered = match payment_hash {
		Some(hash) => manager
			.create_inbound_payment_for_hash(hash, amount_msat, expiry, None)
			.map(|secret| (hash, secret)),
		None => manager.create_inbound_payment(amount_msat, expiry, None),
	};
	let (payment_hash, payment_secret) = registered.map_err(|()| {
		NodeError::InvalidRequest("the amount is not a valid invoice amount".into())
	})?;
	let now = std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map_err(|e| NodeError::Internal(format!("the clock is before 1970: {e}")))?;
	let builder = InvoiceBuilder::new(Currency::from(pay.network));
	let builder = match description {
		Bolt11InvoiceDescription::Direct(description) => {
			builder.description(description.into_inner().0)
		}
		Bolt11InvoiceDescription::Hash(hash) => builder.description_hash(hash.0),
	};
	let mut builder = builder
		.duration_since_epoch(now)
		.payee_pub_key(manager.get_our_node_id())
		.payment_hash(sha256::Hash::from_byte_array(payment_hash.0))
		.payment_secret(payment_secret)
		.basic_mpp()
		.min_final_cltv_expiry_delta(u64::from(MIN_FINAL_CLTV_EXPIRY_DELTA))
		.expiry_time(Duration::from_secs(u64::from(expiry)));
	if let Some(amount) = amount_msat {
		builder = builder.amount_milli_satoshis(amount);
	}
	for hint in pay.route_hints.hints(manager, amount_msat) {
		builder = builder.private_route(hint);
	}
	let raw = builder.build_raw().map_err(|e| NodeError::Internal(format!("invoice: {e}")))?;
	let signature = pay
		.keys
		.sign_invoice(&raw, Recipient::Node)
		.map_err(|()| NodeError::Internal("signing the invoice failed".into()))?;
	let signed =
		raw.sign(|_| Ok::<_, ()>(signature)).map_err(|()| NodeError::Internal("signing".into()))?;
	Bolt11Invoice::from_signed(signed)
		.map_err(|e| NodeError::Internal(format!("the invoice we signed is invalid: {e}")))
}

/// Starts paying an invoice; the record is durable before LDK is asked to send. Paying is
/// idempotent per invoice (the payment id is the payment hash): a pay while one is in flight
/// answers with that payment and sends nothing, a pay after it succeeded is refused, and
/// only a failed payment is tried again.
pub async fn pay_invoice(
	pay: &Payments, text: &str, amount_msat: Option<u64>, max_fee_msat: Option<u64>,
	retry: std::time::Duration,
) -> Result<PaymentRecord, NodeError> {
	pay.refuse_if_fenced()?;
	let invoice = parse_invoice(pay.network, text)?;
	if invoice.is_expired() {
		return Err(NodeError::InvoiceExpired(format!(
			"invoice expired at {}",
			invoice.expires_at().map(|d| d.as_secs()).unwrap_or_default()
		)));
	}
	let amount = match (invoice.amount_milli_satoshis(), amount_msat) {
		(None, None) => {
			return Err(NodeError::InvalidAmount(
				"the invoice has no amount: give amount_msat".into(),
			))
		}
		(Some(asked), Some(given)) if given < asked => {
			return Err(NodeError::InvalidAmount(format!(
				"amount_msat {given} is below the invoice's {asked}"
			)))
		}
		(_, Some(given)) => given,
		(Some(asked), None) => asked,
	};
	if invoice.get_payee_pub_key() == pay.channel_manager.get_our_node_id() {
		return Err(NodeError::InvalidRequest("this invoice is our own".into()));
	}
	let hash = invoice.payment_hash().to_byte_array();
	let payment_id = PaymentId(hash);
	let id = hash.to_lower_hex_string();
	let description = match invoice.description() {
		Bolt11InvoiceDescriptionRef::Direct(d) => Some(d.to_string()),
		Bolt11InvoiceDescriptionRef::Hash(_) => None,
	};
	let record = PaymentRecord {
		payment_hash: Some(id.clone()),
		destination: Some(invoice.get_payee_pub_key().to_string()),
		invoice: Some(text.to_string()),
		description,
		amount_msat: Some(amount),
		max_fee_msat,
		..new_record(&id, PaymentKind::Bolt11, PaymentDirection::Outbound, PaymentStatus::Pending)
	};
	// A failed attempt may be retried under the same id; anything else stays. Checked and
	// written in one step, so of concurrent pays of this invoice exactly one goes on to LDK.
	let kept = pay.payments.insert_unless(&id, record.clone(), |existing| {
		existing.status != PaymentStatus::Failed || existing.kind != PaymentKind::Bolt11
	});
	if let Insert::Kept(existing) = kept.await? {
		return match (existing.kind, existing.status) {
			(PaymentKind::Bolt11, PaymentStatus::Pending) => Ok(existing),
			(PaymentKind::Bolt11, _) => {
				Err(NodeError::DuplicatePayment("this invoice is already paid".into()))
			}
			_ => Err(NodeError::DuplicatePayment(format!(
				"payment id {id} (this invoice's payment hash) names another payment"
			))),
		};
	}
	let route_config = pay.limits.route_config(max_fee_msat);
	let amount_arg = amount_argument(&invoice, amount);
	let sent = pay.slots.sending(|| {
		pay.channel_manager.pay_for_bolt11_invoice(
			&invoice,
			payment_id,
			amount_arg,
			route_config,
			Retry::Timeout(retry),
		)
	});
	if let Err(e) = sent {
		let no_route =
			matches!(e, Bolt11PaymentError::SendingFailed(RetryableSendFailure::RouteNotFound));
		if no_route && slots::slots_explain(&pay.channel_manager, amount) {
			// Every slot that could carry it is taken: it waits for one (see `slots`).
			let deadline = Instant::now() + PAYMENT_SLOT_WAIT;
			let resend = resend(pay, invoice, payment_id, amount_arg, route_config, retry);
			return match pay.slots.queue(&id, amount, deadline, resend) {
				Ok(waiting) => {
					crate::debug!(
						pay.logger,
						"payment {id} waits for an HTLC slot ({waiting} wait)"
					);
					Ok(pay.payments.get(&id).unwrap_or(record))
				}
				Err(error) => {
					super::received::mark_failed(pay, &id, error.message().to_string()).await;
					Err(error)
				}
			};
		}
		let error = match e {
			Bolt11PaymentError::InvalidAmount => {
				NodeError::InvalidAmount("amount does not fit the invoice".into())
			}
			Bolt11PaymentError::SendingFailed(RetryableSendFailure::RouteNotFound)
				if max_fee_msat.is_some() =>
			{
				crate::routing::no_route_within_fee(&pay.routing, text, amount, max_fee_msat)
			}
			Bolt11PaymentError::SendingFailed(e) => send_failure(e),
		};
		super::received::mark_failed(pay, &id, error.message().to_string()).await;
		return Err(error);
	}
	Ok(pay.payments.get(&id).unwrap_or(record))
}

/// The amount to hand LDK for paying `invoice` with `amount` msat: none when it is the
/// invoice's own (LDK takes that), `amount` for an invoice without one or an overpayment.
fn amount_argument(invoice: &Bolt11Invoice, amount: u64) -> Option<u64> {
	match invoice.amount_milli_satoshis() {
		Some(asked) if asked == amount => None,
		_ => Some(amount),
	}
}

/// The same send as the first attempt, for the slot queue.
fn resend(
	pay: &Payments, invoice: Bolt11Invoice, payment_id: PaymentId, amount_arg: Option<u64>,
	route_config: RouteParametersConfig, retry: Duration,
) -> slots::Resend {
	let channel_manager = Arc::clone(&pay.channel_manager);
	Box::new(move || {
		let retry = Retry::Timeout(retry);
		channel_manager
			.pay_for_bolt11_invoice(&invoice, payment_id, amount_arg, route_config, retry)
			.map_err(|e| match e {
				Bolt11PaymentError::SendingFailed(e) => e.into(),
				Bolt11PaymentError::InvalidAmount => ResendError::Failed(NodeError::InvalidAmount(
					"amount does not fit the invoice".into(),
				)),
			})
	})
}

/// A payment LDK took and then gave up on for lack of a route (its route's slot was taken by
/// a send racing it, and LDK's own retry found none): queued for a slot again, within its
/// wait from creation, when a slot freeing up would let it go. Whether it was queued.
pub(crate) fn queue_again_after_no_route(pay: &Payments, record: &PaymentRecord) -> bool {
	if record.kind != PaymentKind::Bolt11 || record.status != PaymentStatus::Pending {
		return false;
	}
	let (Some(text), Some(amount)) = (record.invoice.as_deref(), record.amount_msat) else {
		return false;
	};
	let Ok(invoice) = parse_invoice(pay.network, text) else { return false };
	let waited = Duration::from_secs(unix_now().saturating_sub(record.created_at));
	let Some(left) = PAYMENT_SLOT_WAIT.checked_sub(waited) else { return false };
	if left.is_zero() || !slots::worth_waiting(&pay.channel_manager, amount) {
		return false;
	}
	let payment_id = PaymentId(invoice.payment_hash().to_byte_array());
	let route_config = pay.limits.route_config(record.max_fee_msat);
	let amount_arg = amount_argument(&invoice, amount);
	// The record does not keep a caller's own retry time: the node's default.
	let resend = resend(pay, invoice, payment_id, amount_arg, route_config, PAYMENT_RETRY_TIMEOUT);
	pay.slots.queue(&record.payment_id, amount, Instant::now() + left, resend).is_ok()
}
