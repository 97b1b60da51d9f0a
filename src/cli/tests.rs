//! The client commands as the binary parses them, and the amount parsers.

use super::*;
use clap::{CommandFactory, FromArgMatches, Parser};

#[derive(Parser, Debug)]
struct Commands {
	#[command(subcommand)]
	cmd: ClientCommand,
}

/// A client command line, parsed as the binary parses it.
struct TestCli {
	api: ClientArgs,
	cmd: ClientCommand,
}

fn command() -> clap::Command {
	with_client_options(Commands::command())
}

fn parse(args: &[&str]) -> Result<TestCli, clap::Error> {
	let matches =
		command().try_get_matches_from(std::iter::once("fulgur").chain(args.iter().copied()))?;
	let cmd = Commands::from_arg_matches(&matches)?.cmd;
	Ok(TestCli { api: ClientArgs::from_matches(&matches)?, cmd })
}

#[test]
fn parses_amounts() {
	assert_eq!(parse_amount_msat("5000sat"), Ok(5_000_000));
	assert_eq!(parse_amount_msat("5000 sats"), Ok(5_000_000));
	assert_eq!(parse_amount_msat("5000000msat"), Ok(5_000_000));
	assert_eq!(parse_amount_msat("0.001btc"), Ok(100_000_000));
	assert_eq!(parse_amount_msat("0.001BTC"), Ok(100_000_000));
	assert_eq!(parse_amount_msat("1btc"), Ok(100_000_000_000));
	assert_eq!(parse_amount_msat("5000"), Ok(5_000_000));
	assert_eq!(parse_amount_msat("1.5sat"), Ok(1_500));
	assert_eq!(parse_amount_msat("1.500000sat"), Ok(1_500));
	assert_eq!(parse_amount_msat("0.00000000001btc"), Ok(1));
	assert_eq!(parse_amount_msat("0"), Ok(0));
	assert_eq!(parse_amount_msat("0msat"), Ok(0));
	assert_eq!(parse_amount_msat("007sat"), Ok(7_000));
	assert_eq!(parse_amount_msat(&format!("{}msat", u64::MAX)), Ok(u64::MAX));
}

#[test]
fn rejects_bad_amounts() {
	for bad in [
		"",
		" ",
		"sat",
		"btc",
		"abc",
		"5000xyz",
		"-5sat",
		"-1",
		"+5sat",
		"1e3",
		"1.",
		".5",
		"1..5",
		"1.2.3",
		"5 000sat",
		"0x10",
		"5000sat sat",
		"1.5msat",
		"0.1msat",
		"0.000000000001btc",
		"1.0001sat",
		"١٢٣",
	] {
		assert!(parse_amount_msat(bad).is_err(), "{bad:?} should be refused");
	}
	// Overflow, in every unit.
	for big in [
		"18446744073709551616msat".to_owned(),
		format!("{}sat", u64::MAX / 1000 + 1),
		"184467441btc".to_owned(),
		"99999999999999999999999999".to_owned(),
	] {
		let e = parse_amount_msat(&big).unwrap_err();
		assert!(e.contains("too large"), "{big}: {e}");
	}
}

#[test]
fn parses_whole_sat_amounts() {
	assert_eq!(parse_amount_sat("100000"), Ok(100_000));
	assert_eq!(parse_amount_sat("0.001btc"), Ok(100_000));
	assert_eq!(parse_amount_sat("2000msat"), Ok(2));
	assert!(parse_amount_sat("1.5sat").is_err());
	assert!(parse_amount_sat("1500msat").is_err());
}

#[test]
fn splits_peer_targets() {
	let expected = Ok(("02ab".to_owned(), "127.0.0.1:9735".to_owned()));
	assert_eq!(split_peer_target("02ab@127.0.0.1:9735", None), expected);
	assert_eq!(split_peer_target("02ab", Some("127.0.0.1:9735")), expected);
	assert!(split_peer_target("02ab", None).is_err());
	assert!(split_peer_target("@h:1", None).is_err());
	assert!(split_peer_target("02ab@", None).is_err());
	assert!(split_peer_target("02ab@h:1", Some("h:2")).is_err());
}

#[test]
fn command_line_is_consistent() {
	command().debug_assert();
}

