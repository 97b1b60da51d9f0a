//! LDK's events, handled by area: channels here and in `channels`, payments in `payment`,
//! forwards in `forwards` (the records) from what `forwards` here reads of the events.
//!
//! A handler that could not finish its work (a failed write) returns `ReplayEvent`, and LDK
//! hands the event over again instead of losing it.

mod channels;
mod forwards;
#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) use forwards::seen as forward_seen;

use std::sync::Arc;

use lightning::events::{Event, HTLCHandlingFailureReason, HTLCHandlingFailureType, ReplayEvent};
use lightning::ln::LocalHTLCFailureReason;

use crate::channels::Channels;
use crate::forwards::Forwards;
use crate::journal::{Journal, NodeEvent};
use crate::logger::FulgurLogger;
use crate::payment::{self, Payments};
use crate::peers::Peers;
use crate::types::{BumpTxEventHandler, Sweeper};

/// Handles every LDK event for one node, with the handles the events touch.
pub struct EventHandler {
	/// Payment and invoice events.
	pub(crate) payments: Payments,
	/// Channel lifecycle events.
	pub(crate) channels: Channels,
	/// Forwarding records.
	pub(crate) forwards: Forwards,
	/// Connections LDK asks for.
	pub(crate) peers: Peers,
	/// Spendable outputs of closed channels.
	pub(crate) sweeper: Arc<Sweeper>,
	/// Anchor fee bumps.
	pub(crate) bump_handler: Arc<BumpTxEventHandler>,
	/// The event log.
	pub(crate) journal: Arc<Journal>,
	/// Log.
	pub(crate) logger: Arc<FulgurLogger>,
}

