//! `forwards` and `forwards summary`: the HTLCs the node forwarded and what they earned.

use clap::{Args, Subcommand};
use fulgur_api::wire::forwards::{
	ForwardGroupBy, ForwardStatus, ForwardsQuery, ForwardsSummaryQuery,
};
use fulgur_api::{ApiClient, ClientError};

use super::Output;

/// `forwards [summary]`: a page of forwards, newest first, or their summary.
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ForwardsArgs {
	/// A summary instead of the list
	#[command(subcommand)]
	pub summary: Option<ForwardsCommand>,
	/// Not before this UNIX time (seconds)
	#[arg(long)]
	pub since: Option<u64>,
	/// Not after this UNIX time (seconds)
	#[arg(long)]
	pub until: Option<u64>,
	/// Only forwards in or out on this channel
	#[arg(long)]
	pub channel_id: Option<String>,
	/// settled or failed
	#[arg(long, value_parser = parse_status)]
	pub status: Option<ForwardStatus>,
	/// Items per page (1 to 1000; 100 by default)
	#[arg(long)]
	pub limit: Option<usize>,
	/// Where to start: the `next_cursor` of the previous page
	#[arg(long)]
	pub cursor: Option<String>,
}

/// `forwards summary`
#[derive(Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum ForwardsCommand {
	/// Settled forwards summed by day or by channel: count, volume, fees
	Summary {
		/// day or channel
		#[arg(long, value_parser = parse_group_by, default_value = "day")]
		group_by: ForwardGroupBy,
		/// Not before this UNIX time (seconds)
		#[arg(long)]
		since: Option<u64>,
		/// Not after this UNIX time (seconds)
		#[arg(long)]
		until: Option<u64>,
	},
}

/// `settled` or `failed`.
pub fn parse_status(s: &str) -> Result<ForwardStatus, String> {
	match s {
		"settled" => Ok(ForwardStatus::Settled),
		"failed" => Ok(ForwardStatus::Failed),
		_ => Err(format!("invalid status {s:?}: expected settled or failed")),
	}
}

/// `day` or `channel`.
pub fn parse_group_by(s: &str) -> Result<ForwardGroupBy, String> {
	match s {
		"day" => Ok(ForwardGroupBy::Day),
		"channel" => Ok(ForwardGroupBy::Channel),
		_ => Err(format!("invalid grouping {s:?}: expected day or channel")),
	}
}

pub(super) async fn forwards(
	client: &ApiClient, args: ForwardsArgs,
) -> Result<Output, ClientError> {
	match args.summary {
		Some(ForwardsCommand::Summary { group_by, since, until }) => {
			let query = ForwardsSummaryQuery { since, until, group_by: Some(group_by) };
			Output::of(&client.forwards_summary(&query).await?)
		}
		None => {
			let ForwardsArgs { summary: _, since, until, channel_id, status, limit, cursor } = args;
			let query = ForwardsQuery { since, until, channel_id, status, limit, cursor };
			Output::of(&client.list_forwards(&query).await?)
		}
	}
}
