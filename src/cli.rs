//! The command-line client: `fulgur <command>` talks to a running node's HTTP API and prints
//! the answer as pretty JSON on stdout.
//!
//! Amounts are written with their unit: `5000sat`, `5000000msat`, `0.001btc`; a bare number
//! is in satoshis, for on-chain and Lightning amounts alike. Lightning amounts may be as
//! fine as a millisatoshi (`1.5sat`); on-chain amounts must be whole satoshis.

mod forwards;
mod merchant;
mod options;
mod routing_node;
mod utilities;

pub use forwards::{ForwardsArgs, ForwardsCommand};
pub use merchant::{parse_scope, KeyCommand, WebhookCommand};
pub use options::{with_client_options, ClientArgs};
pub use routing_node::{PolicyArgs, RebalanceArgs};
pub use utilities::UtilityCommand;

use std::io::Write;

use clap::{Args, Subcommand};
use fulgur_api::wire::channels::OpenChannelRequest;
use fulgur_api::wire::payments::{PayRequest, PaymentRecord, PaymentStatus};
use fulgur_api::wire::PageQuery;
use fulgur_api::{ApiClient, ClientError};
use serde::Serialize;
use serde_json::json;

/// Millisatoshis in a satoshi.
const MSAT_PER_SAT: u64 = 1_000;
/// Millisatoshis in a bitcoin.
const MSAT_PER_BTC: u64 = 100_000_000_000;

/// Page options of the list commands.
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct PageArgs {
	/// Items per page (1 to 1000; 100 by default)
	#[arg(long)]
	pub limit: Option<usize>,
	/// Where to start: the `next_cursor` of the previous page
	#[arg(long)]
	pub cursor: Option<String>,
}

/// Commands run against a node's API.
///
/// AMOUNT: `5000sat`, `5000000msat` or `0.001btc`; a bare number is in sat.
#[derive(Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum ClientCommand {
	/// Node id, network, chain tip, sync state, peer and channel counts
	Info,
	/// On-chain and Lightning balances
	Balance,
	/// A fresh on-chain receive address
	Address,
	/// Send bitcoin on-chain
	Send {
		/// Destination address
		address: String,
		/// AMOUNT in whole sat: 5000sat, 0.001btc, or a bare number of sat
		#[arg(value_parser = parse_amount_sat)]
		amount: u64,
	},
	/// List peers
	Peers,
	/// Connect to or disconnect from a peer
	#[command(subcommand)]
	Peer(PeerCommand),
	/// List channels
	Channels,
	/// Open, inspect or close a channel
	#[command(subcommand)]
	Channel(ChannelCommand),
	/// Create or look up an invoice
	#[command(subcommand)]
	Invoice(InvoiceCommand),
	/// List invoices, newest first
	Invoices(PageArgs),
	/// Pay a BOLT11 invoice or a BOLT12 offer
	Pay {
		/// The invoice (lnbc...) or offer (lno...)
		invoice: String,
		/// AMOUNT to pay, for amountless invoices and offers: 5000sat, 5000000msat, 0.001btc
		/// or a bare number of sat
		#[arg(long, value_parser = parse_amount_msat)]
		amount: Option<u64>,
		/// Upper bound on routing fees (AMOUNT)
		#[arg(long, value_parser = parse_amount_msat)]
		max_fee: Option<u64>,
		/// Wait until the payment succeeds or fails
		#[arg(long)]
		wait: bool,
	},
	/// Send a spontaneous payment to a node (no invoice)
	Keysend {
		/// The payee's node id
		node_id: String,
		/// AMOUNT: 5000sat, 5000000msat, 0.001btc or a bare number of sat
		#[arg(value_parser = parse_amount_msat)]
		amount: u64,
		/// Your id for this payment (64 hex): running the command again with it sends nothing
		/// and shows the payment it names
		#[arg(long)]
		payment_id: Option<String>,
		/// Wait until the payment succeeds or fails
		#[arg(long)]
		wait: bool,
	},
	/// One payment by id
	Payment {
		/// The payment id
		payment_id: String,
	},
	/// List payments, newest first
	Payments(PageArgs),
	/// Create a BOLT12 offer
	#[command(subcommand)]
	Offer(OfferCommand),
	/// Create, list or revoke scoped API keys (admin key needed)
	#[command(subcommand)]
	Key(KeyCommand),
	/// Register, list or remove webhooks (admin key needed)
	#[command(subcommand)]
	Webhook(WebhookCommand),
	/// Pay ourselves out through one channel and back through another (admin key needed)
	Rebalance(RebalanceArgs),
	/// Events after an index, oldest first
	Events {
		/// Only events with a greater index
		#[arg(long, default_value_t = 0)]
		after: u64,
		/// Events per page (1 to 1000; 100 by default)
		#[arg(long)]
		limit: Option<usize>,
	},
	/// Closed channels, decode, sign and verify
	#[command(flatten)]
	Utility(UtilityCommand),
	/// Forwarded HTLCs, newest first (filters: --since --until --channel-id --status), or
	/// `forwards summary --group-by day|channel`
	Forwards(ForwardsArgs),
}

