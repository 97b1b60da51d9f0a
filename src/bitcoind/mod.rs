//! A real regtest `bitcoind`, started and driven over JSON-RPC.
//!
//! End-to-end tests start one per test (own datadir, free ports, many in parallel) and
//! `fulgur regtest up` starts a long-lived one that is later restarted from the same datadir.
//! All RPC goes through `lightning-block-sync`'s [`RpcClient`], the same client the node uses
//! for chain data, so tests exercise the production code path. [`BitcoindRpcArgs`] are the
//! flags that say how `fulgur node` and `fulgur tower` reach theirs.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::fs::OpenOptions;
use std::hash::BuildHasher;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bitcoin::{Address, BlockHash, Transaction, Txid};
use serde_json::Value;

mod args;
mod logs;
mod rpc;

pub use args::BitcoindRpcArgs;
use logs::{file_len, StartupLogs};
pub use rpc::{anyone_can_spend_address, anyone_can_spend_script, BitcoindRpc};

/// The provisioning script, embedded so the binary works from any working directory; it runs
/// with `scripts/packages.sh` in front of it, which installs the build's missing packages.
const PROVISION_SCRIPT: &str = include_str!("../../scripts/bitcoind.sh");

/// Every RPC and P2P socket is bound here so parallel tests never expose anything.
const LOCALHOST: &str = "127.0.0.1";

/// Loading a large regtest chain after a restart can take a while on a busy 2-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a single readiness probe may take: something that is not bitcoind could be
/// squatting on the port and never answer, and the client's own response timeout is minutes.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

const PROBE_INTERVAL: Duration = Duration::from_millis(50);

const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// bitcoind's stdout/stderr go here (inside the datadir, which is the only place we write):
/// init errors such as a held datadir lock are printed there before debug.log is even opened.
const CONSOLE_LOG: &str = "bitcoind-console.log";

/// A port picked by [`free_port`] can be taken by someone else before bitcoind binds it; with
/// automatically chosen ports we simply try again with fresh ones.
const START_ATTEMPTS: usize = 3;

/// How many log lines an error message quotes.
const LOG_TAIL_LINES: usize = 25;

/// Finds or builds the bitcoind binary and returns its path.
///
/// Runs the embedded `scripts/bitcoind.sh` (lookup order: `$BITCOIND_EXE`, `bitcoind` on
/// `PATH`, the cache, else a 5 to 15 minute build into the cache, installing the build's
/// missing system packages first when it can). Its stderr is inherited so the build's
/// progress lines are visible. The answer is cached for the life of the process; failures are not,
/// so a later call can retry. Blocks, so call it from `spawn_blocking` in async code.
pub fn bitcoind_exe() -> io::Result<PathBuf> {
	// A mutex rather than a OnceLock: initialisation is fallible, and holding the lock while
	// the script runs keeps concurrent tests from all waiting on the script's file lock.
	static EXE: Mutex<Option<PathBuf>> = Mutex::new(None);
	let mut cached = EXE.lock().unwrap_or_else(PoisonError::into_inner);
	if let Some(path) = cached.as_ref() {
		return Ok(path.clone());
	}
	// `bash -c` instead of piping to `bash -s`: the script runs cargo and cmake, which would
	// inherit a stdin that still holds the unread rest of the script.
	let output = Command::new("bash")
		.arg("-c")
		.arg(crate::packages::with_packages_script(PROVISION_SCRIPT))
		.arg("bitcoind.sh")
		.stdin(Stdio::null())
		.stdout(Stdio::piped())
		.stderr(Stdio::inherit())
		.output()
		.map_err(|e| io::Error::new(e.kind(), format!("cannot run bash for bitcoind.sh: {e}")))?;
	if !output.status.success() {
		return Err(io::Error::other(format!(
			"scripts/bitcoind.sh failed ({}); see its output above",
			output.status
		)));
	}
	let stdout = String::from_utf8_lossy(&output.stdout);
	let path = stdout.lines().map(str::trim).rfind(|line| !line.is_empty()).map(PathBuf::from);
	match path {
		Some(path) if path.is_file() => {
			*cached = Some(path.clone());
			Ok(path)
		}
		_ => Err(io::Error::new(
			io::ErrorKind::NotFound,
			format!("scripts/bitcoind.sh printed no bitcoind path (stdout: {stdout:?})"),
		)),
	}
}

