//! A leader and a standby on one PostgreSQL database, each the real daemon (`fulgur node
//! --store postgres [--standby]`) in a child process: a standby takes over a leader that was
//! SIGKILLed mid-payments with every channel and no payment both failed and claimed; a leader
//! paused (SIGSTOP) while the standby took over writes nothing once it runs again (SIGCONT)
//! and exits saying why.
//!
//! The children are this test binary started again with `FULGUR_FAILOVER_CHILD` set to the
//! daemon's command line, running only [`daemon_process`].

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use fulgur::regtest::launch::RpcEndpoint;
use fulgur_api::wire::channels::OpenChannelRequest;
use fulgur_api::wire::invoices::InvoiceStatus;
use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_api::ApiClient;
use fulgur_base::throwaway_postgres::ThrowawayPostgres;
use fulgur_tests::TestNet;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, Mutex};

const CHILD_ENV: &str = "FULGUR_FAILOVER_CHILD";
/// Separates the daemon's arguments in [`CHILD_ENV`].
const ARG_SEPARATOR: char = '\u{1f}';
const PAYMENTS_BEFORE_KILL: usize = 30;
/// A standby takes over within the lease (10 s) plus its own start; generous for CI.
const TAKEOVER_WITHIN: Duration = Duration::from_secs(180);
/// A fenced leader stops within its shutdown stages' time limits.
const EXIT_WITHIN: Duration = Duration::from_secs(180);

#[derive(Parser)]
struct Daemon {
	#[command(flatten)]
	node: fulgur::daemon::NodeArgs,
}

/// The child: runs the daemon with the command line in the environment; prints how it ended
/// and exits with the daemon's status (non-zero on an error, as `fulgur node` does).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "entry point of the child processes of the failover tests"]
async fn daemon_process() {
	let Ok(line) = std::env::var(CHILD_ENV) else { return };
	let argv = std::iter::once("fulgur").chain(line.split(ARG_SEPARATOR));
	let daemon = Daemon::try_parse_from(argv).expect("daemon arguments");
	match fulgur::daemon::run(daemon.node).await {
		Ok(()) => {
			println!("EXIT ok");
			std::process::exit(0);
		}
		Err(e) => {
			println!("EXIT error: {e}");
			std::process::exit(2);
		}
	}
}

/// A daemon in its child process, and what it printed.
struct Child {
	process: tokio::process::Child,
	lines: mpsc::UnboundedReceiver<String>,
	api: ApiClient,
	api_url: String,
	p2p: u16,
}

impl Child {
	/// Starts `fulgur node` in `dir` on the database at `url`, its seed sealed there under the
	/// key in `key_file`; does not wait for it.
	fn start(dir: &Path, rpc: &RpcEndpoint, url: &str, key_file: &Path, standby: bool) -> Child {
		std::fs::create_dir_all(dir).expect("node dir");
		let p2p = fulgur::bitcoind::free_port().expect("port");
		let api_port = fulgur::bitcoind::free_port().expect("port");
		let mut args = vec![
			"--data-dir".to_owned(),
			dir.display().to_string(),
			"--listen".to_owned(),
			format!("127.0.0.1:{p2p}"),
			"--api-bind".to_owned(),
			format!("127.0.0.1:{api_port}"),
			"--alias".to_owned(),
			"bob".to_owned(),
			"--bitcoind-rpc".to_owned(),
			rpc.addr.clone(),
			"--bitcoind-rpc-user".to_owned(),
			rpc.user.clone(),
			"--bitcoind-rpc-password".to_owned(),
			rpc.password.clone(),
			"--store".to_owned(),
			"postgres".to_owned(),
			"--postgres-url".to_owned(),
			url.to_owned(),
			"--secrets-key-file".to_owned(),
			key_file.display().to_string(),
		];
		if standby {
			args.push("--standby".to_owned());
		}
		let exe = std::env::current_exe().expect("test binary");
		let mut process = tokio::process::Command::new(exe)
			.args(["failover::daemon_process", "--exact", "--ignored", "--nocapture"])
			.arg("--test-threads=1")
			.env(CHILD_ENV, args.join(&ARG_SEPARATOR.to_string()))
			.stdout(Stdio::piped())
			.stderr(Stdio::piped())
			.kill_on_drop(true)
			.spawn()
			.expect("spawn the daemon");
		let (tx, lines) = mpsc::unbounded_channel();
		// Both outputs read all along, so the child never blocks on a full pipe.
		let stdout = process.stdout.take().expect("stdout");
		let stderr = process.stderr.take().expect("stderr");
		let out_tx = tx.clone();
		tokio::spawn(async move {
			let mut lines = BufReader::new(stdout).lines();
			while let Ok(Some(line)) = lines.next_line().await {
				let _ = out_tx.send(line);
			}
		});
		tokio::spawn(async move {
			let mut lines = BufReader::new(stderr).lines();
			while let Ok(Some(line)) = lines.next_line().await {
				let _ = tx.send(line);
			}
		});
		let api_url = format!("http://127.0.0.1:{api_port}");
		let api = ApiClient::new(&api_url, "not-yet").expect("api");
		Child { process, lines, api, api_url, p2p }
	}

