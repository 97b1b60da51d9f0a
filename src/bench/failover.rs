//! `fulgur bench failover`: a leader (`fulgur node --store postgres`, a child process) under
//! payment load is killed with SIGKILL while a standby (`--standby`, another child process,
//! in an empty directory with the leader's secrets key: the seed and the credentials are in
//! the database) waits on the same database; the standby takes over.
//!
//! Reported: the takeover time (SIGKILL → every channel usable again, at the payer and at
//! the standby), the payments attempted during the gap (none can be made while no node
//! runs), and the checks: no payment ended both failed at the payer and claimed at the node,
//! and every channel is usable after the takeover. The payer is a node in this process, on
//! sled, with `--channels` channels to the leader. The database is a throwaway PostgreSQL
//! server unless `--postgres-url` is given. No timed assertion: the numbers are the output.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::hex::FromHex;
use clap::Args;
use fulgur_api::ApiClient;
use fulgur_base::throwaway_postgres::ThrowawayPostgres;
use fulgur_node::{Node, OpenChannelRequest, PayRequest, PaymentId, PaymentStatus, PublicKey};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, Mutex};

use super::chain::Chain;
use super::setup::{start_nodes, stop_nodes, wait_funded, NodeSpec};
use super::OutputArgs;
use crate::regtest::launch::{wait_until, RpcEndpoint};

/// How long the leader, the takeover and the payments may take before the run gives up.
const STEP: Duration = Duration::from_secs(300);
/// Each channel's size, sat.
const CHANNEL_SAT: u64 = 1_000_000;
/// Each payment, msat.
const PAYMENT_MSAT: u64 = 10_000;
/// Pause of a payment worker whose attempt failed (no node answers during the gap).
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// `fulgur bench failover`.
#[derive(Args, Debug, Clone)]
pub struct FailoverArgs {
	/// Channels from the payer to the leader
	#[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=50))]
	pub channels: u64,
	/// Payments in flight at once
	#[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
	pub concurrency: u64,
	/// Payments started before the leader is killed
	#[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
	pub kill_after: u64,
	/// The database (give an empty one: nothing is cleared); without it the benchmark
	/// starts a throwaway PostgreSQL server of its own
	#[arg(long, value_name = "URL")]
	pub postgres_url: Option<String>,
	/// Where the results and the working files go
	#[command(flatten)]
	pub output: OutputArgs,
}

/// A `fulgur node` child process, and the lines it printed.
struct Daemon {
	process: tokio::process::Child,
	lines: mpsc::UnboundedReceiver<String>,
	dir: PathBuf,
	api_url: String,
	p2p: String,
}

impl Daemon {
	fn start(
		dir: &Path, rpc: &RpcEndpoint, url: &str, key_file: &Path, standby: bool,
	) -> Result<Daemon, String> {
		std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
		let port = || crate::bitcoind::free_port().map_err(|e| format!("free port: {e}"));
		let (p2p, api) = (format!("127.0.0.1:{}", port()?), format!("127.0.0.1:{}", port()?));
		let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
		let mut command = tokio::process::Command::new(exe);
		command.arg("node").arg("--data-dir").arg(dir);
		command.args(["--network", "regtest", "--listen", &p2p, "--api-bind", &api]);
		command.args(["--bitcoind-rpc", &rpc.addr, "--bitcoind-rpc-user", &rpc.user]);
		command.args(["--bitcoind-rpc-password", &rpc.password]);
		command.args(["--store", "postgres", "--postgres-url", url]);
		command.arg("--secrets-key-file").arg(key_file);
		if standby {
			command.arg("--standby");
		}
		let mut process = command
			.stdout(Stdio::piped())
			.stderr(Stdio::piped())
			.kill_on_drop(true)
			.spawn()
			.map_err(|e| format!("starting fulgur node: {e}"))?;
		let (tx, lines) = mpsc::unbounded_channel();
		let stdout = process.stdout.take().ok_or("no stdout")?;
		let stderr = process.stderr.take().ok_or("no stderr")?;
		let err_tx = tx.clone();
		tokio::spawn(async move {
			let mut lines = BufReader::new(stdout).lines();
			while let Ok(Some(line)) = lines.next_line().await {
				let _ = tx.send(line);
			}
		});
		tokio::spawn(async move {
			let mut lines = BufReader::new(stderr).lines();
			while let Ok(Some(line)) = lines.next_line().await {
				let _ = err_tx.send(line);
			}
		});
		Ok(Daemon { process, lines, dir: dir.to_owned(), api_url: format!("http://{api}"), p2p })
	}

