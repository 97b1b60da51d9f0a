//! `GET /v1/channels`, `GET /v1/channels/{channel_id}`, `POST /v1/channels`,
//! `POST /v1/channels/{channel_id}/close`, `GET /v1/channels/closed`.

pub use fulgur_api::wire::channels::{
	ChannelInfo, CloseChannelBody, CloseChannelRequest, CloseChannelResponse, GetChannelRequest,
	ListChannelsQuery, ListChannelsResponse, ListClosedChannelsResponse, OpenChannelRequest,
	OpenedChannel,
};
use fulgur_node::Node;

use super::{paginate, PageQuery};
use crate::convert::{open_channel_request, parse, ToWire};
use crate::error::ApiError;

/// `GET /v1/channels?limit=&cursor=&state=`: one page of channels, or with `state=closed`
/// of closed channels.
pub(crate) async fn handle_list_channels(
	node: Node, req: ListChannelsQuery,
) -> Result<ListChannelsResponse, ApiError> {
	if req.closed() {
		let closed = handle_list_closed_channels(node, req.page()).await?;
		return Ok(ListChannelsResponse {
			channels: Vec::new(),
			closed_channels: closed.closed_channels,
			total: closed.total,
			next_cursor: closed.next_cursor,
		});
	}
	let mut channels = node.list_channels();
	channels.sort_by(|a, b| a.channel_id.cmp(&b.channel_id));
	let page = paginate(channels, &req.page())?;
	Ok(ListChannelsResponse {
		channels: page.items.into_wire(),
		closed_channels: Vec::new(),
		total: page.total,
		next_cursor: page.next_cursor,
	})
}

/// `GET /v1/channels/closed?limit=&cursor=`: one page of closed channels, newest first.
pub(crate) async fn handle_list_closed_channels(
	node: Node, req: PageQuery,
) -> Result<ListClosedChannelsResponse, ApiError> {
	let page = paginate(node.closed_channels().await?, &req)?;
	Ok(ListClosedChannelsResponse {
		closed_channels: page.items.into_wire(),
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
	node.close_channel(&id, force).await?;
	Ok(CloseChannelResponse { channel_id, force })
}
