//! The benchmark's handle on its hub process: spawns `fulgur bench hub-process`, sends it
//! requests and matches the answers, and reads the child's resource use from `/proc/<pid>`.
//!
//! Invariant: every request gets an answer or an error: when the child's stdout ends (it
//! exited or crashed), every request still waiting fails at once.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use fulgur_node::store::StoreStats;
use fulgur_node::tower::TowerStatus;
use fulgur_node::StoreKind;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::oneshot;

use super::protocol::{read_line, to_line, Answer, Call, ChannelOpen, Ready, Request, Response};
use crate::bench::measure::ProcSample;
use crate::bench::setup::ChildRpcArgs;
use crate::regtest::launch::RpcEndpoint;

/// How long the hub process may take to start its node.
const START_TIMEOUT: Duration = Duration::from_secs(300);
/// How long it may take to stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(120);

type Waiting = Arc<Mutex<Option<HashMap<u64, oneshot::Sender<Result<Answer, String>>>>>>;

/// How to start a hub process.
pub struct HubLaunch<'a> {
	/// Its data directory.
	pub data_dir: &'a Path,
	/// Its store.
	pub store: StoreKind,
	/// The port it accepts peers on.
	pub port: u16,
	/// bitcoind.
	pub rpc: &'a RpcEndpoint,
	/// Towers it hands revoked states to.
	pub towers: &'a [String],
	/// Its database, for the `postgres` store.
	pub postgres_url: Option<String>,
	/// Its `--receive-delay`.
	pub receive_delay: crate::daemon::ReceiveDelayArg,
}

/// A hub running in a child process.
pub struct RemoteHub {
	child: tokio::sync::Mutex<Child>,
	stdin: tokio::sync::Mutex<ChildStdin>,
	waiting: Waiting,
	next_id: AtomicU64,
	pid: u32,
	node_id: PublicKey,
	listen_addr: String,
}