/// Picks a free TCP port on 127.0.0.1 for a listener that may have to bind it again later
/// (a node restarted on its ports).
///
/// Ports come from below Linux's ephemeral range (32768–60999 by default): the kernel hands
/// those out to outgoing connections, so a port of that range released by a stopped node can
/// be taken by any client's connection before the node binds it again. A port is tried with a
/// bind before it is handed out, and never handed out twice within a process, so parallel
/// tests cannot get the same one; another process may still grab it, and [`Bitcoind::start`]
/// retries with fresh ports when that happens.
pub fn free_port() -> io::Result<u16> {
	static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
	let mut guard = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
	let handed_out = guard.get_or_insert_with(HashSet::new);
	let span = u64::from(LISTEN_PORTS.end - LISTEN_PORTS.start);
	for attempt in 0..4096u64 {
		// std's randomly keyed hasher as the random source (no RNG crate in this one).
		let draw = RandomState::new().hash_one((std::process::id(), attempt)) % span;
		let port = LISTEN_PORTS.start + draw as u16;
		if handed_out.contains(&port) || TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err() {
			continue;
		}
		handed_out.insert(port);
		return Ok(port);
	}
	// Everything below the ephemeral range is taken: let the kernel pick one.
	let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port();
	handed_out.insert(port);
	Ok(port)
}

/// Where [`free_port`] looks: below the kernel's ephemeral ports, above the well-known ones
/// services commonly use.
const LISTEN_PORTS: std::ops::Range<u16> = 20_000..32_768;

/// How to start a regtest bitcoind.
#[derive(Clone, Debug)]
pub struct BitcoindConfig {
	/// The `-datadir`; created if missing, and an existing chain in it is reused.
	pub datadir: PathBuf,
	/// The RPC port; 0 picks a free one at start.
	pub rpc_port: u16,
	/// The P2P port; 0 picks a free one at start.
	pub p2p_port: u16,
	/// The RPC user name.
	pub rpc_user: String,
	/// The RPC password.
	pub rpc_password: String,
}

impl BitcoindConfig {
	/// A config with free ports, user `fulgur` and a random password.
	///
	/// The random password also guarantees that a readiness probe can only succeed against
	/// our own process, never against another test's bitcoind that happens to hold the port.
	pub fn new(datadir: impl Into<PathBuf>) -> Self {
		Self {
			datadir: datadir.into(),
			rpc_port: 0,
			p2p_port: 0,
			rpc_user: "fulgur".to_string(),
			rpc_password: random_hex(16),
		}
	}
}

/// A running regtest bitcoind child process.
///
/// Dropping it kills the process; call [`Bitcoind::stop`] for a clean shutdown that flushes
/// the chain state to disk.
pub struct Bitcoind {
	child: Child,
	client: BitcoindRpc,
	datadir: PathBuf,
	rpc_port: u16,
	p2p_port: u16,
	rpc_user: String,
	rpc_password: String,
}

/// Why one start attempt failed; only port clashes are worth another attempt.
enum StartError {
	PortInUse(io::Error),
	Fatal(io::Error),
}

