//! BOLT12: offers we create and offers we pay.

use std::str::FromStr;

use bitcoin::constants::ChainHash;
use bitcoin::hex::DisplayHex;
use lightning::ln::channelmanager::Retry;
use lightning::ln::channelmanager::{OptionalOfferPaymentParams, PaymentId};
use lightning::offers::offer::{Amount, Offer};

use super::new_record;
use super::Payments;
use crate::model::{PaymentDirection, PaymentKind, PaymentRecord, PaymentStatus};
use crate::parse::check_amount_msat;
use crate::NodeError;

/// Creates an offer; anyone who can reach us over onion messages can pay it, repeatedly.
pub fn create_offer(
	pay: &Payments, amount_msat: Option<u64>, description: &str,
) -> Result<String, NodeError> {
	if let Some(amount) = amount_msat {
		check_amount_msat(amount)?;
	}
	let mut builder = pay
		.channel_manager
		.create_offer_builder()
		.map_err(|e| NodeError::Internal(format!("creating offer: {e:?}")))?
		.description(description.to_string());
	if let Some(amount) = amount_msat {
		builder = builder.amount_msats(amount);
	}
	let offer =
		builder.build().map_err(|e| NodeError::Internal(format!("building offer: {e:?}")))?;
	Ok(offer.to_string())
}

/// Starts paying an offer: LDK asks the offer's node for an invoice over onion messages, then
/// pays it. The payment hash is known once the invoice arrives.
pub async fn pay_offer(
	pay: &Payments, text: &str, amount_msat: Option<u64>, max_fee_msat: Option<u64>,
	retry: std::time::Duration,
) -> Result<PaymentRecord, NodeError> {
	pay.refuse_if_fenced()?;
	let offer = Offer::from_str(text)
		.map_err(|e| NodeError::InvalidInvoice(format!("not a BOLT12 offer: {e:?}")))?;
	if !offer.supports_chain(ChainHash::using_genesis_block(pay.network)) {
		return Err(NodeError::InvalidInvoice(format!("offer is not for {}", pay.network)));
	}
	if offer.is_expired() {
		return Err(NodeError::InvoiceExpired("the offer has expired".into()));
	}
	let amount = match (offer.amount(), amount_msat) {
		(Some(Amount::Currency { .. }), _) => {
			return Err(NodeError::InvalidInvoice(
				"offers in fiat currency are not supported".into(),
			))
		}
		(None, None) => {
			return Err(NodeError::InvalidAmount(
				"the offer has no amount: give amount_msat".into(),
			))
		}
		(Some(Amount::Bitcoin { amount_msats }), Some(given)) if given < amount_msats => {
			return Err(NodeError::InvalidAmount(format!(
				"amount_msat {given} is below the offer's {amount_msats}"
			)))
		}
		(_, Some(given)) => given,
		(Some(Amount::Bitcoin { amount_msats }), None) => amount_msats,
	};
	let payment_id = PaymentId(rand::random());
	let id = payment_id.0.to_lower_hex_string();
	let record = PaymentRecord {
		destination: offer.issuer_signing_pubkey().map(|k| k.to_string()),
		invoice: Some(text.to_string()),
		description: offer.description().map(|d| d.to_string()),
		amount_msat: Some(amount),
		max_fee_msat,
		..new_record(&id, PaymentKind::Bolt12, PaymentDirection::Outbound, PaymentStatus::Pending)
	};
	pay.payments.put(&id, record.clone()).await?;
	let params = OptionalOfferPaymentParams {
		route_params_config: pay.limits.route_config(max_fee_msat),
		retry_strategy: Retry::Timeout(retry),
		..Default::default()
	};
	let amount_arg = if offer.amount().is_none() { Some(amount) } else { amount_msat };
	if let Err(e) = pay.channel_manager.pay_for_offer(&offer, amount_arg, payment_id, params) {
		let error = NodeError::PaymentFailed(format!("cannot pay this offer: {e:?}"));
		super::received::mark_failed(pay, &id, error.message().to_string()).await;
		return Err(error);
	}
	Ok(pay.payments.get(&id).unwrap_or(record))
}
