//! `GET /v1/channels`, `GET /v1/channels/{channel_id}`, `POST /v1/channels`,
//! `POST /v1/channels/{channel_id}/close`, `GET /v1/channels/closed`.

use serde::{Deserialize, Serialize};

use super::policy::ForwardingPolicy;
use super::Validate;
use crate::error::ApiError;

/// A channel, from our side.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChannelInfo {
	/// Channel id (hex).
	pub channel_id: String,
	/// The counterparty's node id.
	pub counterparty_node_id: String,
	/// Funding outpoint `txid:vout`, once known.
	pub funding_txo: Option<String>,
	/// Short channel id `block x tx x output`, once confirmed.
	pub short_channel_id: Option<String>,
	/// Channel size.
	pub capacity_sat: u64,
	/// Our balance in the channel.
	pub local_balance_msat: u64,
	/// What we can send now.
	pub outbound_capacity_msat: u64,
	/// What we can receive now.
	pub inbound_capacity_msat: u64,
	/// Confirmations of the funding transaction.
	pub confirmations: Option<u32>,
	/// `pending` (funding not ready), `ready` (usable when the peer is connected) or `usable`.
	pub state: String,
	/// Announced to the network.
	pub announced: bool,
	/// We opened it.
	pub is_outbound: bool,
	/// Whether the channel can carry payments now, both ways: false also when LDK could send
	/// but would refuse incoming HTLCs (see `unusable_reason`).
	pub is_usable: bool,
	/// Why a channel LDK calls usable cannot receive (its dust exposure is at the limit).
	#[serde(default)]
	pub unusable_reason: Option<String>,
	/// The commitment transaction's fee rate, sat per 1000 weight (set by the funder).
	#[serde(default)]
	pub commitment_feerate_sat_per_kw: Option<u32>,
	/// An anchor channel (fees added when closing) rather than one whose commitment carries
	/// its fees.
	#[serde(default)]
	pub anchors: bool,
	/// Monitor updates issued and not yet durable.
	pub updates_in_flight: u64,
	/// Monitor updates made durable since the node started.
	pub updates_done: u64,
	/// How long the last monitor update took to become durable, in microseconds.
	pub last_persist_latency_us: Option<u64>,
	/// When the channel's state last changed (UNIX seconds), since the node started.
	pub last_activity_at: Option<u64>,
	/// How we forward payments out over this channel.
	pub policy: ForwardingPolicy,
}

/// `GET /v1/channels` answer: one page, by channel id; with `?state=closed`, a page of closed
/// channels (newest first) in `closed_channels` and `channels` empty.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListChannelsResponse {
	/// This page of channels, pending ones included.
	pub channels: Vec<ChannelInfo>,
	/// With `?state=closed`: this page of closed channels; empty otherwise.
	#[serde(default)]
	pub closed_channels: Vec<ClosedChannelInfo>,
	/// Channels in all pages.
	pub total: usize,
	/// Pass as `cursor` for the next page; `null` on the last page.
	pub next_cursor: Option<String>,
}

/// `GET /v1/channels/{channel_id}` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetChannelRequest {
	/// Channel id (hex).
	pub channel_id: String,
}

/// `POST /v1/channels` body.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OpenChannelRequest {
	/// Counterparty node id (hex).
	pub node_id: String,
	/// Its address, `host:port`.
	pub address: String,
	/// Channel size; not zero.
	pub amount_sat: u64,
	/// Given to the counterparty at opening.
	#[serde(default)]
	pub push_msat: Option<u64>,
	/// Announce to the network (default true).
	#[serde(default)]
	pub announce: Option<bool>,
}

impl Validate for OpenChannelRequest {
	fn validate(&self) -> Result<(), ApiError> {
		super::nonzero(Some(self.amount_sat), "amount_sat must be greater than zero")
	}
}

/// `POST /v1/channels` answer: the open was started.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct OpenedChannel {
	/// The channel id (temporary until the funding transaction is built, then final).
	pub channel_id: String,
	/// The counterparty.
	pub counterparty_node_id: String,
	/// The funding transaction id, once broadcast.
	pub funding_txid: Option<String>,
}

/// `POST /v1/channels/{channel_id}/close` body (optional: empty means `{}`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CloseChannelBody {
	/// Broadcast our commitment instead of negotiating a cooperative close.
	#[serde(default)]
	pub force: bool,
}

impl Validate for CloseChannelBody {}

/// `POST /v1/channels/{channel_id}/close` request: the path and the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseChannelRequest {
	/// Channel id (hex).
	pub channel_id: String,
	/// Force-close.
	pub force: bool,
}

/// `POST /v1/channels/{channel_id}/close` answer: the close was started.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CloseChannelResponse {
	/// The channel being closed.
	pub channel_id: String,
	/// Whether it is a force-close.
	pub force: bool,
}

/// `GET /v1/channels` query: a page, and which channels.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ListChannelsQuery {
	/// Items per page (see [`super::PageQuery`]).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub limit: Option<usize>,
	/// `next_cursor` of the previous page.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub cursor: Option<String>,
	/// `open` (the default: channels the node has, pending ones included) or `closed` (in
	/// `closed_channels`, newest first).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub state: Option<String>,
}

/// The channel states `GET /v1/channels?state=` lists.
pub const CHANNEL_LIST_STATES: &[&str] = &["open", "closed"];

impl ListChannelsQuery {
	/// Its page bounds.
	pub fn page(&self) -> super::PageQuery {
		super::PageQuery { limit: self.limit, cursor: self.cursor.clone() }
	}

	/// Whether it asks for closed channels.
	pub fn closed(&self) -> bool {
		self.state.as_deref() == Some("closed")
	}
}

impl Validate for ListChannelsQuery {
	fn validate(&self) -> Result<(), ApiError> {
		if let Some(state) = &self.state {
			if !CHANNEL_LIST_STATES.contains(&state.as_str()) {
				return Err(ApiError::invalid_request(format!(
					"state must be one of {}, not {state:?}",
					CHANNEL_LIST_STATES.join(", ")
				)));
			}
		}
		self.page().validate()
	}
}

/// A closed channel: how it closed and what it still holds for us on-chain.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClosedChannelInfo {
	/// Channel id (hex).
	pub channel_id: String,
	/// The counterparty's node id, when known.
	pub counterparty_node_id: Option<String>,
	/// Funding outpoint `txid:vout`, when it was funded.
	pub funding_txo: Option<String>,
	/// Channel size (0 when unknown).
	pub capacity_sat: u64,
	/// `cooperative`, `local_force`, `remote_force`, `breach`, `funding_failed` or `other`.
	pub closing_type: String,
	/// LDK's reason for the close, in words.
	pub closure_reason: String,
	/// The transaction that spent the funding output, once it confirmed.
	pub closing_txid: Option<String>,
	/// The height it confirmed at.
	pub closing_height: Option<u32>,
	/// Our balance in the channel when it closed.
	pub settled_balance_sat: u64,
	/// Ours still to come back on-chain: claimable by the channel's monitor or being swept;
	/// 0 once swept.
	pub claimable_sat: u64,
	/// When the close was recorded (UNIX seconds).
	pub closed_at: u64,
}

/// `GET /v1/channels/closed` answer: one page, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListClosedChannelsResponse {
	/// This page of closed channels.
	pub closed_channels: Vec<ClosedChannelInfo>,
	/// Closed channels in all pages.
	pub total: usize,
	/// Pass as `cursor` for the next page; `null` on the last page.
	pub next_cursor: Option<String>,
}