impl RemoteHub {
	/// Starts the child and waits for its node to run.
	pub async fn start(launch: HubLaunch<'_>) -> Result<Arc<RemoteHub>, String> {
		let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
		let mut command = tokio::process::Command::new(exe);
		command
			.args(["bench", "hub-process", "--data-dir"])
			.arg(launch.data_dir)
			.args(["--store", launch.store.as_str(), "--port", &launch.port.to_string()])
			.args(ChildRpcArgs::flags(launch.rpc));
		for tower in launch.towers {
			command.args(["--tower", tower]);
		}
		if let Some(url) = &launch.postgres_url {
			command.args(["--postgres-url", url]);
		}
		if launch.receive_delay == crate::daemon::ReceiveDelayArg::None {
			command.args(["--receive-delay", "none"]);
		}
		let mut child = command
			.stdin(Stdio::piped())
			.stdout(Stdio::piped())
			.stderr(Stdio::inherit())
			.kill_on_drop(true)
			.spawn()
			.map_err(|e| format!("starting the hub process: {e}"))?;
		let pid = child.id().ok_or("the hub process exited at once")?;
		let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
			return Err("the hub process has no pipes".into());
		};
		let mut stdout = BufReader::new(stdout);
		let ready = tokio::time::timeout(START_TIMEOUT, async {
			loop {
				match read_line(&mut stdout).await {
					Ok(Some(line)) => match serde_json::from_str::<Ready>(&line) {
						Ok(ready) => return Ok(ready),
						Err(_) => eprintln!("hub process: {line}"),
					},
					Ok(None) => return Err("the hub process exited before its node ran".into()),
					Err(e) => return Err(format!("reading the hub process: {e}")),
				}
			}
		})
		.await
		.map_err(|_| "the hub process did not start its node in time".to_string())
		.and_then(|ready| ready);
		let ready = match ready {
			Ok(ready) => ready,
			Err(e) => {
				let _ = child.kill().await;
				return Err(e);
			}
		};
		let node_id: PublicKey = match ready.node_id.parse() {
			Ok(id) => id,
			Err(e) => {
				let _ = child.kill().await;
				return Err(format!("the hub's node id {}: {e}", ready.node_id));
			}
		};
		let waiting: Waiting = Arc::new(Mutex::new(Some(HashMap::new())));
		let reader_waiting = Arc::clone(&waiting);
		tokio::spawn(async move {
			while let Ok(Some(line)) = read_line(&mut stdout).await {
				let Ok(response) = serde_json::from_str::<Response>(&line) else {
					eprintln!("hub process: {line}");
					continue;
				};
				let sender = reader_waiting
					.lock()
					.ok()
					.and_then(|mut w| w.as_mut().and_then(|w| w.remove(&response.id)));
				if let Some(sender) = sender {
					let _ = sender.send(response.result);
				}
			}
			// Whoever still waits learns it now (dropping the senders).
			if let Ok(mut waiting) = reader_waiting.lock() {
				waiting.take();
			}
		});
		Ok(Arc::new(RemoteHub {
			child: tokio::sync::Mutex::new(child),
			stdin: tokio::sync::Mutex::new(stdin),
			waiting,
			next_id: AtomicU64::new(1),
			pid,
			node_id,
			listen_addr: ready.listen_addr,
		}))
	}

	/// The hub's node id.
	pub fn node_id(&self) -> PublicKey {
		self.node_id
	}

	/// Where the hub accepts peers.
	pub fn listen_addr(&self) -> &str {
		&self.listen_addr
	}

	/// The hub process's counters, from `/proc/<pid>`.
	pub fn proc_sample(&self) -> ProcSample {
		ProcSample::read_pid(self.pid)
	}

	/// Resets the hub process's peak resident memory; false when the kernel does not allow it.
	pub fn reset_peak_rss(&self) -> bool {
		std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok()
	}

	async fn call(&self, call: Call) -> Result<Answer, String> {
		let id = self.next_id.fetch_add(1, Ordering::Relaxed);
		let (sender, answer) = oneshot::channel();
		match self.waiting.lock() {
			Ok(mut waiting) => match waiting.as_mut() {
				Some(waiting) => waiting.insert(id, sender),
				None => return Err("the hub process has exited".into()),
			},
			Err(_) => return Err("the hub's answer table is poisoned".into()),
		};
		let line = to_line(&Request { id, call });
		{
			let mut stdin = self.stdin.lock().await;
			stdin
				.write_all(line.as_bytes())
				.await
				.map_err(|e| format!("writing to the hub process: {e}"))?;
			stdin.flush().await.map_err(|e| format!("writing to the hub process: {e}"))?;
		}
		answer.await.map_err(|_| "the hub process exited".to_string())?
	}

	async fn count(&self, call: Call) -> Result<u64, String> {
		match self.call(call).await? {
			Answer::Count(n) => Ok(n),
			other => Err(format!("unexpected answer {other:?}")),
		}
	}

	async fn text(&self, call: Call) -> Result<String, String> {
		match self.call(call).await? {
			Answer::Text(text) => Ok(text),
			other => Err(format!("unexpected answer {other:?}")),
		}
	}

	/// A fresh on-chain address of the hub.
	pub async fn new_address(&self) -> Result<String, String> {
		self.text(Call::NewAddress).await
	}

	/// Syncs the hub's wallet; its confirmed balance.
	pub async fn confirmed_balance_sat(&self) -> Result<u64, String> {
		self.count(Call::ConfirmedBalance).await
	}

	/// Opens one channel to each of these connected peers, in one funding transaction.
	pub async fn open_batch(&self, opens: Vec<ChannelOpen>) -> Result<(), String> {
		self.call(Call::OpenBatch(opens)).await.map(drop)
	}

	/// The hub's usable channels.
	pub async fn usable_channels(&self) -> Result<u64, String> {
		self.count(Call::UsableChannels).await
	}

	/// The best block the hub processed.
	pub async fn block_height(&self) -> Result<u64, String> {
		self.count(Call::BlockHeight).await
	}

	/// The hub store's counters (zero when the hub cannot answer).
	pub async fn store_stats(&self) -> StoreStats {
		match self.call(Call::StoreStats).await {
			Ok(Answer::Stats(stats)) => stats.into(),
			_ => StoreStats::default(),
		}
	}

	/// An invoice of the hub (BOLT 11).
	pub async fn create_invoice(&self, amount_msat: u64) -> Result<String, String> {
		self.text(Call::Invoice(amount_msat)).await
	}

	/// The hub's towers.
	pub async fn towers(&self) -> Vec<TowerStatus> {
		match self.call(Call::Towers).await {
			Ok(Answer::Towers(towers)) => towers,
			_ => Vec::new(),
		}
	}

	/// Stops the hub's node and waits for the process to exit (killing it when it does not).
	pub async fn stop(&self) {
		let stopping = tokio::time::timeout(STOP_TIMEOUT, self.call(Call::Stop)).await;
		let mut child = self.child.lock().await;
		let exited = match stopping {
			Ok(Ok(_)) => tokio::time::timeout(STOP_TIMEOUT, child.wait()).await.is_ok(),
			_ => false,
		};
		if !exited {
			eprintln!("the hub process did not stop cleanly: killing it");
			let _ = child.kill().await;
		}
	}
}
