//! Spontaneous payments (keysend): no invoice, the preimage travels in the onion.
//!
//! A keysend is sent at most once per payment id. The record (with the payment hash, from a
//! preimage we draw ourselves) is durable before LDK is asked, and nothing about the payment
//! is written after LDK accepted it, so no failure after sending can make a caller believe it
//! was not sent. A caller that may retry (a lost answer, a timeout) names the payment with its
//! own `payment_id`: a request with an id already recorded answers with that payment, whatever
//! its state, and sends nothing.
//!
//! The caller may choose the preimage (LND clients do) and add custom TLV records to the
//! payee's onion; records LDK would refuse are refused before anything is recorded. A keysend
//! whose channel has the balance but no free HTLC slot waits for one (`slots`).

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::PublicKey;
use std::sync::Arc;

use lightning::ln::channelmanager::{PaymentId, RetryableSendFailure};
use lightning::ln::channelmanager::{RecipientOnionFields, Retry};
use lightning::routing::router::{PaymentParameters, RouteParameters};
use lightning::types::payment::PaymentPreimage;

use super::{new_record, send_failure, slots, Payments};
use crate::config::{PAYMENT_RETRY_TIMEOUT, PAYMENT_SLOT_WAIT};
use crate::model::{KeysendOptions, PaymentDirection, PaymentKind, PaymentRecord, PaymentStatus};
use crate::parse::check_amount_msat;
use crate::records::Insert;
use crate::NodeError;

/// The final hop's CLTV delta for keysend (LDK's default for invoices).
const KEYSEND_FINAL_CLTV_DELTA: u32 = 40;

/// The keysend record type: LDK puts the preimage there itself.
pub const KEYSEND_RECORD_TYPE: u64 = 5482373484;

/// Sends `amount_msat` to `payee` under `payment_id` (a fresh one when `None`), with the
/// preimage and custom records of `options`; with `wait`, answers once the payment is final.
pub async fn send(
	pay: &Payments, payee: PublicKey, amount_msat: u64, payment_id: Option<PaymentId>,
	options: KeysendOptions, wait: bool,
) -> Result<PaymentRecord, NodeError> {
	pay.refuse_if_fenced()?;
	check_amount_msat(amount_msat)?;
	if payee == pay.channel_manager.get_our_node_id() {
		return Err(NodeError::InvalidRequest("cannot keysend to ourselves".into()));
	}
	let retry = options.retry.unwrap_or(PAYMENT_RETRY_TIMEOUT);
	super::check_retry(retry)?;
	let onion = onion_fields(options.custom_records)?;
	let payment_id = payment_id.unwrap_or_else(|| PaymentId(rand::random()));
	let id = payment_id.0.to_lower_hex_string();
	let chosen_preimage = options.preimage.is_some();
	let preimage = options.preimage.unwrap_or_else(|| PaymentPreimage(rand::random()));
	let hash = sha256::Hash::hash(&preimage.0).to_byte_array().to_lower_hex_string();
	let record = PaymentRecord {
		payment_hash: Some(hash.clone()),
		destination: Some(payee.to_string()),
		amount_msat: Some(amount_msat),
		..new_record(&id, PaymentKind::Keysend, PaymentDirection::Outbound, PaymentStatus::Pending)
	};
	let mut updates = pay.payments.subscribe();
	if let Insert::Kept(existing) = pay.payments.insert_unless(&id, record, |_| true).await? {
		let same = existing.kind == PaymentKind::Keysend
			&& existing.destination.as_deref() == Some(payee.to_string().as_str())
			&& existing.amount_msat == Some(amount_msat)
			&& (!chosen_preimage || existing.payment_hash.as_deref() == Some(hash.as_str()));
		if !same {
			return Err(NodeError::DuplicatePayment(format!(
				"payment id {id} names another payment"
			)));
		}
		return answer(pay, existing, retry, wait, &mut updates).await;
	}
	let params = RouteParameters::from_payment_params_and_value(
		pay.limits.apply(PaymentParameters::for_keysend(payee, KEYSEND_FINAL_CLTV_DELTA, true)),
		amount_msat,
	);
	let sent = pay.slots.sending(|| {
		pay.channel_manager.send_spontaneous_payment(
			Some(preimage),
			onion.clone(),
			payment_id,
			params.clone(),
			Retry::Timeout(retry),
		)
	});
	if let Err(e) = sent {
		if e == RetryableSendFailure::RouteNotFound
			&& slots::slots_explain(&pay.channel_manager, amount_msat)
		{
			// Every slot that could carry it is taken: it waits for one (see `slots`).
			let channel_manager = Arc::clone(&pay.channel_manager);
			let resend: slots::Resend = Box::new(move || {
				let (onion, params) = (onion.clone(), params.clone());
				let retry = Retry::Timeout(retry);
				channel_manager
					.send_spontaneous_payment(Some(preimage), onion, payment_id, params, retry)
					.map(|_hash| ())
					.map_err(Into::into)
			});
			let deadline = tokio::time::Instant::now() + PAYMENT_SLOT_WAIT;
			if let Err(error) = pay.slots.queue(&id, amount_msat, deadline, resend) {
				super::received::mark_failed(pay, &id, error.message().to_string()).await;
				return Err(error);
			}
			let record = pay.payments.get(&id);
			let record =
				record.ok_or_else(|| NodeError::Internal("payment record vanished".into()))?;
			return answer(pay, record, retry, wait, &mut updates).await;
		}
		let error = send_failure(e);
		super::received::mark_failed(pay, &id, error.message().to_string()).await;
		return Err(error);
	}
	let record = pay
		.payments
		.get(&id)
		.ok_or_else(|| NodeError::Internal("payment record vanished".into()))?;
	answer(pay, record, retry, wait, &mut updates).await
}