/// `peer ...`
#[derive(Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum PeerCommand {
	/// Connect to a peer and remember it: `<node_id>@<host:port>` or `<node_id> <host:port>`
	Connect {
		/// `<node_id>@<host:port>`, or just `<node_id>` followed by the address
		target: String,
		/// `<host:port>`, when not given after `@`
		address: Option<String>,
	},
	/// Disconnect from a peer and forget it
	Disconnect {
		/// The peer's node id
		node_id: String,
	},
}

/// `channel ...`
#[derive(Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum ChannelCommand {
	/// Open a channel; returns once the funding transaction is broadcast
	Open {
		/// The counterparty: `<node_id>@<host:port>`
		target: String,
		/// Channel size (AMOUNT in whole sat: 100000sat, 0.001btc or a bare number of sat)
		#[arg(value_parser = parse_amount_sat)]
		amount: u64,
		/// Give this AMOUNT to the counterparty at opening
		#[arg(long, value_parser = parse_amount_msat)]
		push: Option<u64>,
		/// Do not announce the channel to the network
		#[arg(long)]
		private: bool,
	},
	/// One channel by id
	Get {
		/// The channel id
		channel_id: String,
	},
	/// Close a channel cooperatively, or unilaterally with --force
	Close {
		/// The channel id
		channel_id: String,
		/// Broadcast our commitment transaction instead of negotiating
		#[arg(long)]
		force: bool,
	},
	/// Change a channel's forwarding policy, or every channel's with --all (admin key needed)
	Policy(PolicyArgs),
}

/// `invoice ...`
#[derive(Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum InvoiceCommand {
	/// Create a BOLT11 invoice
	Create {
		/// AMOUNT to request (5000sat, 5000000msat, 0.001btc or a bare number of sat);
		/// leave out for an amountless invoice
		#[arg(value_parser = parse_amount_msat)]
		amount: Option<u64>,
		/// Description shown to the payer
		#[arg(long, short)]
		description: String,
		/// Seconds until the invoice expires
		#[arg(long)]
		expiry: Option<u32>,
		/// Make a hold invoice for this payment hash (hex): you keep the preimage, a payment
		/// is held until `invoice settle` or `invoice cancel`
		#[arg(long, value_name = "HEX")]
		payment_hash: Option<String>,
	},
	/// One invoice by payment hash
	Get {
		/// The payment hash
		payment_hash: String,
	},
	/// Settle an accepted hold invoice: its payment is claimed with the preimage
	Settle {
		/// The payment hash
		payment_hash: String,
		/// The preimage (hex) whose SHA-256 is the payment hash
		preimage: String,
	},
	/// Cancel an open invoice, or an accepted hold invoice (its payment is failed back)
	Cancel {
		/// The payment hash
		payment_hash: String,
	},
}

/// `offer ...`
#[derive(Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum OfferCommand {
	/// Create a BOLT12 offer
	Create {
		/// AMOUNT per payment (5000sat, 5000000msat, 0.001btc or a bare number of sat);
		/// leave out for any amount
		#[arg(value_parser = parse_amount_msat)]
		amount: Option<u64>,
		/// Description shown to the payer
		#[arg(long, short)]
		description: String,
	},
}

/// Runs `cmd` against the API at `api_url` and prints the answer as pretty JSON on stdout.
///
/// Errors are `code: message` lines for stderr. A payment that was made and failed prints
/// its record and is an error too (`payment_failed: <reason>`), so scripts see a non-zero
/// exit status.
pub async fn run_client(api_url: &str, api_key: &str, cmd: ClientCommand) -> Result<(), String> {
	let client = ApiClient::new(api_url, api_key).map_err(|e| e.to_string())?;
	let output = execute(&client, cmd).await.map_err(|e| e.to_string())?;
	print_json(&output.value)?;
	match output.failed_payment {
		Some(record) => Err(format!(
			"payment_failed: {}",
			record.failure_reason.as_deref().unwrap_or("the payment failed")
		)),
		None => Ok(()),
	}
}