impl EventHandler {
	/// Handles one event.
	pub async fn handle(&self, event: Event) -> Result<(), ReplayEvent> {
		match event {
			Event::FundingGenerationReady {
				temporary_channel_id,
				counterparty_node_id,
				channel_value_satoshis,
				output_script,
				user_channel_id,
			} => {
				channels::fund(
					&self.channels,
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
				channels::accept(
					&self.channels,
					temporary_channel_id,
					counterparty_node_id,
					feerate,
				);
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
					self.logger,
					"channel {channel_id} with {counterparty_node_id} pending, funding {funding_txo}"
				);
				channels::settle_open(
					&self.channels,
					user_channel_id,
					Ok((channel_id, funding_txo.txid.to_string())),
				);
				self.record(NodeEvent::ChannelPending {
					channel_id: channel_id.to_string(),
					counterparty_node_id: counterparty_node_id.to_string(),
					funding_txo: funding_txo.to_string(),
				})
				.await
			}
			Event::ChannelReady { channel_id, counterparty_node_id, .. } => {
				crate::info!(self.logger, "channel {channel_id} with {counterparty_node_id} ready");
				self.payments.route_hints.invalidate();
				self.record(NodeEvent::ChannelReady {
					channel_id: channel_id.to_string(),
					counterparty_node_id: counterparty_node_id.to_string(),
				})
				.await
			}
			Event::ChannelClosed {
				channel_id,
				user_channel_id,
				reason,
				counterparty_node_id,
				channel_capacity_sats,
				channel_funding_txo,
				last_local_balance_msat,
			} => {
				crate::info!(self.logger, "channel {channel_id} closed: {reason}");
				self.payments.route_hints.invalidate();
				channels::settle_open(
					&self.channels,
					user_channel_id,
					Err(format!("channel closed: {reason}")),
				);
				let close = crate::channels::closed::Close {
					channel_id,
					reason: reason.clone(),
					counterparty_node_id,
					capacity_sat: channel_capacity_sats,
					funding_txo: channel_funding_txo.map(|o| o.into_bitcoin_outpoint()),
					last_local_balance_msat,
				};
				if let Err(e) = self.channels.closed.record_close(close).await {
					crate::error!(self.logger, "recording channel {channel_id}'s close: {e}");
					return Err(ReplayEvent());
				}
				self.record(NodeEvent::ChannelClosed {
					channel_id: channel_id.to_string(),
					counterparty_node_id: counterparty_node_id.map(|id| id.to_string()),
					reason: reason.to_string(),
				})
				.await
			}
			Event::DiscardFunding { channel_id, funding_info } => {
				channels::discard_funding(&self.channels, channel_id, funding_info);
				Ok(())
			}
			Event::FundingTxBroadcastSafe { .. } => Ok(()),
			Event::SpendableOutputs { outputs, channel_id } => {
				// Outputs paying to a wallet address are already the wallet's; the sweeper
				// spends the rest (delayed to_self, anchors' to_remote, HTLC claims).
				self.sweeper.track_spendable_outputs(outputs, channel_id, true, None).await.map_err(
					|()| {
						crate::error!(self.logger, "sweeper could not persist outputs");
						ReplayEvent()
					},
				)
			}
			Event::BumpTransaction(bump) => {
				self.bump_handler.handle_event(&bump).await;
				Ok(())
			}
			Event::PaymentClaimable {
				payment_hash, amount_msat, purpose, claim_deadline, ..
			} => {
				payment::on_payment_claimable(
					&self.payments,
					payment_hash,
					amount_msat,
					purpose,
					claim_deadline,
				)
				.await
			}
			Event::PaymentClaimed { payment_hash, amount_msat, purpose, .. } => {
				payment::on_payment_claimed(&self.payments, payment_hash, amount_msat, purpose)
					.await
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
					&self.payments,
					payment_id,
					payment_preimage,
					payment_hash,
					amount_msat,
					fee_paid_msat,
				)
				.await
			}
			Event::PaymentFailed { payment_id, payment_hash, reason } => {
				payment::on_payment_failed(&self.payments, payment_id, payment_hash, reason).await
			}
			Event::PaymentForwarded {
				total_fee_earned_msat,
				outbound_amount_forwarded_msat,
				..
			} => {
				crate::info!(
					self.logger,
					"forwarded {outbound_amount_forwarded_msat:?} msat, earned {total_fee_earned_msat:?} msat"
				);
				self.record_forward(&event).await
			}
			Event::HTLCHandlingFailed {
				ref prev_channel_id,
				ref failure_type,
				ref failure_reason,
			} => {
				crate::debug!(
					self.logger,
					"HTLC from {prev_channel_id} failed: {failure_type:?} ({failure_reason:?})"
				);
				match (failure_type, failure_reason) {
					(
						HTLCHandlingFailureType::Receive { payment_hash },
						Some(HTLCHandlingFailureReason::Local {
							reason: LocalHTLCFailureReason::PaymentClaimBuffer,
						}),
					) => payment::hold::on_failed_back(&self.payments, *payment_hash).await,
					(HTLCHandlingFailureType::Forward { .. }, _) => {
						self.record_forward(&event).await
					}
					_ => Ok(()),
				}
			}
			Event::ConnectionNeeded { node_id, addresses } => {
				channels::connect_needed(&self.peers, node_id, addresses);
				Ok(())
			}
			// Scorer and graph updates are done by the background processor itself.
			Event::PaymentPathSuccessful { .. }
			| Event::PaymentPathFailed { .. }
			| Event::ProbeSuccessful { .. }
			| Event::ProbeFailed { .. } => Ok(()),
			other => {
				crate::debug!(self.logger, "event not acted on: {other:?}");
				Ok(())
			}
		}
	}
}

impl EventHandler {
	/// Records the forward `event` reports (settled or failed), once however often LDK hands
	/// the event over.
	async fn record_forward(&self, event: &Event) -> Result<(), ReplayEvent> {
		let channel_manager = &self.channels.channel_manager;
		let peer_of = |channel_id: &lightning::ln::types::ChannelId| {
			channel_manager
				.list_channels()
				.into_iter()
				.find(|channel| channel.channel_id == *channel_id)
				.map(|channel| channel.counterparty.node_id)
		};
		match forwards::seen(event, peer_of) {
			Some(seen) => self.forwards.on_forward(seen).await,
			None => Ok(()),
		}
	}

	/// Records an event in the journal; if that fails, LDK replays the event.
	async fn record(&self, event: NodeEvent) -> Result<(), ReplayEvent> {
		self.journal.append_or_replay(event, &self.logger).await
	}
}
