//! `GET /v1/channels`, `GET /v1/channels/{channel_id}`, `POST /v1/channels`,
//! `POST /v1/channels/{channel_id}/close`.

use fulgur_node::{ChannelInfo, Node, OpenedChannel};
use serde::{Deserialize, Serialize};

use super::{blocking, Validate};
use crate::error::ApiError;

/// `GET /v1/channels` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListChannelsResponse {
	/// All channels, pending ones included.
	pub channels: Vec<ChannelInfo>,
}

/// `GET /v1/channels/{channel_id}` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetChannelRequest {
	/// Channel id (hex).
	pub channel_id: String,
}

/// `POST /v1/channels` body: [`fulgur_node::OpenChannelRequest`], field for field, with
/// unknown fields refused.
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
		if self.amount_sat == 0 {
			return Err(ApiError::invalid_amount("amount_sat must be greater than zero"));
		}
		Ok(())
	}
}

impl From<OpenChannelRequest> for fulgur_node::OpenChannelRequest {
	fn from(r: OpenChannelRequest) -> Self {
		fulgur_node::OpenChannelRequest {
			node_id: r.node_id,
			address: r.address,
			amount_sat: r.amount_sat,
			push_msat: r.push_msat,
			announce: r.announce,
		}
	}
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

/// `GET /v1/channels`: all channels.
pub(crate) async fn handle_list_channels(
	node: Node,
	_req: (),
) -> Result<ListChannelsResponse, ApiError> {
	Ok(ListChannelsResponse { channels: node.list_channels() })
}

/// `GET /v1/channels/{channel_id}`: one channel.
pub(crate) async fn handle_get_channel(
	node: Node,
	req: GetChannelRequest,
) -> Result<ChannelInfo, ApiError> {
	Ok(node.get_channel(&req.channel_id)?)
}

/// `POST /v1/channels`: opens a channel; answers once the funding transaction is broadcast.
pub(crate) async fn handle_open_channel(
	node: Node,
	req: OpenChannelRequest,
) -> Result<OpenedChannel, ApiError> {
	Ok(node.open_channel(req.into()).await?)
}

/// `POST /v1/channels/{channel_id}/close`: starts a cooperative close or a force-close.
pub(crate) async fn handle_close_channel(
	node: Node,
	req: CloseChannelRequest,
) -> Result<CloseChannelResponse, ApiError> {
	let CloseChannelRequest { channel_id, force } = req;
	blocking(move || {
		node.close_channel(&channel_id, force)?;
		Ok(CloseChannelResponse { channel_id, force })
	})
	.await
}