/// What a command printed, and whether it was a payment that failed.
struct Output {
	value: serde_json::Value,
	failed_payment: Option<PaymentRecord>,
}

impl Output {
	fn of<T: Serialize>(value: &T) -> Result<Output, ClientError> {
		let value =
			serde_json::to_value(value).map_err(|e| ClientError::InvalidResponse(e.to_string()))?;
		Ok(Output { value, failed_payment: None })
	}

	fn payment(record: PaymentRecord) -> Result<Output, ClientError> {
		let mut output = Output::of(&record)?;
		if record.status == PaymentStatus::Failed {
			output.failed_payment = Some(record);
		}
		Ok(output)
	}
}

async fn execute(client: &ApiClient, cmd: ClientCommand) -> Result<Output, ClientError> {
	match cmd {
		ClientCommand::Info => Output::of(&client.info().await?),
		ClientCommand::Balance => Output::of(&client.balance().await?),
		ClientCommand::Address => Output::of(&json!({ "address": client.new_address().await? })),
		ClientCommand::Send { address, amount } => {
			Output::of(&json!({ "txid": client.send_onchain(&address, amount).await? }))
		}
		ClientCommand::Peers => Output::of(&json!({ "peers": client.list_peers().await? })),
		ClientCommand::Peer(PeerCommand::Connect { target, address }) => {
			let (node_id, address) = split_peer_target(&target, address.as_deref())
				.map_err(ClientError::InvalidInput)?;
			match client.connect_peer(&node_id, &address).await? {
				Some(peer) => Output::of(&peer),
				None => Output::of(&json!({})),
			}
		}
		ClientCommand::Peer(PeerCommand::Disconnect { node_id }) => {
			client.disconnect_peer(&node_id).await?;
			Output::of(&json!({ "node_id": node_id }))
		}
		ClientCommand::Channels => {
			Output::of(&json!({ "channels": client.list_channels().await? }))
		}
		ClientCommand::Channel(ChannelCommand::Open { target, amount, push, private }) => {
			let (node_id, address) =
				split_peer_target(&target, None).map_err(ClientError::InvalidInput)?;
			let req = OpenChannelRequest {
				node_id,
				address,
				amount_sat: amount,
				push_msat: push,
				announce: private.then_some(false),
			};
			Output::of(&client.open_channel(&req).await?)
		}
		ClientCommand::Channel(ChannelCommand::Get { channel_id }) => {
			Output::of(&client.get_channel(&channel_id).await?)
		}
		ClientCommand::Channel(ChannelCommand::Close { channel_id, force }) => {
			Output::of(&client.close_channel(&channel_id, force).await?)
		}
		ClientCommand::Invoice(InvoiceCommand::Create {
			amount,
			description,
			expiry,
			payment_hash: None,
		}) => Output::of(&client.create_invoice(amount, &description, expiry).await?),
		ClientCommand::Invoice(InvoiceCommand::Create {
			amount,
			description,
			expiry,
			payment_hash: Some(hash),
		}) => Output::of(&client.create_hold_invoice(&hash, amount, &description, expiry).await?),
		ClientCommand::Invoice(InvoiceCommand::Settle { payment_hash, preimage }) => {
			Output::of(&client.settle_invoice(&payment_hash, &preimage).await?)
		}
		ClientCommand::Invoice(InvoiceCommand::Cancel { payment_hash }) => {
			Output::of(&client.cancel_invoice(&payment_hash).await?)
		}
		ClientCommand::Invoice(InvoiceCommand::Get { payment_hash }) => {
			Output::of(&client.get_invoice(&payment_hash).await?)
		}
		ClientCommand::Invoices(page) => {
			Output::of(&client.list_invoices(&page_query(page)).await?)
		}
		ClientCommand::Pay { invoice, amount, max_fee, wait } => {
			let req = PayRequest { invoice, amount_msat: amount, max_fee_msat: max_fee };
			Output::payment(client.pay(&req, wait).await?)
		}
		ClientCommand::Keysend { node_id, amount, payment_id, wait } => Output::payment(
			client.keysend_with_id(&node_id, amount, payment_id.as_deref(), wait).await?,
		),
		ClientCommand::Payment { payment_id } => {
			Output::of(&client.get_payment(&payment_id).await?)
		}
		ClientCommand::Payments(page) => {
			Output::of(&client.list_payments(&page_query(page)).await?)
		}
		ClientCommand::Offer(OfferCommand::Create { amount, description }) => {
			Output::of(&json!({ "offer": client.create_offer(amount, &description).await? }))
		}
		ClientCommand::Key(cmd) => merchant::key(client, cmd).await,
		ClientCommand::Webhook(cmd) => merchant::webhook(client, cmd).await,
		ClientCommand::Channel(ChannelCommand::Policy(args)) => {
			routing_node::policy(client, args).await
		}
		ClientCommand::Rebalance(args) => routing_node::rebalance(client, args).await,
		ClientCommand::Events { after, limit } => Output::of(&client.events(after, limit).await?),
		ClientCommand::Utility(cmd) => utilities::run(client, cmd).await,
		ClientCommand::Forwards(args) => forwards::forwards(client, args).await,
	}
}