	/// Waits for a line containing `marker`; answers the rest of that line after it.
	async fn wait_line(&mut self, marker: &str, within: Duration) -> String {
		let found = tokio::time::timeout(within, async {
			while let Some(line) = self.lines.recv().await {
				if let Some((_, rest)) = line.split_once(marker) {
					return Some(rest.trim().to_owned());
				}
			}
			None
		})
		.await;
		match found {
			Ok(Some(rest)) => rest,
			Ok(None) => panic!("the daemon exited before printing {marker:?}"),
			Err(_) => panic!("the daemon did not print {marker:?} within {within:?}"),
		}
	}

	/// Waits until the daemon runs as the node; answers its node id and sets its API key.
	async fn running(&mut self, dir: &Path, within: Duration) -> String {
		let started = self.wait_line("fulgur node ", within).await;
		let node_id = started.split_whitespace().next().expect("node id").to_owned();
		let key = std::fs::read_to_string(dir.join("api_key")).expect("api key");
		self.api = ApiClient::new(&self.api_url, key.trim()).expect("api client");
		node_id
	}

	/// The start of the lease holder id of this process (`host/pid N/`).
	fn holder_prefix(&self) -> String {
		format!("/pid {}/", self.pid())
	}

	fn pid(&self) -> String {
		self.process.id().expect("running child").to_string()
	}

	fn signal(&self, signal: &str) {
		let status =
			std::process::Command::new("kill").args([signal, &self.pid()]).status().expect("kill");
		assert!(status.success(), "kill {signal} failed");
	}
}

/// A fresh PostgreSQL server, alice (the payer, on sled) in `net`, and the leader bob with a
/// channel from alice, usable; the standby waiting in an empty directory with the leader's
/// secrets key (the seed and the credentials are in the database).
struct Setup {
	net: TestNet,
	server: ThrowawayPostgres,
	leader: Child,
	standby: Child,
	node_id: String,
	channel_id: String,
	standby_dir: std::path::PathBuf,
}

