//! The `fulgur` CLI's client commands against real nodes, parsed from argument lists exactly
//! as the binary parses them.

use clap::Parser;
use fulgur::cli::{run_client, ClientCommand};
use fulgur_api::wire::invoices::InvoiceStatus;
use fulgur_tests::TestNet;

#[derive(Parser)]
struct Args {
	#[command(subcommand)]
	command: ClientCommand,
}

async fn fulgur(net: &TestNet, node: &str, args: &[&str]) -> Result<(), String> {
	let argv = std::iter::once("fulgur").chain(args.iter().copied());
	let command = Args::try_parse_from(argv).map_err(|e| e.to_string())?.command;
	let node = net.node(node);
	run_client(&node.api_url(), &node.api_key, command).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cli_creates_and_pays_invoices() {
	let net = TestNet::new(&["alice", "bob"]).await;
	let bob_id = net.node("bob").node.node_id().to_string();
	let bob_addr = net.node("bob").p2p_addr();
	fulgur(&net, "alice", &["peer", "connect", &format!("{bob_id}@{bob_addr}")])
		.await
		.expect("connect");
	fulgur(
		&net,
		"alice",
		&["channel", "open", &format!("{bob_id}@{bob_addr}"), "500000sat", "--private"],
	)
	.await
	.expect("open");
	net.wait_for("funding in the mempool", || async {
		net.bitcoind.mempool_size().await.unwrap_or(0) > 0
	})
	.await;
	net.mine(6).await;
	net.wait_for("channel usable", || async {
		net.api("alice")
			.list_channels()
			.await
			.map(|c| c.iter().any(|c| c.is_usable))
			.unwrap_or(false)
	})
	.await;

	fulgur(&net, "bob", &["invoice", "create", "5000sat", "--description", "coffee"])
		.await
		.expect("invoice");
	let invoices = net.api("bob").list_invoices(&Default::default()).await.expect("list").invoices;
	assert_eq!(invoices.len(), 1);
	assert_eq!(invoices[0].amount_msat, Some(5_000_000));
	assert_eq!(invoices[0].description, "coffee");
	fulgur(&net, "alice", &["pay", &invoices[0].bolt11, "--wait"]).await.expect("pay");
	let paid = net.invoice_paid("bob", &invoices[0].payment_hash).await;
	assert_eq!(paid.status, InvoiceStatus::Paid);

	fulgur(&net, "alice", &["keysend", &bob_id, "1000sat", "--wait"]).await.expect("keysend");
	for command in [&["info"][..], &["balance"], &["channels"], &["payments"], &["peers"]] {
		fulgur(&net, "alice", command).await.expect("read command");
	}
	let err =
		fulgur(&net, "alice", &["pay", "lnbcrt1garbage", "--wait"]).await.expect_err("garbage");
	assert!(err.contains("invalid_invoice"), "{err}");
	let err = fulgur(&net, "alice", &["keysend", &bob_id, "-5sat"]).await.expect_err("negative");
	assert!(!err.is_empty());
	net.shutdown().await;
}