impl Bitcoind {
	/// Starts `bitcoind -regtest` and waits (up to 60 s) until RPC answers `getblockchaininfo`.
	///
	/// Reuses a chain already in the datadir. If bitcoind exits before RPC is ready, the error
	/// quotes what this run printed to the console and to `regtest/debug.log` (its warnings,
	/// errors and last lines). A datadir locked by a running bitcoind fails at once with
	/// [`io::ErrorKind::ResourceBusy`]; a taken port with [`io::ErrorKind::AddrInUse`] (only
	/// after three attempts with fresh ports when the config left the ports at 0).
	pub async fn start(config: BitcoindConfig) -> io::Result<Bitcoind> {
		let exe = tokio::task::spawn_blocking(bitcoind_exe).await.map_err(io::Error::other)??;
		std::fs::create_dir_all(&config.datadir)?;
		let auto_ports = config.rpc_port == 0 || config.p2p_port == 0;
		let mut attempt = 1;
		loop {
			let rpc_port = if config.rpc_port == 0 { free_port()? } else { config.rpc_port };
			let p2p_port = if config.p2p_port == 0 { free_port()? } else { config.p2p_port };
			match Self::start_once(&exe, &config, rpc_port, p2p_port).await {
				Ok(bitcoind) => return Ok(bitcoind),
				Err(StartError::PortInUse(_)) if auto_ports && attempt < START_ATTEMPTS => {
					attempt += 1
				}
				Err(StartError::PortInUse(e)) | Err(StartError::Fatal(e)) => return Err(e),
			}
		}
	}

	async fn start_once(
		exe: &Path, config: &BitcoindConfig, rpc_port: u16, p2p_port: u16,
	) -> Result<Bitcoind, StartError> {
		let datadir = &config.datadir;
		let console_path = datadir.join(CONSOLE_LOG);
		let debug_log_path = datadir.join("regtest").join("debug.log");
		// Only what this run writes is relevant to its error message; a restarted datadir
		// already holds older runs' logs.
		let console_offset = file_len(&console_path);
		let debug_log_offset = file_len(&debug_log_path);
		let console = OpenOptions::new()
			.create(true)
			.append(true)
			.open(&console_path)
			.map_err(StartError::Fatal)?;
		let console_err = console.try_clone().map_err(StartError::Fatal)?;
		let client = BitcoindRpc::new(
			&format!("http://{LOCALHOST}:{rpc_port}"),
			&config.rpc_user,
			&config.rpc_password,
		)
		.map_err(StartError::Fatal)?;

		let child = Command::new(exe)
			.args(bitcoind_args(config, rpc_port, p2p_port))
			.stdin(Stdio::null())
			.stdout(console)
			.stderr(console_err)
			.spawn()
			.map_err(|e| {
				StartError::Fatal(io::Error::new(
					e.kind(),
					format!("cannot run {}: {e}", exe.display()),
				))
			})?;
		// Built before the readiness wait so that Drop kills the child on every early return.
		let mut bitcoind = Bitcoind {
			child,
			client,
			datadir: datadir.clone(),
			rpc_port,
			p2p_port,
			rpc_user: config.rpc_user.clone(),
			rpc_password: config.rpc_password.clone(),
		};

		let deadline = Instant::now() + START_TIMEOUT;
		let logs = StartupLogs { console_path, console_offset, debug_log_path, debug_log_offset };
		loop {
			let probe =
				tokio::time::timeout(PROBE_TIMEOUT, bitcoind.client.rpc("getblockchaininfo", &[]));
			// Raced against the child's exit: when the RPC port belongs to something else, the
			// probe may hang until its timeout while our bitcoind has long given up.
			let child = &mut bitcoind.child;
			let exited = async {
				loop {
					match child.try_wait() {
						Ok(None) => tokio::time::sleep(PROBE_INTERVAL).await,
						Ok(Some(status)) => return Ok(status),
						Err(e) => return Err(e),
					}
				}
			};
			let last_error = tokio::select! {
				biased;
				exit = exited => {
					let status = exit.map_err(StartError::Fatal)?;
					return Err(logs.exit_error(status));
				},
				probe = probe => match probe {
					Ok(Ok(_)) => return Ok(bitcoind),
					Ok(Err(e)) => e.to_string(),
					Err(_) => "getblockchaininfo timed out".to_string(),
				},
			};
			if Instant::now() >= deadline {
				return Err(StartError::Fatal(io::Error::new(
					io::ErrorKind::TimedOut,
					format!(
						"bitcoind RPC on port {rpc_port} not ready after {}s (last error: \
						 {last_error}){}",
						START_TIMEOUT.as_secs(),
						logs.excerpt(),
					),
				)));
			}
			tokio::time::sleep(PROBE_INTERVAL).await;
		}
	}