#[test]
fn parses_commands() {
	let cli = parse(&["channel", "open", "02ab@h:1", "0.001btc", "--push", "10sat", "--private"])
		.unwrap();
	assert_eq!(
		cli.cmd,
		ClientCommand::Channel(ChannelCommand::Open {
			target: "02ab@h:1".into(),
			amount: 100_000,
			push: Some(10_000),
			private: true,
		})
	);
	let cli =
		parse(&["pay", "lnbcrt1x", "--amount", "5000msat", "--max-fee", "1sat", "--wait"]).unwrap();
	assert_eq!(
		cli.cmd,
		ClientCommand::Pay {
			invoice: "lnbcrt1x".into(),
			amount: Some(5_000),
			max_fee: Some(1_000),
			wait: true
		}
	);
	let cli = parse(&["invoice", "create", "--description", "coffee"]).unwrap();
	assert_eq!(
		cli.cmd,
		ClientCommand::Invoice(InvoiceCommand::Create {
			amount: None,
			description: "coffee".into(),
			expiry: None,
			payment_hash: None
		})
	);
	let cli = parse(&["invoice", "create", "21sat", "-d", "x", "--expiry", "60"]).unwrap();
	assert!(matches!(
		cli.cmd,
		ClientCommand::Invoice(InvoiceCommand::Create { amount: Some(21_000), .. })
	));
	let cli = parse(&["peer", "connect", "02ab", "h:1"]).unwrap();
	assert!(matches!(cli.cmd, ClientCommand::Peer(PeerCommand::Connect { address: Some(_), .. })));
	let cli = parse(&["payments", "--limit", "5", "--api-url", "http://127.0.0.1:4000"]).unwrap();
	assert_eq!(cli.cmd, ClientCommand::Payments(PageArgs { limit: Some(5), cursor: None }));
	assert_eq!(cli.api.api_url, "http://127.0.0.1:4000");
	let cli = parse(&["keysend", "02ab", "1000"]).unwrap();
	assert_eq!(
		cli.cmd,
		ClientCommand::Keysend {
			node_id: "02ab".into(),
			amount: 1_000_000,
			payment_id: None,
			wait: false
		}
	);
	let id = "cd".repeat(32);
	let cli = parse(&["keysend", "02ab", "1000", "--payment-id", &id, "--wait"]).unwrap();
	assert_eq!(
		cli.cmd,
		ClientCommand::Keysend {
			node_id: "02ab".into(),
			amount: 1_000_000,
			payment_id: Some(id.clone()),
			wait: true
		}
	);
	// Bad amounts and on-chain fractions are refused by the parser.
	assert!(parse(&["send", "bcrt1q", "1.5sat"]).is_err());
	assert!(parse(&["keysend", "02ab", "-5"]).is_err());
	assert!(parse(&["invoice", "create", "5"]).is_err(), "description is required");
	let hash = "ab".repeat(32);
	let cli = parse(&["invoice", "create", "5", "-d", "x", "--payment-hash", &hash]).unwrap();
	assert!(matches!(
		cli.cmd,
		ClientCommand::Invoice(InvoiceCommand::Create { payment_hash: Some(ref h), .. })
			if *h == hash
	));
	let cli = parse(&["invoice", "settle", &hash, "cd"]).unwrap();
	assert_eq!(
		cli.cmd,
		ClientCommand::Invoice(InvoiceCommand::Settle {
			payment_hash: hash.clone(),
			preimage: "cd".into()
		})
	);
	assert!(parse(&["invoice", "settle", &hash]).is_err(), "preimage is required");
	let cli = parse(&["invoice", "cancel", &hash]).unwrap();
	assert_eq!(cli.cmd, ClientCommand::Invoice(InvoiceCommand::Cancel { payment_hash: hash }));
	let cli = parse(&["key", "create", "--scope", "invoice", "--label", "shop"]).unwrap();
	assert_eq!(
		cli.cmd,
		ClientCommand::Key(KeyCommand::Create {
			scope: fulgur_api::wire::keys::ApiScope::Invoice,
			label: Some("shop".into())
		})
	);
	assert!(parse(&["key", "create", "--scope", "root"]).is_err());
	let cli = parse(&["key", "revoke", "ab12"]).unwrap();
	assert_eq!(cli.cmd, ClientCommand::Key(KeyCommand::Revoke { id: "ab12".into() }));
	let cli = parse(&[
		"webhook",
		"create",
		"http://127.0.0.1:9/h",
		"--event",
		"invoice_paid",
		"--event",
		"invoice_expired",
	])
	.unwrap();
	assert!(matches!(
		cli.cmd,
		ClientCommand::Webhook(WebhookCommand::Create { ref events, .. }) if events.len() == 2
	));
	let cli =
		parse(&["webhook", "create", "https://127.0.0.1:9/h", "--ca-cert", "ca.pem"]).unwrap();
	assert!(matches!(
		cli.cmd,
		ClientCommand::Webhook(WebhookCommand::Create { ca_cert: Some(ref path), .. })
			if path.as_os_str() == "ca.pem"
	));
	let cli = parse(&["events", "--after", "7"]).unwrap();
	assert_eq!(cli.cmd, ClientCommand::Events { after: 7, limit: None });
}

