//! `GET /v1/channels`, `GET /v1/channels/{channel_id}`, `POST /v1/channels`,
//! `POST /v1/channels/{channel_id}/close`.

use fulgur_node::{ChannelInfo, Node, OpenedChannel};
use serde::{Deserialize, Serialize};

use super::{blocking, paginate, PageQuery, Validate};
use crate::error::ApiError;

/// `GET /v1/channels` answer: one page, by channel id.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListChannelsResponse {
	/// This page of channels, pending ones included.
	pub channels: Vec<ChannelInfo>,
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

/// `POST /v1/channels` body: the node's own request type, which refuses unknown fields.
pub use fulgur_node::OpenChannelRequest;

impl Validate for OpenChannelRequest {
	fn validate(&self) -> Result<(), ApiError> {
		if self.amount_sat == 0 {
			return Err(ApiError::invalid_amount("amount_sat must be greater than zero"));
		}
		Ok(())
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

/// `GET /v1/channels?limit=&cursor=`: one page of channels.
pub(crate) async fn handle_list_channels(
	node: Node, req: PageQuery,
) -> Result<ListChannelsResponse, ApiError> {
	let mut channels = node.list_channels();
	channels.sort_by(|a, b| a.channel_id.cmp(&b.channel_id));
	let page = paginate(channels, &req)?;
	Ok(ListChannelsResponse {
		channels: page.items,
		total: page.total,
		next_cursor: page.next_cursor,
	})
}

/// `GET /v1/channels/{channel_id}`: one channel.
pub(crate) async fn handle_get_channel(
	node: Node, req: GetChannelRequest,
) -> Result<ChannelInfo, ApiError> {
	Ok(node.get_channel(&req.channel_id)?)
}

/// `POST /v1/channels`: opens a channel; answers once the funding transaction is broadcast.
pub(crate) async fn handle_open_channel(
	node: Node, req: OpenChannelRequest,
) -> Result<OpenedChannel, ApiError> {
	Ok(node.open_channel(req).await?)
}

/// `POST /v1/channels/{channel_id}/close`: starts a cooperative close or a force-close.
pub(crate) async fn handle_close_channel(
	node: Node, req: CloseChannelRequest,
) -> Result<CloseChannelResponse, ApiError> {
	let CloseChannelRequest { channel_id, force } = req;
	blocking(move || {
		node.close_channel(&channel_id, force)?;
		Ok(CloseChannelResponse { channel_id, force })
	})
	.await
}
