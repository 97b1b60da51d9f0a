//! Spontaneous payments (keysend): no invoice, the preimage travels in the onion.
//!
//! A keysend is sent at most once per payment id. The record (with the payment hash, from a
//! preimage we draw ourselves) is durable before LDK is asked, and nothing about the payment
//! is written after LDK accepted it, so no failure after sending can make a caller believe it
//! was not sent. A caller that may retry (a lost answer, a timeout) names the payment with its
//! own `payment_id`: a request with an id already recorded answers with that payment, whatever
//! its state, and sends nothing.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::PublicKey;
use lightning::ln::channelmanager::PaymentId;
use lightning::ln::channelmanager::{RecipientOnionFields, Retry};
use lightning::routing::router::{PaymentParameters, RouteParameters};
use lightning::types::payment::PaymentPreimage;

use super::{new_record, send_failure, Payments};
use crate::config::PAYMENT_RETRY_TIMEOUT;
use crate::model::{PaymentDirection, PaymentKind, PaymentRecord, PaymentStatus};
use crate::parse::check_amount_msat;
use crate::records::Insert;
use crate::NodeError;

/// The final hop's CLTV delta for keysend (LDK's default for invoices).
const KEYSEND_FINAL_CLTV_DELTA: u32 = 40;

/// Sends `amount_msat` to `payee` under `payment_id` (a fresh one when `None`);
/// with `wait`, answers once the payment is final. `preimage` is for tests only (see
/// `Node::keysend_with_preimage`): a fresh one is drawn otherwise.
pub async fn send(
	pay: &Payments, payee: PublicKey, amount_msat: u64, payment_id: Option<PaymentId>,
	preimage: Option<PaymentPreimage>, wait: bool,
) -> Result<PaymentRecord, NodeError> {
	check_amount_msat(amount_msat)?;
	if payee == pay.channel_manager.get_our_node_id() {
		return Err(NodeError::InvalidRequest("cannot keysend to ourselves".into()));
	}
	let payment_id = payment_id.unwrap_or_else(|| PaymentId(rand::random()));
	let id = payment_id.0.to_lower_hex_string();
	let preimage = preimage.unwrap_or_else(|| PaymentPreimage(rand::random()));
	let hash = sha256::Hash::hash(&preimage.0).to_byte_array().to_lower_hex_string();
	let record = PaymentRecord {
		payment_hash: Some(hash),
		destination: Some(payee.to_string()),
		amount_msat: Some(amount_msat),
		..new_record(&id, PaymentKind::Keysend, PaymentDirection::Outbound, PaymentStatus::Pending)
	};
	let mut updates = pay.payments.subscribe();
	if let Insert::Kept(existing) = pay.payments.insert_unless(&id, record, |_| true).await? {
		let same = existing.kind == PaymentKind::Keysend
			&& existing.destination.as_deref() == Some(payee.to_string().as_str())
			&& existing.amount_msat == Some(amount_msat);
		if !same {
			return Err(NodeError::DuplicatePayment(format!(
				"payment id {id} names another payment"
			)));
		}
		return answer(pay, existing, wait, &mut updates).await;
	}
	let params = RouteParameters::from_payment_params_and_value(
		pay.limits.apply(PaymentParameters::for_keysend(payee, KEYSEND_FINAL_CLTV_DELTA, true)),
		amount_msat,
	);
	if let Err(e) = pay.channel_manager.send_spontaneous_payment(
		Some(preimage),
		RecipientOnionFields::spontaneous_empty(),
		payment_id,
		params,
		Retry::Timeout(PAYMENT_RETRY_TIMEOUT),
	) {
		let error = send_failure(e);
		super::received::mark_failed(pay, &id, error.message().to_string()).await;
		return Err(error);
	}
	let record = pay
		.payments
		.get(&id)
		.ok_or_else(|| NodeError::Internal("payment record vanished".into()))?;
	answer(pay, record, wait, &mut updates).await
}

async fn answer(
	pay: &Payments, record: PaymentRecord, wait: bool,
	updates: &mut tokio::sync::broadcast::Receiver<String>,
) -> Result<PaymentRecord, NodeError> {
	if wait {
		return super::wait_final(pay, &record.payment_id, updates).await;
	}
	Ok(record)
}
