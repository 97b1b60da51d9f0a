//! A node killed (SIGKILL) in the middle of a stream of payments restarts with every channel,
//! and no payment ends failed on the payer's side while the payee claimed it.
//!
//! The killed node runs in a child process: this test binary started again with
//! `FULGUR_CRASH_CHILD` set, running only [`bob_process`].

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use fulgur::regtest::launch::{RpcEndpoint, RunningNode};
use fulgur_api::wire::channels::OpenChannelRequest;
use fulgur_api::wire::invoices::InvoiceStatus;
use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_api::ApiClient;
use fulgur_tests::TestNet;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Mutex;

const CHILD_ENV: &str = "FULGUR_CRASH_CHILD";
const PAYMENTS_BEFORE_KILL: usize = 40;
/// How long alice may take to notice bob died and to reconnect. When bob is killed while
/// alice's queue of messages to him is over LDK's limit (a burst of 40-odd HTLCs), LDK has
/// stopped reading his connection, so its end is never read: only LDK's ping timeout drops it,
/// two of the background processor's peer timer ticks after the extra ping LDK sends with a
/// long queue. Those ticks are 30 s apart in debug builds (10 s in release), the first may come
/// 30 s after the kill, and the node's reconnect loop runs every 5 s: up to about 100 s.
const RECONNECT_AFTER_CRASH: Duration = Duration::from_secs(180);

/// The child: starts bob from the description in the environment, says READY, waits to die.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "entry point of the child process of node_killed_mid_payments_keeps_channels"]
async fn bob_process() {
	let Ok(spec) = std::env::var(CHILD_ENV) else { return };
	let parts: Vec<&str> = spec.split('|').collect();
	let [dir, p2p, api, addr, user, password] = parts[..] else { panic!("bad spec {spec}") };
	let rpc = RpcEndpoint { addr: addr.into(), user: user.into(), password: password.into() };
	let (p2p, api) = (p2p.parse().expect("port"), api.parse().expect("port"));
	let bob = RunningNode::start("bob", dir.as_ref(), &rpc, p2p, api).await.expect("bob starts");
	println!("READY {}", bob.node.node_id());
	tokio::time::sleep(Duration::from_secs(600)).await;
}

/// Where a child bob of `net` lives: his directory, free P2P and API ports, and the spec
/// [`start_bob`] takes.
pub(crate) struct BobPlace {
	pub(crate) dir: std::path::PathBuf,
	pub(crate) p2p: u16,
	pub(crate) api_port: u16,
	pub(crate) spec: String,
}

/// A place for bob beside `net`'s nodes, on `net`'s bitcoind.
pub(crate) fn bob_place(net: &TestNet) -> BobPlace {
	let dir = net.dir.path().join("bob");
	let (p2p, api_port) = (
		fulgur::bitcoind::free_port().expect("port"),
		fulgur::bitcoind::free_port().expect("port"),
	);
	let rpc = RpcEndpoint::of(&net.bitcoind);
	let spec =
		format!("{}|{p2p}|{api_port}|{}|{}|{}", dir.display(), rpc.addr, rpc.user, rpc.password);
	BobPlace { dir, p2p, api_port, spec }
}

/// bob in his child process.
pub(crate) struct Bob {
	pub(crate) child: tokio::process::Child,
	pub(crate) node_id: String,
	pub(crate) api: ApiClient,
}

