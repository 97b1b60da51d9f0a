//! Forwarding records and their queries, between the node's types and the wire's.

use fulgur_api::wire::forwards::{
	ForwardBucket, ForwardGroupBy, ForwardRecord, ForwardStatus, ForwardTotals, ForwardsQuery,
	ForwardsSummaryQuery, ForwardsSummaryResponse,
};
use fulgur_node as node;
use node::forwards::query as q;

use super::{field_by_field, ToWire};

field_by_field! {
	node::ForwardRecord => ForwardRecord {
		id, timestamp, in_channel_id, out_channel_id, in_peer_node_id, out_peer_node_id,
		in_amount_msat, out_amount_msat, fee_msat, status, failure_reason,
	}
	q::ForwardTotals => ForwardTotals { count, volume_msat, fees_msat }
}

impl ToWire for node::ForwardStatus {
	type Wire = ForwardStatus;
	fn into_wire(self) -> ForwardStatus {
		match self {
			node::ForwardStatus::Settled => ForwardStatus::Settled,
			node::ForwardStatus::Failed => ForwardStatus::Failed,
		}
	}
}

fn node_status(status: ForwardStatus) -> node::ForwardStatus {
	match status {
		ForwardStatus::Settled => node::ForwardStatus::Settled,
		ForwardStatus::Failed => node::ForwardStatus::Failed,
	}
}

/// The node's filter for a (validated) list query. Channel ids are compared as the node
/// writes them: lowercase hex.
pub(crate) fn list_filter(query: &ForwardsQuery) -> q::ForwardFilter {
	q::ForwardFilter {
		since: query.since,
		until: query.until,
		channel_id: query.channel_id.as_ref().map(|id| id.to_ascii_lowercase()),
		status: query.status.map(node_status),
	}
}

/// The node's filter and grouping for a (validated) summary query.
pub(crate) fn summary_query(
	query: &ForwardsSummaryQuery,
) -> (q::ForwardFilter, q::ForwardGrouping, ForwardGroupBy) {
	let filter = q::ForwardFilter { since: query.since, until: query.until, ..Default::default() };
	let group_by = query.group_by.unwrap_or_default();
	let grouping = match group_by {
		ForwardGroupBy::Day => q::ForwardGrouping::Day,
		ForwardGroupBy::Channel => q::ForwardGrouping::Channel,
	};
	(filter, grouping, group_by)
}

/// A summary on the wire: each bucket under `day` or `channel_id`, as grouped.
pub(crate) fn summary(
	summary: q::ForwardSummary, group_by: ForwardGroupBy,
) -> ForwardsSummaryResponse {
	let q::ForwardSummary { buckets, totals } = summary;
	let buckets = buckets
		.into_iter()
		.map(|q::ForwardBucket { key, totals }| {
			let q::ForwardTotals { count, volume_msat, fees_msat } = totals;
			let (day, channel_id) = match group_by {
				ForwardGroupBy::Day => (Some(key), None),
				ForwardGroupBy::Channel => (None, Some(key)),
			};
			ForwardBucket { day, channel_id, count, volume_msat, fees_msat }
		})
		.collect();
	ForwardsSummaryResponse { group_by, buckets, totals: totals.into_wire() }
}