	/// Waits until the daemon runs as the node; its node id and an API client.
	async fn running(&mut self) -> Result<(PublicKey, ApiClient), String> {
		let started = tokio::time::timeout(STEP, async {
			while let Some(line) = self.lines.recv().await {
				if let Some(rest) = line.strip_prefix("fulgur node ") {
					return Ok(rest.split_whitespace().next().unwrap_or_default().to_owned());
				}
			}
			Err("fulgur node exited before it ran".to_owned())
		})
		.await
		.map_err(|_| "fulgur node did not start in time".to_owned())??;
		let node_id = PublicKey::from_str(&started).map_err(|e| format!("node id: {e}"))?;
		let key = std::fs::read_to_string(self.dir.join("api_key"))
			.map_err(|e| format!("api key: {e}"))?;
		let api = ApiClient::new(&self.api_url, key.trim()).map_err(|e| e.to_string())?;
		Ok((node_id, api))
	}
}

/// A payment the payer started: the invoice's hash, the payer's payment id.
type Started = Arc<Mutex<Vec<(String, String)>>>;

/// What the payment workers share: the API they take invoices from (the leader's, then the
/// standby's), the payments started, the attempts made while no node ran.
struct Load {
	node: Mutex<Option<ApiClient>>,
	started: Started,
	gap: AtomicBool,
	gap_attempts: AtomicU64,
	stop: AtomicBool,
}

async fn pay_worker(payer: Node, load: Arc<Load>) {
	while !load.stop.load(Ordering::Relaxed) {
		let node = load.node.lock().await.clone();
		let attempt = async {
			let node = node.ok_or("no node")?;
			let invoice = node.create_invoice(Some(PAYMENT_MSAT), "failover", None).await;
			let invoice = invoice.map_err(|e| e.to_string())?;
			let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
			let paid = payer.pay(req, false).await.map_err(|e| e.to_string())?;
			Ok::<_, String>((invoice.payment_hash, paid.payment_id))
		};
		let in_gap = load.gap.load(Ordering::Relaxed);
		match attempt.await {
			Ok(started) => load.started.lock().await.push(started),
			Err(_) => {
				if in_gap {
					load.gap_attempts.fetch_add(1, Ordering::Relaxed);
				}
				tokio::time::sleep(RETRY_PAUSE).await;
			}
		}
	}
}

/// Writes the secrets key's hex digits to `path`, readable by the owner only.
fn write_key_file(path: &Path, hex: &str) -> Result<(), String> {
	use std::io::Write;
	use std::os::unix::fs::OpenOptionsExt;
	let mut file = std::fs::OpenOptions::new()
		.write(true)
		.create_new(true)
		.mode(0o600)
		.open(path)
		.map_err(|e| format!("{}: {e}", path.display()))?;
	writeln!(file, "{hex}").map_err(|e| format!("{}: {e}", path.display()))
}

fn s(e: impl std::fmt::Display) -> String {
	e.to_string()
}

fn payment_id(hex: &str) -> Result<PaymentId, String> {
	<[u8; 32]>::from_hex(hex).map(PaymentId).map_err(|e| format!("payment id {hex}: {e}"))
}

/// Runs the benchmark.
pub async fn run(args: FailoverArgs) -> Result<(), String> {
	let dir = args.output.work_dir()?;
	let result = run_in(&args, &dir).await;
	args.output.finish(&dir);
	let report = result?;
	println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
	super::write_json(args.output.json.as_deref(), &report)
}