/// Starts bob in a child process (see [`bob_process`]) from `spec`
/// (`dir|p2p|api|rpc addr|rpc user|rpc password`); answers once he is ready.
pub(crate) async fn start_bob(spec: &str, dir: &std::path::Path, api_port: u16) -> Bob {
	let exe = std::env::current_exe().expect("test binary");
	let mut child = tokio::process::Command::new(exe)
		.args(["crash::bob_process", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
		.env(CHILD_ENV, spec)
		.stdout(Stdio::piped())
		.stderr(Stdio::null())
		.kill_on_drop(true)
		.spawn()
		.expect("spawn bob");
	let stdout = child.stdout.take().expect("stdout");
	let mut lines = BufReader::new(stdout).lines();
	let node_id = tokio::time::timeout(Duration::from_secs(60), async {
		while let Ok(Some(line)) = lines.next_line().await {
			// libtest may have printed `test crash::bob_process ... ` on the same line.
			if let Some((_, id)) = line.split_once("READY ") {
				return id.trim().to_string();
			}
		}
		panic!("bob exited before READY");
	})
	.await
	.expect("bob ready in time");
	// Keep draining its output so it never blocks on a full pipe.
	tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
	let key = std::fs::read_to_string(dir.join("api_key")).expect("bob's api key");
	let api = ApiClient::new(&format!("http://127.0.0.1:{api_port}"), key.trim()).expect("client");
	Bob { child, node_id, api }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn node_killed_mid_payments_keeps_channels() {
	let net = TestNet::new(&["alice"]).await;
	let BobPlace { dir: bob_dir, p2p, api_port, spec } = bob_place(&net);
	let mut bob = start_bob(&spec, &bob_dir, api_port).await;
	let alice = net.api("alice");
	let opened = alice
		.open_channel(&OpenChannelRequest {
			node_id: bob.node_id.clone(),
			address: format!("127.0.0.1:{p2p}"),
			amount_sat: 1_000_000,
			push_msat: Some(0),
			announce: Some(false),
		})
		.await
		.expect("open");
	net.wait_for("funding in the mempool", || async {
		net.bitcoind.mempool_size().await.unwrap_or(0) > 0
	})
	.await;
	net.mine(6).await;
	let usable = |id: String| {
		let (alice, bob_api) = (alice.clone(), bob.api.clone());
		async move {
			let a = alice.get_channel(&id).await.map(|c| c.is_usable).unwrap_or(false);
			let b = bob_api.get_channel(&id).await.map(|c| c.is_usable).unwrap_or(false);
			a && b
		}
	};
	net.wait_for("channel usable", || usable(opened.channel_id.clone())).await;

	// Stream payments from alice to bob's invoices, eight at a time, until bob dies.
	let invoices: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
	let mut workers = Vec::new();
	for worker in 0..8 {
		let (alice, bob_api, invoices) = (alice.clone(), bob.api.clone(), Arc::clone(&invoices));
		workers.push(tokio::spawn(async move {
			for round in 0.. {
				let label = format!("w{worker} r{round}");
				let Ok(invoice) = bob_api.create_invoice(Some(10_000), &label, None).await else {
					return;
				};
				let req =
					PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
				match alice.pay(&req, false).await {
					Ok(payment) => {
						invoices.lock().await.push((invoice.payment_hash, payment.payment_id))
					}
					Err(_) => return,
				}
			}
		}));
	}
	net.wait_for("payments under way", || async {
		invoices.lock().await.len() >= PAYMENTS_BEFORE_KILL
	})
	.await;
	bob.child.kill().await.expect("SIGKILL bob");
	for worker in workers {
		let _ = worker.await;
	}

	// bob comes back from his data directory, with the channel.
	let bob = start_bob(&spec, &bob_dir, api_port).await;
	let bob_channels = bob.api.list_channels().await.expect("bob's channels");
	assert_eq!(bob_channels.len(), 1, "bob lost his channel: {bob_channels:?}");
	net.wait_for_within("channel usable after the crash", RECONNECT_AFTER_CRASH, || {
		let (alice, bob_api, id) = (alice.clone(), bob.api.clone(), opened.channel_id.clone());
		async move {
			let a = alice.get_channel(&id).await.map(|c| c.is_usable).unwrap_or(false);
			let b = bob_api.get_channel(&id).await.map(|c| c.is_usable).unwrap_or(false);
			a && b
		}
	})
	.await;
	let started = invoices.lock().await.clone();
	net.wait_for("every payment final", || {
		let (alice, started) = (alice.clone(), started.clone());
		async move {
			for (_, id) in &started {
				match alice.get_payment(id).await {
					Ok(p) if p.status != PaymentStatus::Pending => {}
					_ => return false,
				}
			}
			true
		}
	})
	.await;
	// bob records a payment when he handles his claim, which may come after alice has the
	// preimage: every payment alice has a preimage for must read paid at bob, eventually.
	net.wait_for("bob's record of every payment alice completed", || {
		let (alice, bob_api, started) = (alice.clone(), bob.api.clone(), started.clone());
		async move {
			for (hash, id) in &started {
				let succeeded =
					alice.get_payment(id).await.is_ok_and(|p| p.status == PaymentStatus::Succeeded);
				let paid =
					bob_api.get_invoice(hash).await.is_ok_and(|i| i.status == InvoiceStatus::Paid);
				if succeeded && !paid {
					return false;
				}
			}
			true
		}
	})
	.await;
	let mut succeeded = 0;
	for (hash, id) in &started {
		let payment = alice.get_payment(id).await.expect("payment");
		let invoice = bob.api.get_invoice(hash).await.expect("invoice");
		let claimed = invoice.status == InvoiceStatus::Paid;
		assert!(
			!(claimed && payment.status == PaymentStatus::Failed),
			"bob claimed {hash} but alice recorded a failure: {payment:?}"
		);
		if payment.status == PaymentStatus::Succeeded {
			succeeded += 1;
			assert!(claimed, "alice has a preimage for {hash} but bob's invoice is not paid");
		}
	}
	assert!(succeeded > 0, "no payment went through at all");
	// And the channel keeps paying.
	let invoice =
		bob.api.create_invoice(Some(50_000), "after the crash", None).await.expect("invoice");
	let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
	assert_eq!(alice.pay(&req, true).await.expect("pay").status, PaymentStatus::Succeeded);
	drop(bob);
	net.shutdown().await;
}
