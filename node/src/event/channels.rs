//! Channel lifecycle events: funding, inbound requests, open outcomes.

use std::sync::Arc;

use bitcoin::secp256k1::PublicKey;
use bitcoin::ScriptBuf;
use lightning::chain::chaininterface::{ConfirmationTarget, FeeEstimator};
use lightning::events::{FundingInfo, ReplayEvent};
use lightning::ln::msgs::SocketAddress;
use lightning::ln::types::ChannelId;

use crate::channels::{Channels, OpenOutcome, ReadyFunding};
use crate::peers::Peers;
use crate::wallet::SpendPurpose;

/// Builds and hands over the funding transaction of a channel we open (or, for a batch, of
/// all its channels once the last one is ready).
pub(super) async fn fund(
	channels: &Channels, temporary_channel_id: ChannelId, counterparty: PublicKey, amount_sat: u64,
	output_script: ScriptBuf, user_channel_id: u128,
) -> Result<(), ReplayEvent> {
	let ready = ReadyFunding {
		temporary_channel_id,
		counterparty,
		script: output_script,
		amount_sat,
		user_channel_id,
	};
	match channels.opens.funding_batches.get(&user_channel_id).map(|b| Arc::clone(&b)) {
		Some(batch) => {
			if let Some(all) = batch.add(ready) {
				fund_channels(channels, all).await;
			}
		}
		None => fund_channels(channels, vec![ready]).await,
	}
	Ok(())
}

/// One funding transaction for the `ready` channels; if it cannot be built or LDK refuses it, every
/// channel is dropped so its peer is not left waiting, and its opener is told why.
async fn fund_channels(channels: &Channels, ready: Vec<ReadyFunding>) {
	let fee_rate =
		channels.bitcoind.get_est_sat_per_1000_weight(ConfirmationTarget::NonAnchorChannelFee);
	let wallet = Arc::clone(&channels.wallet);
	let height = channels.channel_manager.current_best_block().height;
	let outputs: Vec<_> = ready.iter().map(|c| (c.script.clone(), c.amount_sat)).collect();
	let built = tokio::task::spawn_blocking(move || {
		wallet.create_batch_payment(
			outputs,
			fee_rate,
			SpendPurpose::Funding { lock_height: height },
		)
	})
	.await;
	let failure = match built {
		Ok(Ok(tx)) => {
			let handed_over = match ready.as_slice() {
				[single] => channels.channel_manager.funding_transaction_generated(
					single.temporary_channel_id,
					single.counterparty,
					tx.clone(),
				),
				batch => {
					let ids: Vec<(&ChannelId, &PublicKey)> =
						batch.iter().map(|c| (&c.temporary_channel_id, &c.counterparty)).collect();
					channels.channel_manager.batch_funding_transaction_generated(&ids, tx.clone())
				}
			};
			match handed_over {
				Ok(()) => return,
				Err(e) => {
					channels.wallet.cancel(&tx);
					format!("funding refused by LDK: {e:?}")
				}
			}
		}
		Ok(Err(e)) => format!("cannot fund channel: {e}"),
		Err(e) => format!("funding task failed: {e}"),
	};
	crate::error!(channels.logger, "{failure}");
	for channel in &ready {
		let _ = channels.channel_manager.force_close_broadcasting_latest_txn(
			&channel.temporary_channel_id,
			&channel.counterparty,
			failure.clone(),
		);
		settle_open(channels, channel.user_channel_id, Err(failure.clone()));
	}
}

/// Accepts an inbound channel (anchor channels need manual acceptance, see the builder),
/// unless the peer's commitment fee rate is beyond what our fee policy tolerates: such a
/// channel would later be force-closed on the peer's `update_fee` or refuse every payment to
/// us, so it is refused now, telling the peer why.
pub(super) fn accept(
	channels: &Channels, temporary_channel_id: ChannelId, counterparty: PublicKey,
	feerate_sat_per_kw: u32,
) {
	let ceiling = channels.bitcoind.peer_fee_rate_ceiling();
	if let Err(why) = channels.fee_policy.check_open(feerate_sat_per_kw, ceiling) {
		crate::warn!(channels.logger, "refusing channel from {counterparty}: {why}");
		let _ = channels.channel_manager.force_close_broadcasting_latest_txn(
			&temporary_channel_id,
			&counterparty,
			why,
		);
		return;
	}
	let user_channel_id: u128 = rand::random();
	if let Err(e) = channels.channel_manager.accept_inbound_channel(
		&temporary_channel_id,
		&counterparty,
		user_channel_id,
		None,
	) {
		crate::warn!(channels.logger, "could not accept channel from {counterparty}: {e:?}");
	}
}

/// Tells a waiting `open_channel` how its channel fared.
pub(super) fn settle_open(channels: &Channels, user_channel_id: u128, outcome: OpenOutcome) {
	channels.opens.settle(user_channel_id, outcome);
}

/// A channel's funding will never confirm: free the wallet's inputs.
pub(super) fn discard_funding(channels: &Channels, channel_id: ChannelId, funding: FundingInfo) {
	crate::info!(channels.logger, "discarding funding of channel {channel_id}");
	if let FundingInfo::Tx { transaction } = funding {
		channels.wallet.cancel(&transaction);
	}
}

/// LDK needs a connection (e.g. to send an onion message); try the addresses it knows.
pub(super) fn connect_needed(peers: &Peers, node_id: PublicKey, addresses: Vec<SocketAddress>) {
	let peers = peers.clone();
	tokio::spawn(async move {
		for address in addresses {
			// Gossiped host names are looked up off the runtime's workers.
			let Ok(addr) = crate::peers::resolve_address(&address.to_string()).await else {
				continue;
			};
			if peers.connect_to(node_id, addr).await.is_ok() {
				return;
			}
		}
	});
}
