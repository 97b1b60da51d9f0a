//! Our forwarding policy per channel: read from LDK's `ChannelDetails`, changed through
//! `ChannelManager::update_partial_channel_config`, which queues a new `channel_update` to
//! gossip for an announced channel (and sends it to the peer of a private one).
//!
//! Invariants: a change is checked whole before LDK is asked, and LDK applies it to every
//! channel of a peer at once or to none, so a refused change changes nothing; a change is
//! answered once the channel manager holding it is on disk (a crash after the answer keeps
//! it; the `fs-sync` baseline, without the manager's writer, does not wait); a field LDK
//! does not let us set (the HTLC limits) is refused, never silently ignored; the policy read
//! back is LDK's own, so what the API shows is what the channel announces.

use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::types::ChannelId;
use lightning::util::config::ChannelConfigUpdate;

use super::Channels;
use crate::config::{MAX_CLTV_EXPIRY_DELTA, MAX_FEE_PPM, MIN_CLTV_EXPIRY_DELTA};
use crate::model::{ChannelInfo, ForwardingPolicy, PolicyUpdate};
use crate::NodeError;

/// The share of a channel's capacity LDK announces as its largest HTLC, in tenths.
const ANNOUNCED_MAX_HTLC_TENTHS: u64 = 9;

/// Our policy on channel `c`, as its `channel_update` for our direction says.
pub(super) fn of(c: &ChannelDetails) -> ForwardingPolicy {
	let config = c.config.unwrap_or_default();
	let capacity_share = c.channel_value_satoshis.saturating_mul(100 * ANNOUNCED_MAX_HTLC_TENTHS);
	ForwardingPolicy {
		fee_base_msat: config.forwarding_fee_base_msat,
		fee_ppm: config.forwarding_fee_proportional_millionths,
		cltv_expiry_delta: config.cltv_expiry_delta,
		htlc_minimum_msat: c.counterparty.outbound_htlc_minimum_msat,
		htlc_maximum_msat: c.counterparty.outbound_htlc_maximum_msat.map(|m| m.min(capacity_share)),
	}
}

/// Checks a change: at least one field, only fields LDK can set, values LDK accepts.
pub fn check(update: &PolicyUpdate) -> Result<ChannelConfigUpdate, NodeError> {
	if update.htlc_minimum_msat.is_some() {
		return Err(NodeError::InvalidRequest(
			"htlc_minimum_msat cannot be changed: it is the peer's minimum, fixed when the \
			 channel was opened"
				.into(),
		));
	}
	if update.htlc_maximum_msat.is_some() {
		return Err(NodeError::InvalidRequest(
			"htlc_maximum_msat cannot be changed: LDK derives it from the capacity and what the \
			 peer allows in flight"
				.into(),
		));
	}
	if update.fee_base_msat.is_none()
		&& update.fee_ppm.is_none()
		&& update.cltv_expiry_delta.is_none()
	{
		return Err(NodeError::InvalidRequest(
			"nothing to change: give fee_base_msat, fee_ppm or cltv_expiry_delta".into(),
		));
	}
	if let Some(delta) = update.cltv_expiry_delta {
		if !(MIN_CLTV_EXPIRY_DELTA..=MAX_CLTV_EXPIRY_DELTA).contains(&delta) {
			return Err(NodeError::InvalidRequest(format!(
				"cltv_expiry_delta must be between {MIN_CLTV_EXPIRY_DELTA} and \
				 {MAX_CLTV_EXPIRY_DELTA} blocks"
			)));
		}
	}
	if update.fee_ppm.is_some_and(|ppm| ppm > MAX_FEE_PPM) {
		return Err(NodeError::InvalidRequest(format!("fee_ppm must be at most {MAX_FEE_PPM}")));
	}
	Ok(ChannelConfigUpdate {
		forwarding_fee_base_msat: update.fee_base_msat,
		forwarding_fee_proportional_millionths: update.fee_ppm,
		cltv_expiry_delta: update.cltv_expiry_delta,
		..ChannelConfigUpdate::default()
	})
}

/// Whether `update` changes anything of `c`'s policy.
fn changes(c: &ChannelDetails, update: &ChannelConfigUpdate) -> bool {
	let Some(before) = c.config else { return true };
	let mut after = before;
	after.apply(update);
	after != before
}

