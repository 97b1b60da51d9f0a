//! Spontaneous payments (keysend): no invoice, the preimage travels in the onion.

use std::sync::Arc;

use bitcoin::hex::DisplayHex;
use lightning::ln::channelmanager::PaymentId;
use lightning::ln::channelmanager::{RecipientOnionFields, Retry};
use lightning::routing::router::{PaymentParameters, RouteParameters};
use lightning::types::payment::PaymentPreimage;

use super::{check_amount_msat, new_record, send_failure};
use crate::config::PAYMENT_RETRY_TIMEOUT;
use crate::context::Context;
use crate::model::{PaymentDirection, PaymentKind, PaymentRecord, PaymentStatus};
use crate::peers::parse_node_id;
use crate::NodeError;

/// The final hop's CLTV delta for keysend (LDK's default for invoices).
const KEYSEND_FINAL_CLTV_DELTA: u32 = 40;

/// Sends `amount_msat` to `node_id`; with `wait`, answers once the payment is final.
/// `preimage` is for tests only (see `Node::keysend_with_preimage`): LDK picks one otherwise.
pub async fn send(
	ctx: &Arc<Context>, node_id: &str, amount_msat: u64, preimage: Option<PaymentPreimage>,
	wait: bool,
) -> Result<PaymentRecord, NodeError> {
	let payee = parse_node_id(node_id)?;
	check_amount_msat(amount_msat)?;
	if payee == ctx.channel_manager.get_our_node_id() {
		return Err(NodeError::InvalidRequest("cannot keysend to ourselves".into()));
	}
	let payment_id = PaymentId(rand::random());
	let id = payment_id.0.to_lower_hex_string();
	let record = PaymentRecord {
		destination: Some(payee.to_string()),
		amount_msat: Some(amount_msat),
		..new_record(&id, PaymentKind::Keysend, PaymentDirection::Outbound, PaymentStatus::Pending)
	};
	ctx.payments.put(&id, record).await?;
	let mut updates = ctx.payments.subscribe();
	let params = RouteParameters::from_payment_params_and_value(
		ctx.config.routing.apply(PaymentParameters::for_keysend(
			payee,
			KEYSEND_FINAL_CLTV_DELTA,
			true,
		)),
		amount_msat,
	);
	match ctx.channel_manager.send_spontaneous_payment(
		preimage,
		RecipientOnionFields::spontaneous_empty(),
		payment_id,
		params,
		Retry::Timeout(PAYMENT_RETRY_TIMEOUT),
	) {
		Ok(hash) => {
			let hash = hash.0.to_lower_hex_string();
			ctx.payments
				.update(&id, |r| {
					if r.payment_hash.is_none() {
						r.payment_hash = Some(hash);
						true
					} else {
						false
					}
				})
				.await?;
		}
		Err(e) => {
			let error = send_failure(e);
			super::received::mark_failed(ctx, &id, error.message().to_string()).await;
			return Err(error);
		}
	}
	if wait {
		return super::wait_final(ctx, &id, &mut updates).await;
	}
	ctx.payments.get(&id).ok_or_else(|| NodeError::Internal("payment record vanished".into()))
}