fn page_query(page: PageArgs) -> PageQuery {
	PageQuery { limit: page.limit, cursor: page.cursor }
}

fn print_json(value: &serde_json::Value) -> Result<(), String> {
	let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
	let mut stdout = std::io::stdout().lock();
	writeln!(stdout, "{text}").and_then(|()| stdout.flush()).map_err(|e| format!("stdout: {e}"))
}

/// `<node_id>@<host:port>`, or `<node_id>` and `<host:port>` as two arguments.
fn split_peer_target(target: &str, address: Option<&str>) -> Result<(String, String), String> {
	let usage = "expected <node_id>@<host:port> or <node_id> <host:port>";
	match (target.split_once('@'), address) {
		(Some((node_id, addr)), None) if !node_id.is_empty() && !addr.is_empty() => {
			Ok((node_id.to_owned(), addr.to_owned()))
		}
		(None, Some(addr)) if !target.is_empty() && !addr.is_empty() => {
			Ok((target.to_owned(), addr.to_owned()))
		}
		(Some(_), Some(_)) => Err(format!("two addresses given: {usage}")),
		_ => Err(usage.to_owned()),
	}
}

/// Parses an amount into millisatoshis: `5000sat` (or `sats`), `5000000msat`, `0.001btc`,
/// or a bare number of satoshis. Decimals are allowed down to the millisatoshi
/// (`1.5sat`, `0.00000000001btc`); signs, exponents, finer fractions and values that do not
/// fit in a `u64` of msat are refused. Units are case-insensitive and may follow a space.
pub fn parse_amount_msat(s: &str) -> Result<u64, String> {
	let lower = s.trim().to_ascii_lowercase();
	// (number, msat per unit, decimal places down to the msat)
	let (number, msat_per_unit, decimals) =
		if let Some(n) = lower.strip_suffix("msats").or_else(|| lower.strip_suffix("msat")) {
			(n, 1, 0)
		} else if let Some(n) = lower.strip_suffix("sats").or_else(|| lower.strip_suffix("sat")) {
			(n, MSAT_PER_SAT, 3)
		} else if let Some(n) = lower.strip_suffix("btc") {
			(n, MSAT_PER_BTC, 11)
		} else {
			(lower.as_str(), MSAT_PER_SAT, 3)
		};
	let invalid =
		|| format!("invalid amount {s:?}: expected e.g. 5000sat, 5000000msat or 0.001btc");
	let number = number.trim();
	let (whole, fraction) = match number.split_once('.') {
		Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
		Some(_) => return Err(invalid()),
		None => (number, ""),
	};
	let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
	if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
		return Err(invalid());
	}
	let fraction = fraction.trim_end_matches('0');
	if fraction.len() > decimals {
		return Err(format!("invalid amount {s:?}: finer than a millisatoshi"));
	}
	let too_large = || format!("invalid amount {s:?}: too large");
	// Only digits: the only possible parse error is overflow.
	let whole: u64 = whole.parse().map_err(|_| too_large())?;
	let fraction_msat = if fraction.is_empty() {
		0
	} else {
		let digits: u64 = fraction.parse().map_err(|_| invalid())?;
		// fraction.len() <= decimals <= 11: no overflow.
		digits * 10u64.pow((decimals - fraction.len()) as u32)
	};
	whole
		.checked_mul(msat_per_unit)
		.and_then(|m| m.checked_add(fraction_msat))
		.ok_or_else(too_large)
}

/// Parses an amount that must be whole satoshis (on-chain amounts, channel sizes) into sat;
/// same syntax as [`parse_amount_msat`].
pub fn parse_amount_sat(s: &str) -> Result<u64, String> {
	let msat = parse_amount_msat(s)?;
	if msat % MSAT_PER_SAT != 0 {
		return Err(format!("invalid amount {s:?}: must be whole satoshis"));
	}
	Ok(msat / MSAT_PER_SAT)
}

#[cfg(test)]
mod tests;