/// Waits until the channel manager, as it is now, is on disk.
async fn manager_durable(channels: &Channels) -> Result<(), NodeError> {
	match &channels.manager_writes {
		Some(writer) => writer
			.persist_manager()
			.await
			.map_err(|e| NodeError::Persistence(format!("writing the channel manager: {e}"))),
		None => Ok(()),
	}
}

/// Changes one channel's policy; answers the channel as it reads afterwards, once the change
/// is durable.
pub async fn update(
	channels: &Channels, id: &ChannelId, update: &PolicyUpdate,
) -> Result<ChannelInfo, NodeError> {
	let config_update = check(update)?;
	let channel = channels
		.channel_manager
		.list_channels()
		.into_iter()
		.find(|c| c.channel_id == *id)
		.ok_or_else(|| NodeError::NotFound(format!("no channel {id}")))?;
	channels
		.channel_manager
		.update_partial_channel_config(&channel.counterparty.node_id, &[*id], &config_update)
		.map_err(|e| match e {
			lightning::util::errors::APIError::ChannelUnavailable { err } => {
				NodeError::NotFound(format!("channel {id}: {err}"))
			}
			other => NodeError::InvalidRequest(format!("LDK refused the policy: {other:?}")),
		})?;
	manager_durable(channels).await?;
	crate::info!(channels.logger, "forwarding policy of channel {id} now {update:?}");
	super::get(channels, id).ok_or_else(|| NodeError::NotFound(format!("no channel {id}")))
}

/// Changes every channel's policy, one peer at a time; answers how many channels changed,
/// once the changes are durable. A peer whose channels LDK refuses (one closed meanwhile) is
/// skipped and logged.
pub async fn update_all(channels: &Channels, update: &PolicyUpdate) -> Result<usize, NodeError> {
	let config_update = check(update)?;
	let mut by_peer: std::collections::BTreeMap<_, Vec<ChannelId>> = Default::default();
	for c in channels.channel_manager.list_channels() {
		if changes(&c, &config_update) {
			by_peer.entry(c.counterparty.node_id).or_default().push(c.channel_id);
		}
	}
	let mut changed = 0;
	for (peer, ids) in by_peer {
		match channels.channel_manager.update_partial_channel_config(&peer, &ids, &config_update) {
			Ok(()) => changed += ids.len(),
			Err(e) => {
				crate::warn!(channels.logger, "policy of {peer}'s channels not changed: {e:?}")
			}
		}
	}
	if changed > 0 {
		manager_durable(channels).await?;
	}
	crate::info!(channels.logger, "forwarding policy of {changed} channels now {update:?}");
	Ok(changed)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn fixed_fields_are_refused_by_name() {
		let min =
			PolicyUpdate { htlc_minimum_msat: Some(1), fee_ppm: Some(5), ..Default::default() };
		let max = PolicyUpdate { htlc_maximum_msat: Some(1), ..Default::default() };
		for (update, field) in [(min, "htlc_minimum_msat"), (max, "htlc_maximum_msat")] {
			match check(&update).map(|_| ()) {
				Err(NodeError::InvalidRequest(m)) => assert!(m.starts_with(field), "{m}"),
				other => panic!("{update:?} accepted: {other:?}"),
			}
		}
	}

	#[test]
	fn values_are_checked() {
		let empty = PolicyUpdate::default();
		let low = PolicyUpdate { cltv_expiry_delta: Some(MIN_CLTV_EXPIRY_DELTA - 1), ..empty };
		let high = PolicyUpdate { cltv_expiry_delta: Some(MAX_CLTV_EXPIRY_DELTA + 1), ..empty };
		let ppm = PolicyUpdate { fee_ppm: Some(MAX_FEE_PPM + 1), ..empty };
		for bad in [empty, low, high, ppm] {
			assert!(matches!(check(&bad), Err(NodeError::InvalidRequest(_))), "{bad:?}");
		}
		let good = PolicyUpdate {
			fee_base_msat: Some(0),
			fee_ppm: Some(MAX_FEE_PPM),
			cltv_expiry_delta: Some(MIN_CLTV_EXPIRY_DELTA),
			..empty
		};
		let update = check(&good).expect("valid");
		assert_eq!(update.forwarding_fee_base_msat, Some(0));
		assert_eq!(update.forwarding_fee_proportional_millionths, Some(MAX_FEE_PPM));
		assert_eq!(update.cltv_expiry_delta, Some(MIN_CLTV_EXPIRY_DELTA));
		assert_eq!(update.max_dust_htlc_exposure_msat, None, "only the policy's fields");
	}
}
