//! `GET /v1/forwards`, `GET /v1/forwards/summary`: the HTLCs the node forwarded, settled or
//! failed, and what they earned.
//!
//! Times are UNIX seconds; `since` and `until` both include their bound. A summary sums the
//! settled forwards only (a failed one moved nothing), by UTC day or by the channel a forward
//! went out on (where our fee applied); its buckets add up to its `totals`.

use serde::{Deserialize, Serialize};

use super::{Validate, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
use crate::error::ApiError;

/// What became of a forwarded HTLC.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ForwardStatus {
	/// Claimed: the fee is earned.
	Settled,
	/// Failed back.
	Failed,
}

/// One forwarded HTLC.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ForwardRecord {
	/// Stable id (`<timestamp>_<sequence>_<digest>`, maybe `_<n>` after it), also the paging
	/// cursor; ids sort in the order forwards were recorded.
	pub id: String,
	/// When it settled or failed.
	pub timestamp: u64,
	/// The channel it came in on (hex).
	pub in_channel_id: Option<String>,
	/// The channel it went out on (hex).
	pub out_channel_id: Option<String>,
	/// The peer that sent it.
	pub in_peer_node_id: Option<String>,
	/// The peer it went to.
	pub out_peer_node_id: Option<String>,
	/// What came in; `null` for a failed forward (not reported).
	pub in_amount_msat: Option<u64>,
	/// What went out; `null` for a failed forward.
	pub out_amount_msat: Option<u64>,
	/// What we earned; `null` for a failed forward, or while an on-chain claim's cost is
	/// unknown.
	pub fee_msat: Option<u64>,
	/// `settled` or `failed`.
	pub status: ForwardStatus,
	/// Why it failed.
	pub failure_reason: Option<String>,
}

/// `GET /v1/forwards` query: `?since=&until=&channel_id=&status=&limit=&cursor=`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ForwardsQuery {
	/// Not before (UNIX seconds).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub since: Option<u64>,
	/// Not after (UNIX seconds).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub until: Option<u64>,
	/// Only forwards in or out on this channel (64 hex digits).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub channel_id: Option<String>,
	/// `settled` or `failed`.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub status: Option<ForwardStatus>,
	/// Items per page, 1 to 1000 (100 when absent).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub limit: Option<usize>,
	/// `next_cursor` of the previous page.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub cursor: Option<String>,
}

impl ForwardsQuery {
	/// The page size asked for.
	pub fn page_limit(&self) -> usize {
		self.limit.unwrap_or(DEFAULT_PAGE_LIMIT)
	}
}

impl Validate for ForwardsQuery {
	fn validate(&self) -> Result<(), ApiError> {
		check_range(self.since, self.until)?;
		if let Some(channel_id) = &self.channel_id {
			check_channel_id(channel_id)?;
		}
		let limit = self.page_limit();
		if limit == 0 || limit > MAX_PAGE_LIMIT {
			return Err(ApiError::invalid_request(format!(
				"limit must be between 1 and {MAX_PAGE_LIMIT}"
			)));
		}
		if let Some(cursor) = &self.cursor {
			if !is_forward_id(cursor) {
				return Err(ApiError::invalid_request(format!("invalid cursor {cursor:?}")));
			}
		}
		Ok(())
	}
}

/// How a summary groups forwards.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ForwardGroupBy {
	/// By UTC day (the default).
	#[default]
	Day,
	/// By the channel a forward went out on.
	Channel,
}

/// `GET /v1/forwards/summary` query: `?since=&until=&group_by=day|channel`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ForwardsSummaryQuery {
	/// Not before (UNIX seconds).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub since: Option<u64>,
	/// Not after (UNIX seconds).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub until: Option<u64>,
	/// `day` (default) or `channel`.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub group_by: Option<ForwardGroupBy>,
}

impl Validate for ForwardsSummaryQuery {
	fn validate(&self) -> Result<(), ApiError> {
		check_range(self.since, self.until)
	}
}

/// `GET /v1/forwards` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListForwardsResponse {
	/// Newest first.
	pub forwards: Vec<ForwardRecord>,
	/// Forwards matching the filter, over all pages.
	pub total: u64,
	/// Cursor of the next page; `null` on the last.
	pub next_cursor: Option<String>,
}