/// The payee's onion fields with `custom_records`, or why LDK would refuse them.
fn onion_fields(custom_records: Vec<(u64, Vec<u8>)>) -> Result<RecipientOnionFields, NodeError> {
	let mut types: Vec<u64> = custom_records.iter().map(|(t, _)| *t).collect();
	types.sort_unstable();
	if let Some(t) = types.iter().find(|t| **t < 1 << 16) {
		return Err(NodeError::InvalidRequest(format!(
			"custom record type {t} is below 65536 (custom records start there)"
		)));
	}
	if types.contains(&KEYSEND_RECORD_TYPE) {
		return Err(NodeError::InvalidRequest(
			"custom record 5482373484 is the keysend preimage: give the preimage instead".into(),
		));
	}
	if let Some(pair) = types.windows(2).find(|pair| pair[0] == pair[1]) {
		return Err(NodeError::InvalidRequest(format!("custom record type {} twice", pair[0])));
	}
	RecipientOnionFields::spontaneous_empty().with_custom_tlvs(custom_records).map_err(|()| {
		NodeError::InvalidRequest("a custom record type is reserved by the protocol".into())
	})
}

async fn answer(
	pay: &Payments, record: PaymentRecord, retry: std::time::Duration, wait: bool,
	updates: &mut tokio::sync::broadcast::Receiver<String>,
) -> Result<PaymentRecord, NodeError> {
	if wait {
		return super::wait_final(pay, &record.payment_id, retry, updates).await;
	}
	Ok(record)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn refusal(records: Vec<(u64, Vec<u8>)>) -> String {
		match onion_fields(records) {
			Err(e) => e.message().to_string(),
			Ok(_) => panic!("accepted"),
		}
	}

	#[test]
	fn custom_records_go_into_the_onion_in_type_order() {
		let onion = onion_fields(vec![(7629169, vec![2]), (65536, vec![1])]).expect("valid");
		assert_eq!(onion.custom_tlvs(), &vec![(65536, vec![1]), (7629169, vec![2])]);
		assert!(onion_fields(Vec::new()).expect("none").custom_tlvs().is_empty());
	}

	#[test]
	fn custom_records_ldk_would_refuse_are_refused_with_a_reason() {
		assert!(refusal(vec![(65535, vec![])]).contains("below 65536"));
		assert!(refusal(vec![(1, vec![]), (70000, vec![])]).contains("below 65536"));
		assert!(refusal(vec![(KEYSEND_RECORD_TYPE, vec![0; 32])]).contains("keysend preimage"));
		assert!(refusal(vec![(70000, vec![1]), (70000, vec![2])]).contains("twice"));
		assert!(refusal(vec![(77_777, vec![])]).contains("reserved"));
	}
}
