//! LDK's events, handled by area: channels here and in `channels`, payments in `payment`.
//!
//! A handler that could not finish its work (a failed write) returns `ReplayEvent`, and LDK
//! hands the event over again instead of losing it.

mod channels;

use std::sync::Arc;

use lightning::events::{Event, HTLCHandlingFailureReason, HTLCHandlingFailureType, ReplayEvent};
use lightning::ln::LocalHTLCFailureReason;

use crate::context::Context;
use crate::journal::NodeEvent;
use crate::payment;

/// Handles every LDK event for one node.
pub struct EventHandler {
	ctx: Arc<Context>,
}

impl EventHandler {
	/// A handler for the node in `ctx`.
	pub fn new(ctx: Arc<Context>) -> EventHandler {
		EventHandler { ctx }
	}

	/// Handles one event.
	pub async fn handle(&self, event: Event) -> Result<(), ReplayEvent> {
		let ctx = &self.ctx;
		match event {
			Event::FundingGenerationReady {
				temporary_channel_id,
				counterparty_node_id,
				channel_value_satoshis,
				output_script,
				user_channel_id,
			} => {
				channels::fund(
					ctx,
					temporary_channel_id,
					counterparty_node_id,
					channel_value_satoshis,
					output_script,
					user_channel_id,
				)
				.await
			}
			Event::OpenChannelRequest {
				temporary_channel_id,
				counterparty_node_id,
				params,
				..
			} => {
				let feerate = params.commitment_feerate_sat_per_1000_weight;
				channels::accept(ctx, temporary_channel_id, counterparty_node_id, feerate);
				Ok(())
			}
			Event::ChannelPending {
				channel_id,
				user_channel_id,
				counterparty_node_id,
				funding_txo,
				..
			} => {
				crate::info!(
					ctx.logger,
					"channel {channel_id} with {counterparty_node_id} pending, funding {funding_txo}"
				);
				channels::settle_open(
					ctx,
					user_channel_id,
					Ok((channel_id, funding_txo.txid.to_string())),
				);
				record(
					ctx,
					NodeEvent::ChannelPending {
						channel_id: channel_id.to_string(),
						counterparty_node_id: counterparty_node_id.to_string(),
						funding_txo: funding_txo.to_string(),
					},
				)
				.await
			}
			Event::ChannelReady { channel_id, counterparty_node_id, .. } => {
				crate::info!(ctx.logger, "channel {channel_id} with {counterparty_node_id} ready");
				record(
					ctx,
					NodeEvent::ChannelReady {
						channel_id: channel_id.to_string(),
						counterparty_node_id: counterparty_node_id.to_string(),
					},
				)
				.await
			}
			Event::ChannelClosed {
				channel_id,
				user_channel_id,
				reason,
				counterparty_node_id,
				..
			} => {
				crate::info!(ctx.logger, "channel {channel_id} closed: {reason}");
				channels::settle_open(
					ctx,
					user_channel_id,
					Err(format!("channel closed: {reason}")),
				);
				record(
					ctx,
					NodeEvent::ChannelClosed {
						channel_id: channel_id.to_string(),
						counterparty_node_id: counterparty_node_id.map(|id| id.to_string()),
						reason: reason.to_string(),
					},
				)
				.await
			}
			Event::DiscardFunding { channel_id, funding_info } => {
				channels::discard_funding(ctx, channel_id, funding_info);
				Ok(())
			}
			Event::FundingTxBroadcastSafe { .. } => Ok(()),
			Event::SpendableOutputs { outputs, channel_id } => {
				// Outputs paying to a wallet address are already the wallet's; the sweeper
				// spends the rest (delayed to_self, anchors' to_remote, HTLC claims).
				ctx.sweeper.track_spendable_outputs(outputs, channel_id, true, None).await.map_err(
					|()| {
						crate::error!(ctx.logger, "sweeper could not persist outputs");
						ReplayEvent()
					},
				)
			}
			Event::BumpTransaction(bump) => {
				ctx.bump_handler.handle_event(&bump).await;
				Ok(())
			}
			Event::PaymentClaimable {
				payment_hash, amount_msat, purpose, claim_deadline, ..
			} => {
				payment::on_payment_claimable(
					ctx,
					payment_hash,
					amount_msat,
					purpose,
					claim_deadline,
				)
				.await
			}
			Event::PaymentClaimed { payment_hash, amount_msat, purpose, .. } => {
				payment::on_payment_claimed(ctx, payment_hash, amount_msat, purpose).await
			}
			Event::PaymentSent {
				payment_id,
				payment_preimage,
				payment_hash,
				amount_msat,
				fee_paid_msat,
				..
			} => {
				payment::on_payment_sent(
					ctx,
					payment_id,
					payment_preimage,
					payment_hash,
					amount_msat,
					fee_paid_msat,
				)
				.await
			}
			Event::PaymentFailed { payment_id, payment_hash, reason } => {
				payment::on_payment_failed(ctx, payment_id, payment_hash, reason).await
			}
			Event::PaymentForwarded {
				total_fee_earned_msat,
				outbound_amount_forwarded_msat,
				..
			} => {
				crate::info!(
					ctx.logger,
					"forwarded {outbound_amount_forwarded_msat:?} msat, earned {total_fee_earned_msat:?} msat"
				);
				Ok(())
			}
			Event::HTLCHandlingFailed { prev_channel_id, failure_type, failure_reason } => {
				crate::debug!(
					ctx.logger,
					"HTLC from {prev_channel_id} failed: {failure_type:?} ({failure_reason:?})"
				);
				match (failure_type, failure_reason) {
					(
						HTLCHandlingFailureType::Receive { payment_hash },
						Some(HTLCHandlingFailureReason::Local {
							reason: LocalHTLCFailureReason::PaymentClaimBuffer,
						}),
					) => payment::hold::on_failed_back(ctx, payment_hash).await,
					_ => Ok(()),
				}
			}
			Event::ConnectionNeeded { node_id, addresses } => {
				channels::connect_needed(ctx, node_id, addresses);
				Ok(())
			}
			// Scorer and graph updates are done by the background processor itself.
			Event::PaymentPathSuccessful { .. }
			| Event::PaymentPathFailed { .. }
			| Event::ProbeSuccessful { .. }
			| Event::ProbeFailed { .. } => Ok(()),
			other => {
				crate::debug!(ctx.logger, "event not acted on: {other:?}");
				Ok(())
			}
		}
	}
}

/// Records an event in the journal; if that fails, LDK replays the event (the journal
/// records it once however often it is handled).
pub(crate) async fn record(ctx: &Context, event: NodeEvent) -> Result<(), ReplayEvent> {
	match ctx.journal.append(event).await {
		Ok(_) => Ok(()),
		Err(e) => {
			crate::error!(ctx.logger, "event not recorded, will be replayed: {e}");
			Err(ReplayEvent())
		}
	}
}
