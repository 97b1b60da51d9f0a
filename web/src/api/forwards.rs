//! `GET /v1/forwards`, `GET /v1/forwards/summary`: forwarding records and what they earned.

use fulgur_api::wire::forwards::{
	ForwardsQuery, ForwardsSummaryQuery, ForwardsSummaryResponse, ListForwardsResponse,
};
use fulgur_node::Node;

use crate::convert::{forwards, ToWire};
use crate::error::ApiError;

/// `GET /v1/forwards?since=&until=&channel_id=&status=&limit=&cursor=`: one page, newest
/// first, with the count of every forward the filter matches.
pub(crate) async fn handle_list_forwards(
	node: Node, req: ForwardsQuery,
) -> Result<ListForwardsResponse, ApiError> {
	let page =
		node.list_forwards(&forwards::list_filter(&req), req.page_limit(), req.cursor.as_deref());
	Ok(ListForwardsResponse {
		forwards: page.forwards.into_wire(),
		total: page.total,
		next_cursor: page.next_cursor,
	})
}

/// `GET /v1/forwards/summary?since=&until=&group_by=day|channel`: settled forwards summed.
pub(crate) async fn handle_forwards_summary(
	node: Node, req: ForwardsSummaryQuery,
) -> Result<ForwardsSummaryResponse, ApiError> {
	let (filter, grouping, group_by) = forwards::summary_query(&req);
	Ok(forwards::summary(node.forward_summary(&filter, grouping), group_by))
}