async fn set_up() -> Setup {
	let server =
		tokio::task::spawn_blocking(ThrowawayPostgres::provide).await.unwrap().expect("PostgreSQL");
	let net = TestNet::new(&["alice"]).await;
	let rpc = RpcEndpoint::of(&net.bitcoind);
	let (leader_dir, standby_dir) =
		(net.dir.path().join("bob"), net.dir.path().join("bob-standby"));
	let key_file = net.dir.path().join("secrets.key");
	std::fs::write(&key_file, format!("{}\n", "5e".repeat(32))).expect("secrets key");
	let mut leader = Child::start(&leader_dir, &rpc, server.url(), &key_file, false);
	let node_id = leader.running(&leader_dir, Duration::from_secs(120)).await;
	assert!(!leader_dir.join("seed").exists(), "the seed is in the database, not a file");
	let mut standby = Child::start(&standby_dir, &rpc, server.url(), &key_file, true);
	// It says who holds the lease and until when, and waits.
	let waiting =
		standby.wait_line("standby: the leader lease on ", Duration::from_secs(120)).await;
	assert!(waiting.contains("is held by "), "{waiting}");
	assert!(waiting.contains(&leader.holder_prefix()), "not the leader's id: {waiting}");
	assert!(waiting.contains(" UTC "), "{waiting}");
	let alice = net.api("alice");
	let opened = alice
		.open_channel(&OpenChannelRequest {
			node_id: node_id.clone(),
			address: format!("127.0.0.1:{}", leader.p2p),
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
	let channel_id = opened.channel_id;
	net.wait_for("channel usable", || usable(&alice, &leader.api, &channel_id)).await;
	Setup { net, server, leader, standby, node_id, channel_id, standby_dir }
}

async fn usable(alice: &ApiClient, bob: &ApiClient, id: &str) -> bool {
	let a = alice.get_channel(id).await.map(|c| c.is_usable).unwrap_or(false);
	let b = bob.get_channel(id).await.map(|c| c.is_usable).unwrap_or(false);
	a && b
}

/// The standby, once it runs: alice connects to it (it listens elsewhere than the leader),
/// and the channel is usable on both sides again.
async fn reach_standby(setup: &mut Setup) {
	let within = TAKEOVER_WITHIN;
	let node_id = setup.standby.running(&setup.standby_dir, within).await;
	assert_eq!(node_id, setup.node_id, "the standby is not the same node");
	// Clients keep their credentials: the standby answers the leader's API key.
	let leader_key = std::fs::read(setup.net.dir.path().join("bob").join("api_key"));
	let standby_key = std::fs::read(setup.standby_dir.join("api_key"));
	assert_eq!(leader_key.expect("leader's key"), standby_key.expect("standby's key"));
	let alice = setup.net.api("alice");
	let address = format!("127.0.0.1:{}", setup.standby.p2p);
	let bob = setup.standby.api.clone();
	let id = setup.channel_id.clone();
	setup
		.net
		.wait_for_within("the channel usable at the standby", within, || {
			let (alice, bob, id, address, node) =
				(alice.clone(), bob.clone(), id.clone(), address.clone(), node_id.clone());
			async move {
				if !alice.get_channel(&id).await.is_ok_and(|c| c.is_usable) {
					let _ = alice.connect_peer(&node, &address).await;
				}
				usable(&alice, &bob, &id).await
			}
		})
		.await;
}

/// Rows of the database whose value holds `needle`'s bytes.
async fn rows_holding(url: &str, needle: &str) -> i64 {
	let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
	tokio::spawn(async move {
		let _ = connection.await;
	});
	let needle = needle.as_bytes().to_vec();
	let row = client
		.query_one(
			"SELECT count(*) FROM fulgur_kv WHERE position($1::bytea IN value) > 0",
			&[&needle],
		)
		.await
		.unwrap();
	row.get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_standby_takes_over_a_killed_leader_with_every_channel() {
	let mut setup = set_up().await;
	let alice = setup.net.api("alice");
	let bob = setup.leader.api.clone();
	// Payments from alice to the leader's invoices, eight at a time, until it dies.
	let invoices: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
	let mut workers = Vec::new();
	for worker in 0..8 {
		let (alice, bob, invoices) = (alice.clone(), bob.clone(), Arc::clone(&invoices));
		workers.push(tokio::spawn(async move {
			for round in 0.. {
				let label = format!("w{worker} r{round}");
				let Ok(invoice) = bob.create_invoice(Some(10_000), &label, None).await else {
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
	setup
		.net
		.wait_for("payments under way", || async {
			invoices.lock().await.len() >= PAYMENTS_BEFORE_KILL
		})
		.await;
	setup.leader.signal("-KILL");
	let killed = Instant::now();
	for worker in workers {
		let _ = worker.await;
	}
	reach_standby(&mut setup).await;
	println!(
		"takeover: {:.1} s from SIGKILL to the channel usable",
		killed.elapsed().as_secs_f64()
	);
	let bob = setup.standby.api.clone();
	let channels = bob.list_channels().await.expect("the standby's channels");
	assert_eq!(channels.len(), 1, "the standby lost the channel: {channels:?}");

	let started = invoices.lock().await.clone();
	setup
		.net
		.wait_for("every payment final", || {
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
	// A payment alice completed is recorded paid at the standby, eventually.
	setup
		.net
		.wait_for("the standby's record of every payment alice completed", || {
			let (alice, bob, started) = (alice.clone(), bob.clone(), started.clone());
			async move {
				for (hash, id) in &started {
					let succeeded = alice
						.get_payment(id)
						.await
						.is_ok_and(|p| p.status == PaymentStatus::Succeeded);
					let paid =
						bob.get_invoice(hash).await.is_ok_and(|i| i.status == InvoiceStatus::Paid);
					if succeeded && !paid {
						return false;
					}
				}
				true
			}
		})
		.await;
	for (hash, id) in &started {
		let payment = alice.get_payment(id).await.expect("payment");
		let invoice = bob.get_invoice(hash).await.expect("invoice at the standby");
		let claimed = invoice.status == InvoiceStatus::Paid;
		assert!(
			!(claimed && payment.status == PaymentStatus::Failed),
			"{hash} claimed but alice recorded a failure: {payment:?}"
		);
	}
	let invoice = bob.create_invoice(Some(50_000), "after the takeover", None).await.unwrap();
	let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
	assert_eq!(alice.pay(&req, true).await.expect("pay").status, PaymentStatus::Succeeded);
	drop(setup.standby);
	setup.net.shutdown().await;
	drop(setup.server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paused_leader_whose_lease_was_taken_writes_nothing_and_exits() {
	let mut setup = set_up().await;
	let alice = setup.net.api("alice");
	setup.leader.signal("-STOP");
	// A request the paused leader will find when it runs again: it must not be written.
	let label = "asked-of-the-paused-leader";
	let paused_api = setup.leader.api.clone();
	let asked =
		tokio::spawn(async move { paused_api.create_invoice(Some(20_000), label, None).await });
	reach_standby(&mut setup).await;
	// The standby moves the channel on.
	let bob = setup.standby.api.clone();
	let invoice = bob.create_invoice(Some(30_000), "paid at the standby", None).await.unwrap();
	let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
	assert_eq!(alice.pay(&req, true).await.expect("pay").status, PaymentStatus::Succeeded);

	setup.leader.signal("-CONT");
	let ended = setup.leader.wait_line("EXIT ", EXIT_WITHIN).await;
	assert!(ended.starts_with("error: the node stopped:"), "{ended}");
	assert!(ended.contains("lease"), "the old leader did not say why: {ended}");
	let status = tokio::time::timeout(EXIT_WITHIN, setup.leader.process.wait())
		.await
		.expect("the old leader exits")
		.expect("exit status");
	assert!(!status.success(), "the old leader exited with success: {status}");
	match tokio::time::timeout(EXIT_WITHIN, asked).await.expect("answered").expect("task") {
		Ok(invoice) => panic!("the old leader acknowledged an invoice: {invoice:?}"),
		Err(e) => println!("the old leader refused the invoice: {e}"),
	}
	assert_eq!(rows_holding(setup.server.url(), label).await, 0, "the old leader wrote");
	assert!(rows_holding(setup.server.url(), "paid at the standby").await > 0);
	// The standby is unaffected and keeps paying.
	let invoice = bob.create_invoice(Some(40_000), "after the old leader", None).await.unwrap();
	let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
	assert_eq!(alice.pay(&req, true).await.expect("pay").status, PaymentStatus::Succeeded);
	assert!(usable(&alice, &bob, &setup.channel_id).await);
	drop(setup.standby);
	setup.net.shutdown().await;
	drop(setup.server);
}