async fn run_in(args: &FailoverArgs, dir: &Path) -> Result<serde_json::Value, String> {
	let server = match &args.postgres_url {
		Some(_) => None,
		None => Some(
			tokio::task::spawn_blocking(ThrowawayPostgres::provide)
				.await
				.map_err(|e| e.to_string())?
				.map_err(|e| format!("PostgreSQL: {e}"))?,
		),
	};
	let url = match (&args.postgres_url, &server) {
		(Some(url), _) => url.clone(),
		(None, Some(server)) => server.url().to_owned(),
		(None, None) => return Err("no database".into()),
	};
	let mut chain = Chain::start(&dir.join("bitcoind"), 2).await?;
	let outcome = measure(args, dir, &mut chain, &url).await;
	chain.stop().await;
	drop(server);
	outcome
}

async fn measure(
	args: &FailoverArgs, dir: &Path, chain: &mut Chain, url: &str,
) -> Result<serde_json::Value, String> {
	let rpc = chain.rpc.clone();
	eprintln!("starting the leader and the standby on PostgreSQL");
	// One key for both, as an operator gives both machines (a benchmark's own, random).
	let key_file = dir.join("secrets.key");
	let mut key = [0u8; 32];
	std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").map_err(s)?, &mut key)
		.map_err(s)?;
	let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
	write_key_file(&key_file, &hex)?;
	let mut leader = Daemon::start(&dir.join("leader"), &rpc, url, &key_file, false)?;
	let (node_id, leader_api) = leader.running().await?;
	let standby_dir = dir.join("standby");
	std::fs::create_dir_all(&standby_dir).map_err(|e| e.to_string())?;
	let mut standby = Daemon::start(&standby_dir, &rpc, url, &key_file, true)?;

	let spec = NodeSpec {
		name: "payer".into(),
		dir,
		rpc: &rpc,
		store: fulgur_node::StoreKind::Sled,
		listen_port: None,
	};
	let payer = start_nodes(vec![spec.config()?], 1).await?.remove(0);
	let outcome =
		with_payer(args, chain, &payer, node_id, &mut leader, leader_api, &mut standby).await;
	stop_nodes(vec![payer], 1).await;
	let _ = standby.process.kill().await;
	outcome
}