#[test]
fn parses_the_utilities() {
	let cli = parse(&["closed-channels", "--limit", "3"]).unwrap();
	let page = PageArgs { limit: Some(3), cursor: None };
	assert_eq!(cli.cmd, ClientCommand::Utility(UtilityCommand::ClosedChannels(page)));
	let cli = parse(&["decode", "lno1x"]).unwrap();
	assert_eq!(cli.cmd, ClientCommand::Utility(UtilityCommand::Decode { invoice: "lno1x".into() }));
	let cli = parse(&["sign", "hello world"]).unwrap();
	let sign = UtilityCommand::Sign { message: "hello world".into() };
	assert_eq!(cli.cmd, ClientCommand::Utility(sign));
	let cli = parse(&["verify", "hello", "d75rz"]).unwrap();
	let verify = UtilityCommand::Verify { message: "hello".into(), signature: "d75rz".into() };
	assert_eq!(cli.cmd, ClientCommand::Utility(verify));
	assert!(parse(&["verify", "hello"]).is_err());
}

#[test]
fn parses_forwards_commands() {
	use fulgur_api::wire::forwards::{ForwardGroupBy, ForwardStatus};
	let channel = "ab".repeat(32);
	let cli = parse(&[
		"forwards",
		"--since",
		"10",
		"--until",
		"20",
		"--channel-id",
		&channel,
		"--status",
		"failed",
		"--limit",
		"5",
	])
	.unwrap();
	assert_eq!(
		cli.cmd,
		ClientCommand::Forwards(ForwardsArgs {
			summary: None,
			since: Some(10),
			until: Some(20),
			channel_id: Some(channel),
			status: Some(ForwardStatus::Failed),
			limit: Some(5),
			cursor: None,
		})
	);
	let cli = parse(&["forwards"]).unwrap();
	assert_eq!(cli.cmd, ClientCommand::Forwards(ForwardsArgs::default()));
	let cli = parse(&["forwards", "summary", "--group-by", "channel", "--since", "3"]).unwrap();
	assert_eq!(
		cli.cmd,
		ClientCommand::Forwards(ForwardsArgs {
			summary: Some(ForwardsCommand::Summary {
				group_by: ForwardGroupBy::Channel,
				since: Some(3),
				until: None
			}),
			..Default::default()
		})
	);
	let cli = parse(&["forwards", "summary"]).unwrap();
	assert!(matches!(
		cli.cmd,
		ClientCommand::Forwards(ForwardsArgs {
			summary: Some(ForwardsCommand::Summary { group_by: ForwardGroupBy::Day, .. }),
			..
		})
	));
	assert!(parse(&["forwards", "--status", "pending"]).is_err());
	assert!(parse(&["forwards", "summary", "--group-by", "week"]).is_err());
	assert!(parse(&["forwards", "--since", "yesterday"]).is_err());
}

#[test]
fn parses_channel_policy_for_one_channel_or_all() {
	let one =
		parse(&["channel", "policy", "abcd", "--fee-ppm", "100", "--cltv-expiry-delta", "80"]);
	assert_eq!(
		one.expect("one").cmd,
		ClientCommand::Channel(ChannelCommand::Policy(PolicyArgs {
			channel_id: Some("abcd".into()),
			all: false,
			fee_base_msat: None,
			fee_ppm: Some(100),
			cltv_expiry_delta: Some(80),
		}))
	);
	let all = parse(&["channel", "policy", "--all", "--fee-base-msat", "0"]).expect("all");
	assert_eq!(
		all.cmd,
		ClientCommand::Channel(ChannelCommand::Policy(PolicyArgs {
			channel_id: None,
			all: true,
			fee_base_msat: Some(0),
			fee_ppm: None,
			cltv_expiry_delta: None,
		}))
	);
	// Either a channel or --all, not both, not neither.
	assert!(parse(&["channel", "policy", "--fee-ppm", "1"]).is_err());
	assert!(parse(&["channel", "policy", "abcd", "--all", "--fee-ppm", "1"]).is_err());
}

#[test]
fn parses_rebalance() {
	let cli = parse(&["rebalance", "aa", "bb", "50000sat", "--max-fee", "20sat"]).expect("parse");
	assert_eq!(
		cli.cmd,
		ClientCommand::Rebalance(RebalanceArgs {
			out_channel_id: "aa".into(),
			in_channel_id: "bb".into(),
			amount: 50_000_000,
			max_fee: 20_000,
		})
	);
	assert!(parse(&["rebalance", "aa", "bb", "50000sat"]).is_err(), "--max-fee is required");
}