	/// The RPC URL, `http://127.0.0.1:PORT`.
	pub fn rpc_url(&self) -> String {
		format!("http://{LOCALHOST}:{}", self.rpc_port)
	}

	/// The RPC host, always `127.0.0.1`.
	pub fn rpc_host(&self) -> &str {
		LOCALHOST
	}

	/// The RPC port actually in use.
	pub fn rpc_port(&self) -> u16 {
		self.rpc_port
	}

	/// The P2P port actually in use (bound on 127.0.0.1), e.g. to `addnode` another bitcoind.
	pub fn p2p_port(&self) -> u16 {
		self.p2p_port
	}

	/// The RPC user name.
	pub fn rpc_user(&self) -> &str {
		&self.rpc_user
	}

	/// The RPC password.
	pub fn rpc_password(&self) -> &str {
		&self.rpc_password
	}

	/// The datadir (the chain lives in its `regtest/` folder).
	pub fn datadir(&self) -> &Path {
		&self.datadir
	}

	/// The RPC client this process is driven through.
	pub fn client(&self) -> &BitcoindRpc {
		&self.client
	}

	/// Calls any JSON-RPC method; see [`BitcoindRpc::rpc`].
	pub async fn rpc(&self, method: &str, params: &[Value]) -> io::Result<Value> {
		self.client.rpc(method, params).await
	}

	/// The current chain height.
	pub async fn block_count(&self) -> io::Result<u64> {
		self.client.block_count().await
	}

	/// How many transactions are in the mempool.
	pub async fn mempool_size(&self) -> io::Result<usize> {
		self.client.mempool_size().await
	}

	/// Mines `blocks` blocks paying `address`; see [`BitcoindRpc::mine`].
	pub async fn mine(&self, blocks: u64, address: &Address) -> io::Result<Vec<BlockHash>> {
		self.client.mine(blocks, address).await
	}

	/// Mines `blocks` blocks to [`anyone_can_spend_address`].
	pub async fn mine_empty(&self, blocks: u64) -> io::Result<Vec<BlockHash>> {
		self.client.mine_empty(blocks).await
	}

	/// Broadcasts a transaction with `sendrawtransaction`.
	pub async fn send_raw_transaction(&self, tx: &Transaction) -> io::Result<Txid> {
		self.client.send_raw_transaction(tx).await
	}

	/// Marks a block invalid, disconnecting it and its descendants (for reorg tests).
	pub async fn invalidate_block(&self, hash: &BlockHash) -> io::Result<()> {
		self.client.invalidate_block(hash).await
	}

	/// Undoes [`Bitcoind::invalidate_block`], letting the chain reconnect that block.
	pub async fn reconsider_block(&self, hash: &BlockHash) -> io::Result<()> {
		self.client.reconsider_block(hash).await
	}

	/// Stops bitcoind cleanly: RPC `stop`, then waits up to 30 s for the process to exit.
	///
	/// If it does not exit in time it is killed and an error is returned, since its chain
	/// state may not have been flushed.
	pub async fn stop(mut self) -> io::Result<()> {
		self.stop_process().await
	}

	/// Stops bitcoind cleanly, lets `between` change its data directory (copy it away, or put
	/// an older copy in its place), and starts it again on the same ports and credentials.
	pub async fn restart(
		&mut self, between: impl FnOnce(&Path) -> io::Result<()>,
	) -> io::Result<()> {
		self.stop_process().await?;
		between(&self.datadir)?;
		let exe = tokio::task::spawn_blocking(bitcoind_exe).await.map_err(io::Error::other)??;
		let config = BitcoindConfig {
			datadir: self.datadir.clone(),
			rpc_port: self.rpc_port,
			p2p_port: self.p2p_port,
			rpc_user: self.rpc_user.clone(),
			rpc_password: self.rpc_password.clone(),
		};
		match Self::start_once(&exe, &config, self.rpc_port, self.p2p_port).await {
			Ok(started) => {
				// The old value's process has exited; dropping it does nothing more.
				*self = started;
				Ok(())
			}
			Err(StartError::PortInUse(e)) | Err(StartError::Fatal(e)) => Err(e),
		}
	}