/// Count, volume and fees of settled forwards.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ForwardTotals {
	/// Forwards settled.
	pub count: u64,
	/// What went out, summed.
	pub volume_msat: u64,
	/// Fees earned, summed.
	pub fees_msat: u64,
}

/// One bucket of a summary: a day's or a channel's settled forwards.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ForwardBucket {
	/// The day, `YYYY-MM-DD` (UTC), when grouped by day.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub day: Option<String>,
	/// The outgoing channel (hex), when grouped by channel.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub channel_id: Option<String>,
	/// Forwards settled.
	pub count: u64,
	/// What went out, summed.
	pub volume_msat: u64,
	/// Fees earned, summed.
	pub fees_msat: u64,
}

/// `GET /v1/forwards/summary` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ForwardsSummaryResponse {
	/// How the buckets are grouped.
	pub group_by: ForwardGroupBy,
	/// Oldest day first, or by channel id.
	pub buckets: Vec<ForwardBucket>,
	/// Every bucket together.
	pub totals: ForwardTotals,
}

fn check_range(since: Option<u64>, until: Option<u64>) -> Result<(), ApiError> {
	match (since, until) {
		(Some(since), Some(until)) if since > until => {
			Err(ApiError::invalid_request(format!("since ({since}) is after until ({until})")))
		}
		_ => Ok(()),
	}
}

fn check_channel_id(channel_id: &str) -> Result<(), ApiError> {
	if channel_id.len() == 64 && channel_id.bytes().all(|b| b.is_ascii_hexdigit()) {
		Ok(())
	} else {
		Err(ApiError::invalid_request(format!(
			"channel_id must be 64 hex digits, got {channel_id:?}"
		)))
	}
}

/// Whether `id` has the form of a forward's id: 12 digits, `_`, 6 digits, `_`, 16 hex digits,
/// and maybe `_` and a number (forwards alike).
fn is_forward_id(id: &str) -> bool {
	let mut parts = id.split('_');
	let digits = |t: &str| !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit());
	let time = parts.next().is_some_and(|t| t.len() == 12 && digits(t));
	let sequence = parts.next().is_some_and(|t| t.len() == 6 && digits(t));
	let digest =
		parts.next().is_some_and(|d| d.len() == 16 && d.bytes().all(|b| b.is_ascii_hexdigit()));
	let rest = parts.next().is_none_or(digits);
	time && sequence && digest && rest && parts.next().is_none()
}

#[cfg(test)]
mod tests {
	use super::*;

	fn query(text: &str) -> Result<ForwardsQuery, String> {
		let parsed: ForwardsQuery = serde_urlencoded::from_str(text).map_err(|e| e.to_string())?;
		parsed.validate().map_err(|e| e.message().to_string())?;
		Ok(parsed)
	}

	#[test]
	fn filters_parse_and_bad_ones_are_refused_clearly() {
		let channel = "ab".repeat(32);
		let ok = query(&format!(
			"since=1&until=2&channel_id={channel}&status=failed&limit=5&cursor=001700000000_000000_00112233aabbccdd"
		))
		.expect("valid");
		assert_eq!(ok.status, Some(ForwardStatus::Failed));
		assert_eq!(ok.page_limit(), 5);
		assert!(query("since=5&until=4").expect_err("range").contains("after until"));
		assert!(query("channel_id=zz").expect_err("channel").contains("64 hex"));
		assert!(query("limit=0").expect_err("limit").contains("between 1"));
		assert!(query("cursor=x").expect_err("cursor").contains("invalid cursor"));
		assert!(query("cursor=001700000000_00112233aabbccdd").is_err(), "no sequence");
		assert!(query("cursor=001700000000_000000_00112233aabbccdd_2").is_ok());
		assert!(query("cursor=001700000000_000000_00112233aabbccdd_").is_err());
		assert!(query("cursor=001700000000_000000_00112233aabbccdd_2_3").is_err());
		assert!(query("status=pending").is_err());
		assert!(query("since=yesterday").is_err());
		assert!(query("page=2").is_err());
		let summary: ForwardsSummaryQuery =
			serde_urlencoded::from_str("group_by=channel").expect("summary");
		assert_eq!(summary.group_by, Some(ForwardGroupBy::Channel));
		assert!(serde_urlencoded::from_str::<ForwardsSummaryQuery>("group_by=week").is_err());
	}
}
