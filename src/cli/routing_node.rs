//! `channel policy ...` and `rebalance`: the commands of a routing node.

use clap::Args;
use fulgur_api::wire::policy::{PolicyUpdateBody, RebalanceBody};
use fulgur_api::{ApiClient, ClientError};

use super::{parse_amount_msat, Output};

/// `channel policy <CHANNEL_ID | --all> [--fee-base-msat N] [--fee-ppm N]
/// [--cltv-expiry-delta N]` (needs the admin key)
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub struct PolicyArgs {
	/// The channel whose forwarding policy changes
	#[arg(required_unless_present = "all", conflicts_with = "all")]
	pub channel_id: Option<String>,
	/// Change every channel's policy
	#[arg(long)]
	pub all: bool,
	/// Fixed fee per forwarded payment, in msat
	#[arg(long)]
	pub fee_base_msat: Option<u32>,
	/// Proportional fee, in millionths of the forwarded amount
	#[arg(long)]
	pub fee_ppm: Option<u32>,
	/// Blocks between an incoming HTLC's expiry and the one forwarded (at least 48)
	#[arg(long)]
	pub cltv_expiry_delta: Option<u16>,
}

/// `rebalance <OUT_CHANNEL_ID> <IN_CHANNEL_ID> <AMOUNT> --max-fee <AMOUNT>` (needs the admin
/// key)
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub struct RebalanceArgs {
	/// The channel whose local balance goes down
	pub out_channel_id: String,
	/// The channel whose local balance goes up
	pub in_channel_id: String,
	/// AMOUNT to move: 5000sat, 5000000msat, 0.001btc or a bare number of sat
	#[arg(value_parser = parse_amount_msat)]
	pub amount: u64,
	/// The most the route's fees may be (AMOUNT)
	#[arg(long, value_parser = parse_amount_msat)]
	pub max_fee: u64,
}

pub(super) async fn policy(client: &ApiClient, args: PolicyArgs) -> Result<Output, ClientError> {
	let update = PolicyUpdateBody {
		fee_base_msat: args.fee_base_msat,
		fee_ppm: args.fee_ppm,
		cltv_expiry_delta: args.cltv_expiry_delta,
		htlc_minimum_msat: None,
		htlc_maximum_msat: None,
	};
	match args.channel_id {
		Some(id) => Output::of(&client.update_channel_policy(&id, &update).await?),
		None => Output::of(&client.update_all_policies(&update).await?),
	}
}

pub(super) async fn rebalance(
	client: &ApiClient, args: RebalanceArgs,
) -> Result<Output, ClientError> {
	let req = RebalanceBody {
		out_channel_id: args.out_channel_id,
		in_channel_id: args.in_channel_id,
		amount_msat: args.amount,
		max_fee_msat: args.max_fee,
	};
	Output::payment(client.rebalance(&req).await?)
}