	async fn stop_process(&mut self) -> io::Result<()> {
		if let Some(status) = self.child.try_wait()? {
			return exited_cleanly(status);
		}
		// An error here usually means it is already shutting down; the wait below decides.
		// Bounded because a wedged bitcoind may never answer, and then it gets killed anyway.
		let stop_result = tokio::time::timeout(PROBE_TIMEOUT, self.client.rpc("stop", &[]))
			.await
			.unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "no answer")));
		let deadline = Instant::now() + STOP_TIMEOUT;
		while Instant::now() < deadline {
			if let Some(status) = self.child.try_wait()? {
				return exited_cleanly(status);
			}
			tokio::time::sleep(PROBE_INTERVAL).await;
		}
		self.child.kill()?;
		self.child.wait()?;
		let why = match stop_result {
			Ok(_) => String::new(),
			Err(e) => format!(" (stop RPC failed: {e})"),
		};
		Err(io::Error::new(
			io::ErrorKind::TimedOut,
			format!(
				"bitcoind did not exit within {}s of `stop`{why}; killed it",
				STOP_TIMEOUT.as_secs()
			),
		))
	}
}

/// A crash is worth reporting even when the caller only wanted the process gone.
fn exited_cleanly(status: ExitStatus) -> io::Result<()> {
	if status.success() {
		Ok(())
	} else {
		Err(io::Error::other(format!("bitcoind exited with {status}")))
	}
}

impl Drop for Bitcoind {
	fn drop(&mut self) {
		// Synchronous kill + wait, so the datadir lock is released by the time drop returns
		// and a test can restart on the same datadir straight away.
		if let Ok(None) = self.child.try_wait() {
			let _ = self.child.kill();
			let _ = self.child.wait();
		}
	}
}

fn bitcoind_args(config: &BitcoindConfig, rpc_port: u16, p2p_port: u16) -> Vec<String> {
	vec![
		"-regtest".to_string(),
		format!("-datadir={}", config.datadir.display()),
		"-server=1".to_string(),
		format!("-rpcuser={}", config.rpc_user),
		format!("-rpcpassword={}", config.rpc_password),
		format!("-rpcport={rpc_port}"),
		format!("-rpcbind={LOCALHOST}"),
		format!("-rpcallowip={LOCALHOST}"),
		// Several nodes poll one bitcoind at once in end-to-end tests.
		"-rpcthreads=16".to_string(),
		"-rpcworkqueue=256".to_string(),
		format!("-port={p2p_port}"),
		// An explicit -bind keeps P2P off public interfaces and stops the default extra
		// onion-target listener on port+1, which could clash with another test's ports.
		format!("-bind={LOCALHOST}:{p2p_port}"),
		"-listenonion=0".to_string(),
		"-discover=0".to_string(),
		"-dnsseed=0".to_string(),
		"-fixedseeds=0".to_string(),
		// Chain backends look up arbitrary transactions (getrawtransaction).
		"-txindex=1".to_string(),
		"-printtoconsole=0".to_string(),
		"-debug=0".to_string(),
	]
}

/// Hex of `bytes` unpredictable bytes. `RandomState` is keyed from the OS's randomness, which
/// is plenty for a password guarding a local regtest node, without a `rand` dependency.
fn random_hex(bytes: usize) -> String {
	let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
	let mut out = String::with_capacity(bytes * 2);
	let mut counter = 0u64;
	while out.len() < bytes * 2 {
		let word = RandomState::new().hash_one((nanos, std::process::id(), counter));
		for byte in word.to_le_bytes() {
			if out.len() < bytes * 2 {
				out.push_str(&format!("{byte:02x}"));
			}
		}
		counter += 1;
	}
	out
}

#[cfg(test)]
mod tests;