async fn with_payer(
	args: &FailoverArgs, chain: &mut Chain, payer: &Node, node_id: PublicKey, leader: &mut Daemon,
	leader_api: ApiClient, standby: &mut Daemon,
) -> Result<serde_json::Value, String> {
	eprintln!("opening {} channels from the payer to the leader", args.channels);
	let address = payer.new_onchain_address().map_err(|e| e.to_string())?;
	let outputs = vec![CHANNEL_SAT + 100_000; args.channels as usize];
	chain.fund(&address, &outputs).await?;
	wait_funded(payer, outputs.iter().sum()).await?;
	payer.connect_peer(node_id, &leader.p2p).await.map_err(|e| e.to_string())?;
	for _ in 0..args.channels {
		let request = OpenChannelRequest {
			node_id,
			address: leader.p2p.clone(),
			amount_sat: CHANNEL_SAT,
			push_msat: Some(0),
			announce: Some(false),
		};
		payer.open_channel(request).await.map_err(|e| format!("open: {e}"))?;
	}
	wait_until("funding in the mempool", STEP, || async { chain.mempool_size().await >= 1 })
		.await?;
	chain.confirm().await?;
	let usable = |payer: Node| async move {
		payer.list_channels().iter().filter(|c| c.is_usable).count() as u64
	};
	wait_until("every channel usable", STEP, || async {
		usable(payer.clone()).await == args.channels
	})
	.await?;

	let load = Arc::new(Load {
		node: Mutex::new(Some(leader_api)),
		started: Arc::default(),
		gap: AtomicBool::new(false),
		gap_attempts: AtomicU64::new(0),
		stop: AtomicBool::new(false),
	});
	let workers: Vec<_> = (0..args.concurrency)
		.map(|_| tokio::spawn(pay_worker(payer.clone(), Arc::clone(&load))))
		.collect();
	eprintln!("paying; the leader is killed after {} payments", args.kill_after);
	wait_until("payments under way", STEP, || async {
		load.started.lock().await.len() as u64 >= args.kill_after
	})
	.await?;
	let load_average = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
	load.gap.store(true, Ordering::Relaxed);
	*load.node.lock().await = None;
	leader.process.kill().await.map_err(|e| format!("SIGKILL the leader: {e}"))?;
	let killed = Instant::now();
	let started_before_kill = load.started.lock().await.len();

	let (standby_id, standby_api) = standby.running().await?;
	if standby_id != node_id {
		return Err(format!("the standby runs as {standby_id}, not the leader's {node_id}"));
	}
	let took_lease = killed.elapsed();
	// The payer learns the standby's address (a real deployment moves an address or a name).
	wait_until("every channel usable at the standby", STEP, || async {
		if usable(payer.clone()).await < args.channels {
			let _ = payer.connect_peer(node_id, &standby.p2p).await;
		}
		let at_standby = standby_api.list_channels().await.unwrap_or_default();
		usable(payer.clone()).await == args.channels
			&& at_standby.iter().filter(|c| c.is_usable).count() as u64 == args.channels
	})
	.await?;
	let takeover = killed.elapsed();
	load.gap.store(false, Ordering::Relaxed);
	let gap_attempts = load.gap_attempts.load(Ordering::Relaxed);
	*load.node.lock().await = Some(standby_api.clone());
	let after = load.started.lock().await.len() + args.concurrency as usize;
	wait_until("payments through the standby", STEP, || async {
		load.started.lock().await.len() >= after
	})
	.await?;
	load.stop.store(true, Ordering::Relaxed);
	for worker in workers {
		let _ = worker.await;
	}

	let started = load.started.lock().await.clone();
	wait_until("every payment final", STEP, || async {
		started.iter().all(|(_, id)| {
			payment_id(id).ok().and_then(|id| payer.get_payment(&id)).map(|p| p.status)
				!= Some(PaymentStatus::Pending)
		})
	})
	.await?;
	let (mut succeeded, mut failed, mut failed_and_claimed) = (0u64, 0u64, 0u64);
	for (hash, id) in &started {
		let status = payer.get_payment(&payment_id(id)?).map(|p| p.status);
		let claimed = standby_api
			.get_invoice(hash)
			.await
			.is_ok_and(|i| i.status == fulgur_api::wire::invoices::InvoiceStatus::Paid);
		match status {
			Some(PaymentStatus::Succeeded) => succeeded += 1,
			Some(PaymentStatus::Failed) => {
				failed += 1;
				failed_and_claimed += u64::from(claimed);
			}
			_ => {}
		}
	}
	let channels_after = standby_api
		.list_channels()
		.await
		.map_err(|e| e.to_string())?
		.iter()
		.filter(|c| c.is_usable)
		.count();
	Ok(json!({
		"benchmark": "failover",
		"channels": args.channels,
		"concurrency": args.concurrency,
		"takeover_s": takeover.as_secs_f64(),
		"lease_taken_s": took_lease.as_secs_f64(),
		"lost_payments": gap_attempts,
		"payments_started_before_kill": started_before_kill,
		"payments_started": started.len(),
		"payments_succeeded": succeeded,
		"payments_failed": failed,
		"failed_and_claimed": failed_and_claimed,
		"channels_after": channels_after,
		"load_average_at_kill": load_average.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
	}))
}

#[cfg(test)]
mod tests {
	use super::*;
	use clap::Parser;

	#[derive(Parser)]
	struct Cli {
		#[command(flatten)]
		args: FailoverArgs,
	}

	fn parse(args: &[&str]) -> Result<FailoverArgs, clap::Error> {
		Cli::try_parse_from(std::iter::once("failover").chain(args.iter().copied())).map(|c| c.args)
	}

	#[test]
	fn defaults_and_bounds() {
		let args = parse(&[]).unwrap();
		assert_eq!((args.channels, args.concurrency, args.kill_after), (4, 8, 200));
		assert_eq!(args.postgres_url, None);
		for bad in [
			["--channels", "0"],
			["--channels", "51"],
			["--concurrency", "0"],
			["--kill-after", "0"],
		] {
			assert!(parse(&bad).is_err(), "{bad:?}");
		}
	}
}
