//! `GET /v1/channels`, `GET /v1/channels/{channel_id}`, `POST /v1/channels`,
//! `POST /v1/channels/{channel_id}/close`.

pub use fulgur_api::wire::channels::{
	ChannelInfo, CloseChannelBody, CloseChannelRequest, CloseChannelResponse, GetChannelRequest,
	ListChannelsResponse, OpenChannelRequest, OpenedChannel,
};
use fulgur_node::Node;

use super::{blocking, paginate, PageQuery};
use crate::convert::{open_channel_request, parse, ToWire};
use crate::error::ApiError;

/// `GET /v1/channels?limit=&cursor=`: one page of channels.
pub(crate) async fn handle_list_channels(
	node: Node, req: PageQuery,
) -> Result<ListChannelsResponse, ApiError> {
	let mut channels = node.list_channels();
	channels.sort_by(|a, b| a.channel_id.cmp(&b.channel_id));
	let page = paginate(channels, &req)?;
	Ok(ListChannelsResponse {
		channels: page.items.into_wire(),
		total: page.total,
		next_cursor: page.next_cursor,
	})
}

/// `GET /v1/channels/{channel_id}`: one channel.
pub(crate) async fn handle_get_channel(
	node: Node, req: GetChannelRequest,
) -> Result<ChannelInfo, ApiError> {
	let id = parse::channel_id(&req.channel_id)?;
	let channel = node.get_channel(&id);
	let channel =
		channel.ok_or_else(|| ApiError::not_found(format!("no channel {}", req.channel_id)))?;
	Ok(channel.into_wire())
}

/// `POST /v1/channels`: opens a channel; answers once the funding transaction is broadcast.
pub(crate) async fn handle_open_channel(
	node: Node, req: OpenChannelRequest,
) -> Result<OpenedChannel, ApiError> {
	Ok(node.open_channel(open_channel_request(req)?).await?.into_wire())
}

/// `POST /v1/channels/{channel_id}/close`: starts a cooperative close or a force-close.
pub(crate) async fn handle_close_channel(
	node: Node, req: CloseChannelRequest,
) -> Result<CloseChannelResponse, ApiError> {
	let CloseChannelRequest { channel_id, force } = req;
	let id = parse::channel_id(&channel_id)?;
	blocking(move || {
		node.close_channel(&id, force)?;
		Ok(CloseChannelResponse { channel_id, force })
	})
	.await
}
