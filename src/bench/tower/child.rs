//! `fulgur bench tower-process` (internal): the tower of `bench tower` in a process of its own,
//! so the CPU and memory read from `/proc/<pid>` are the tower's alone, not the load
//! generator's (which signs, serialises and sends the appointments).
//!
//! Invariant: stdout carries only the protocol, one JSON object a line: [`TowerReady`] once
//! the API listens, then, when stdin ends, the tower's [`TowerStats`], after which it stops and
//! the process exits.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use fulgur_watchtower::server::{self, Carrier, Refusals, TowerCore};
use serde::{Deserialize, Serialize};
use tokio::io::BufReader;
use tokio::process::{Child, ChildStdin, ChildStdout};

use crate::bench::hub::protocol::{read_line, read_line_blocking, to_line};
use crate::bench::measure::ProcSample;
use crate::bench::setup::ChildRpcArgs;
use crate::regtest::launch::RpcEndpoint;

/// How long the tower process may take to open its database and listen.
const START_TIMEOUT: Duration = Duration::from_secs(300);
/// How long it may take to answer or to stop.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// `fulgur bench tower-process`.
#[derive(Args, Debug, Clone)]
pub struct TowerProcessArgs {
	/// The tower's database directory
	#[arg(long)]
	pub data_dir: PathBuf,
	/// Appointments the run stores (sizes the subscriptions)
	#[arg(long)]
	pub appointments: u64,
	/// Users the appointments are spread over
	#[arg(long)]
	pub users: usize,
	/// sled page cache, MB
	#[arg(long)]
	pub cache_mb: u64,
	/// Flushes this far apart at least, ms
	#[arg(long)]
	pub flush_pace_ms: u64,
	/// bitcoind (penalties would go there)
	#[command(flatten)]
	pub rpc: ChildRpcArgs,
}

/// The child's first line.
#[derive(Debug, Serialize, Deserialize)]
pub struct TowerReady {
	/// Where the API listens.
	pub addr: String,
}

/// The tower's own counters.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
pub struct TowerStats {
	/// Group-commit flushes so far.
	pub flushes: u64,
	/// HTTP connections accepted.
	pub connections: u64,
	/// HTTP requests received.
	pub requests: u64,
	/// Locator prefixes in the in-memory index.
	pub indexed_locators: u64,
}

/// Runs the tower until stdin ends.
pub async fn run(args: TowerProcessArgs) -> Result<(), String> {
	server::log::set_level(server::log::Level::Warn);
	let options = super::options(args.appointments, args.users, args.cache_mb, args.flush_pace_ms);
	let client =
		server::rpc_client(&args.rpc.rpc_addr, &args.rpc.rpc_user, &args.rpc.rpc_password)?;
	let refusals = Arc::new(Refusals::default());
	let handle = tokio::runtime::Handle::current();
	let carrier = Arc::new(Carrier::new(Arc::new(client), handle, Arc::clone(&refusals)));
	let core = TowerCore::open(&args.data_dir, &options, carrier, refusals)
		.map_err(|e| format!("opening the tower: {e}"))?;
	let http = core
		.serve("127.0.0.1:0".parse().map_err(|e| format!("{e}"))?)
		.map_err(|e| format!("serving the tower: {e}"))?;
	let stats = |http: &server::HttpServer| TowerStats {
		flushes: core.db().group_flushes(),
		connections: http.connections().accepted(),
		requests: http.connections().requests(),
		indexed_locators: core.db().indexed_locators() as u64,
	};
	print_line(&TowerReady { addr: http.local_addr().to_string() })?;
	// Waiting for the end of stdin on a thread of its own: the runtime's workers stay the
	// tower's.
	let (ended, end) = tokio::sync::oneshot::channel::<()>();
	std::thread::spawn(move || {
		let mut stdin = std::io::stdin().lock();
		while let Ok(Some(line)) = read_line_blocking(&mut stdin) {
			eprintln!("tower-process: unexpected input {line:?}");
		}
		let _ = ended.send(());
	});
	let _ = end.await;
	let last = stats(&http);
	http.shutdown().await;
	drop(core);
	print_line(&last)
}

fn print_line(value: &impl Serialize) -> Result<(), String> {
	let mut stdout = std::io::stdout().lock();
	stdout
		.write_all(to_line(value).as_bytes())
		.and_then(|()| stdout.flush())
		.map_err(|e| format!("writing to the benchmark: {e}"))
}

/// The benchmark's handle on its tower process.
pub struct RemoteTower {
	child: Child,
	stdin: Option<ChildStdin>,
	stdout: BufReader<ChildStdout>,
	pid: u32,
	/// Where its API listens, as a URL.
	pub url: String,
}

impl RemoteTower {
	/// Starts a tower on `data_dir` in a child process and waits until it listens.
	pub async fn start(
		data_dir: &Path, args: &super::TowerArgs, rpc: &RpcEndpoint,
	) -> Result<RemoteTower, String> {
		let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
		let mut child = tokio::process::Command::new(exe)
			.args(["bench", "tower-process", "--data-dir"])
			.arg(data_dir)
			.args(["--appointments", &args.appointments.to_string()])
			.args(["--users", &args.users.to_string(), "--cache-mb", &args.cache_mb.to_string()])
			.args(["--flush-pace-ms", &args.flush_pace_ms.to_string()])
			.args(ChildRpcArgs::flags(rpc))
			.stdin(Stdio::piped())
			.stdout(Stdio::piped())
			.stderr(Stdio::inherit())
			.kill_on_drop(true)
			.spawn()
			.map_err(|e| format!("starting the tower process: {e}"))?;
		let pid = child.id().ok_or("the tower process exited at once")?;
		let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
			return Err("the tower process has no pipes".into());
		};
		let mut tower = RemoteTower {
			child,
			stdin: Some(stdin),
			stdout: BufReader::new(stdout),
			pid,
			url: "".into(),
		};
		let ready: TowerReady = tower.read_answer(START_TIMEOUT).await?;
		tower.url = format!("http://{}", ready.addr);
		Ok(tower)
	}

	async fn read_answer<T: serde::de::DeserializeOwned>(
		&mut self, timeout: Duration,
	) -> Result<T, String> {
		let line = tokio::time::timeout(timeout, read_line(&mut self.stdout))
			.await
			.map_err(|_| "the tower process did not answer in time".to_string())?
			.map_err(|e| format!("reading the tower process: {e}"))?
			.ok_or("the tower process exited")?;
		serde_json::from_str(&line).map_err(|e| format!("the tower process said {line:?}: {e}"))
	}

	/// Its CPU, memory and disk counters now.
	pub fn sample(&self) -> ProcSample {
		ProcSample::read_pid(self.pid)
	}

	/// Stops the tower (ending its stdin), waits for its last counters and its exit.
	pub async fn stop(mut self) -> Result<TowerStats, String> {
		drop(self.stdin.take());
		let last = self.read_answer(ANSWER_TIMEOUT).await;
		let status = tokio::time::timeout(ANSWER_TIMEOUT, self.child.wait()).await;
		match status {
			Ok(Ok(status)) if status.success() => last,
			Ok(Ok(status)) => Err(format!("the tower process ended with {status}")),
			Ok(Err(e)) => Err(format!("waiting for the tower process: {e}")),
			Err(_) => Err("the tower process did not stop in time".into()),
		}
	}
}
