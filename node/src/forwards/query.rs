//! Reading forwarding records: filtered pages newest first, summaries by day or channel,
//! and the counters the metrics show.
//!
//! Invariants: a page's `total` counts every record the filter matches, not only the page;
//! pages follow ids (which sort by time), so a cursor stays valid while records are added;
//! a summary's buckets add up to its totals (a forward is counted once, in the bucket of its
//! day, or of the channel it went out on, where our fee applied).

use std::collections::BTreeMap;

use crate::config::SECONDS_PER_DAY;
use crate::model::{ForwardRecord, ForwardStatus};

/// Which forwards a query is about. Times are UNIX seconds, both bounds included.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForwardFilter {
	/// Not before this time.
	pub since: Option<u64>,
	/// Not after this time.
	pub until: Option<u64>,
	/// Only forwards that came in or went out on this channel (hex id).
	pub channel_id: Option<String>,
	/// Only settled, or only failed.
	pub status: Option<ForwardStatus>,
}

impl ForwardFilter {
	/// Whether `forward` is one the filter asks for.
	pub fn matches(&self, forward: &ForwardRecord) -> bool {
		self.since.is_none_or(|since| forward.timestamp >= since)
			&& self.until.is_none_or(|until| forward.timestamp <= until)
			&& self.status.is_none_or(|status| forward.status == status)
			&& self.channel_id.as_ref().is_none_or(|channel| {
				forward.in_channel_id.as_ref() == Some(channel)
					|| forward.out_channel_id.as_ref() == Some(channel)
			})
	}
}

/// One page of forwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardPage {
	/// Newest first.
	pub forwards: Vec<ForwardRecord>,
	/// Forwards matching the filter, over all pages.
	pub total: u64,
	/// Where the next page starts (the last id of this one), when there is one.
	pub next_cursor: Option<String>,
}

/// How a summary groups forwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardGrouping {
	/// By UTC day.
	Day,
	/// By the channel the forward went out on.
	Channel,
}

/// Count, volume and fees of some settled forwards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForwardTotals {
	/// Forwards settled.
	pub count: u64,
	/// What went out, summed.
	pub volume_msat: u64,
	/// What we earned, summed.
	pub fees_msat: u64,
}

impl ForwardTotals {
	fn add(&mut self, forward: &ForwardRecord) {
		self.count += 1;
		self.volume_msat = self.volume_msat.saturating_add(forward.out_amount_msat.unwrap_or(0));
		self.fees_msat = self.fees_msat.saturating_add(forward.fee_msat.unwrap_or(0));
	}
}

/// One bucket of a summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardBucket {
	/// The day (`YYYY-MM-DD`, UTC) or the channel id the bucket is for.
	pub key: String,
	/// What the bucket holds.
	pub totals: ForwardTotals,
}

/// Settled forwards summed per bucket: what was earned (failed forwards move nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardSummary {
	/// Oldest day first, or by channel id.
	pub buckets: Vec<ForwardBucket>,
	/// All buckets together.
	pub totals: ForwardTotals,
}

/// Counters over every record, for the metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForwardStats {
	/// Settled forwards.
	pub settled: u64,
	/// Failed forwards: counted over the records by [`stats`]; the handle's counter also
	/// counts those removed beyond the cap since the node started.
	pub failed: u64,
	/// Fees earned by settled forwards.
	pub fees_msat: u64,
	/// Settled forwards per channel they came in on.
	pub by_in_channel: BTreeMap<String, u64>,
	/// Settled forwards per channel they went out on.
	pub by_out_channel: BTreeMap<String, u64>,
}

/// The page of `records` after `cursor` (an id; newest first), of at most `limit`.
pub fn page(
	records: Vec<ForwardRecord>, filter: &ForwardFilter, limit: usize, cursor: Option<&str>,
) -> ForwardPage {
	let mut matching: Vec<ForwardRecord> =
		records.into_iter().filter(|forward| filter.matches(forward)).collect();
	matching.sort_by(|a, b| b.id.cmp(&a.id));
	let total = matching.len() as u64;
	let start = match cursor {
		Some(cursor) => matching.partition_point(|forward| forward.id.as_str() >= cursor),
		None => 0,
	};
	let forwards: Vec<ForwardRecord> = matching.into_iter().skip(start).take(limit).collect();
	let next_cursor = match forwards.last() {
		Some(last) if (start + forwards.len()) < total as usize => Some(last.id.clone()),
		_ => None,
	};
	ForwardPage { forwards, total, next_cursor }
}

/// The settled forwards among `records` that `filter` matches, summed by `grouping`.
pub fn summary(
	records: Vec<ForwardRecord>, filter: &ForwardFilter, grouping: ForwardGrouping,
) -> ForwardSummary {
	let mut buckets: BTreeMap<String, ForwardTotals> = BTreeMap::new();
	let mut totals = ForwardTotals::default();
	for forward in records.iter().filter(|f| f.status == ForwardStatus::Settled) {
		if !filter.matches(forward) {
			continue;
		}
		let key = match grouping {
			ForwardGrouping::Day => utc_day(forward.timestamp),
			ForwardGrouping::Channel => forward.out_channel_id.clone().unwrap_or_default(),
		};
		buckets.entry(key).or_default().add(forward);
		totals.add(forward);
	}
	let buckets = buckets.into_iter().map(|(key, totals)| ForwardBucket { key, totals }).collect();
	ForwardSummary { buckets, totals }
}

/// Counters over `records`.
pub fn stats(records: &[ForwardRecord]) -> ForwardStats {
	let mut stats = ForwardStats::default();
	for forward in records {
		match forward.status {
			ForwardStatus::Failed => stats.failed += 1,
			ForwardStatus::Settled => {
				stats.settled += 1;
				stats.fees_msat = stats.fees_msat.saturating_add(forward.fee_msat.unwrap_or(0));
				if let Some(channel) = &forward.in_channel_id {
					*stats.by_in_channel.entry(channel.clone()).or_default() += 1;
				}
				if let Some(channel) = &forward.out_channel_id {
					*stats.by_out_channel.entry(channel.clone()).or_default() += 1;
				}
			}
		}
	}
	stats
}

/// The UTC day of a UNIX time, `YYYY-MM-DD` (the proleptic Gregorian calendar).
pub fn utc_day(unix_secs: u64) -> String {
	let days = (unix_secs / SECONDS_PER_DAY) as i64;
	// Days since 0000-03-01, counted in 400-year eras of 146097 days, so leap days fall at
	// the end of each year.
	let z = days + 719_468;
	let era = z.div_euclid(146_097);
	let day_of_era = z.rem_euclid(146_097);
	let year_of_era =
		(day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
	let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	let month_index = (5 * day_of_year + 2) / 153;
	let day = day_of_year - (153 * month_index + 2) / 5 + 1;
	let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
	let year = year_of_era + era * 400 + i64::from(month <= 2);
	format!("{year:04}-{month:02}-{day:02}")
}
