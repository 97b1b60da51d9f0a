//! A real regtest `bitcoind`, started and driven over JSON-RPC.
//!
//! End-to-end tests start one per test (own datadir, free ports, many in parallel) and
//! `fulgur regtest up` starts a long-lived one that is later restarted from the same datadir.
//! All RPC goes through `lightning-block-sync`'s [`RpcClient`], the same client the node uses
//! for chain data, so tests exercise the production code path.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::hash::BuildHasher;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bitcoin::address::KnownHrp;
use bitcoin::consensus::encode::serialize_hex;
use bitcoin::opcodes::OP_TRUE;
use bitcoin::{Address, BlockHash, ScriptBuf, Transaction, Txid};
use lightning_block_sync::http::HttpEndpoint;
use lightning_block_sync::rpc::RpcClient;
use serde_json::{json, Value};

/// The provisioning script, embedded so the binary works from any working directory.
const PROVISION_SCRIPT: &str = include_str!("../scripts/bitcoind.sh");

/// Every RPC and P2P socket is bound here so parallel tests never expose anything.
const LOCALHOST: &str = "127.0.0.1";

/// Loading a large regtest chain after a restart can take a while on a busy 2-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a single readiness probe may take: something that is not bitcoind could be
/// squatting on the port and never answer, and the client's own response timeout is minutes.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

const PROBE_INTERVAL: Duration = Duration::from_millis(50);

const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// `generatetoaddress` holds the RPC connection until every block is mined, so large counts
/// are split to stay well inside the HTTP client's timeouts.
const MINE_CHUNK: u64 = 100;

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
/// `PATH`, the cache, else a ~7 minute build into the cache). Its stderr is inherited so build
/// progress is visible. The answer is cached for the life of the process; failures are not,
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
		.arg(PROVISION_SCRIPT)
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

/// Picks a free TCP port on 127.0.0.1 by binding port 0 and releasing it.
///
/// Never returns the same port twice within a process, so parallel tests cannot be handed the
/// same port before either of them binds it. Another process may still grab it; [`Bitcoind::start`]
/// retries with fresh ports when that happens.
pub fn free_port() -> io::Result<u16> {
	static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
	let mut guard = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
	let handed_out = guard.get_or_insert_with(HashSet::new);
	let mut port = 0;
	// Bounded so a process that has used up the ephemeral range still gets an answer.
	for _ in 0..64 {
		port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port();
		if handed_out.insert(port) {
			break;
		}
	}
	Ok(port)
}

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
		exe: &Path,
		config: &BitcoindConfig,
		rpc_port: u16,
		p2p_port: u16,
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

/// A JSON-RPC client for an already running bitcoind, e.g. the one in `network.json`.
pub struct BitcoindRpc {
	client: RpcClient,
}

impl BitcoindRpc {
	/// A client for `rpc_url` (`http://HOST:PORT[/path]`; the scheme may be omitted).
	///
	/// Nothing is sent until the first call.
	pub fn new(rpc_url: &str, user: &str, password: &str) -> io::Result<Self> {
		let endpoint = parse_rpc_url(rpc_url)?;
		let credentials = base64(format!("{user}:{password}").as_bytes());
		Ok(Self { client: RpcClient::new(&credentials, endpoint) })
	}

	/// Calls a JSON-RPC method and returns its `result`.
	///
	/// A JSON-RPC error keeps bitcoind's code and message in the error text, e.g.
	/// `bitcoind RPC getblockhash failed: RPC error -8: Block height out of range`.
	pub async fn rpc(&self, method: &str, params: &[Value]) -> io::Result<Value> {
		self.client
			.call_method::<Value>(method, params)
			.await
			.map_err(|e| io::Error::new(e.kind(), format!("bitcoind RPC {method} failed: {e}")))
	}

	/// The current chain height.
	pub async fn block_count(&self) -> io::Result<u64> {
		let count = self.rpc("getblockcount", &[]).await?;
		count.as_u64().ok_or_else(|| invalid_data("getblockcount", &count))
	}

	/// Mines `blocks` blocks paying `address` with `generatetoaddress` (no wallet needed) and
	/// returns their hashes in chain order.
	pub async fn mine(&self, blocks: u64, address: &Address) -> io::Result<Vec<BlockHash>> {
		let address = address.to_string();
		let mut hashes = Vec::with_capacity(usize::try_from(blocks).unwrap_or(0));
		let mut left = blocks;
		while left > 0 {
			let chunk = left.min(MINE_CHUNK);
			let result = self.rpc("generatetoaddress", &[json!(chunk), json!(address)]).await?;
			let mined =
				result.as_array().ok_or_else(|| invalid_data("generatetoaddress", &result))?;
			for hash in mined {
				let hash = hash
					.as_str()
					.and_then(|hash| BlockHash::from_str(hash).ok())
					.ok_or_else(|| invalid_data("generatetoaddress", hash))?;
				hashes.push(hash);
			}
			left -= chunk;
		}
		Ok(hashes)
	}

	/// Mines `blocks` blocks to [`anyone_can_spend_address`], for callers that only need the
	/// chain to advance.
	pub async fn mine_empty(&self, blocks: u64) -> io::Result<Vec<BlockHash>> {
		self.mine(blocks, &anyone_can_spend_address()).await
	}

	/// Broadcasts a transaction with `sendrawtransaction`.
	pub async fn send_raw_transaction(&self, tx: &Transaction) -> io::Result<Txid> {
		let result = self.rpc("sendrawtransaction", &[json!(serialize_hex(tx))]).await?;
		result
			.as_str()
			.and_then(|txid| Txid::from_str(txid).ok())
			.ok_or_else(|| invalid_data("sendrawtransaction", &result))
	}

	/// Marks a block invalid, disconnecting it and its descendants (for reorg tests).
	pub async fn invalidate_block(&self, hash: &BlockHash) -> io::Result<()> {
		self.rpc("invalidateblock", &[json!(hash.to_string())]).await.map(drop)
	}

	/// Undoes [`BitcoindRpc::invalidate_block`], letting the chain reconnect that block.
	pub async fn reconsider_block(&self, hash: &BlockHash) -> io::Result<()> {
		self.rpc("reconsiderblock", &[json!(hash.to_string())]).await.map(drop)
	}
}

/// The regtest P2WSH address of the script `OP_TRUE`: anyone can spend its coins with the
/// witness `[OP_TRUE]`, which makes mined-away coinbases reusable by tests that need funds.
pub fn anyone_can_spend_address() -> Address {
	Address::p2wsh(&anyone_can_spend_script(), KnownHrp::Regtest)
}

/// The witness script behind [`anyone_can_spend_address`].
pub fn anyone_can_spend_script() -> ScriptBuf {
	ScriptBuf::from_bytes(vec![OP_TRUE.to_u8()])
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

/// Where one start attempt's output goes, and where in each file that attempt began: a
/// restarted datadir already holds older runs' logs, which would only mislead.
struct StartupLogs {
	console_path: PathBuf,
	console_offset: u64,
	debug_log_path: PathBuf,
	debug_log_offset: u64,
}

impl StartupLogs {
	/// Classifies an early exit: port clashes can be retried, a held datadir lock gets its own
	/// error kind, anything else is reported with the logs.
	fn exit_error(&self, status: ExitStatus) -> StartError {
		let console = read_from(&self.console_path, self.console_offset);
		let debug_log = read_from(&self.debug_log_path, self.debug_log_offset);
		let all = format!("{console}\n{debug_log}");
		let kind = if all.contains("Cannot obtain a lock") {
			io::ErrorKind::ResourceBusy
		} else if all.contains("Unable to bind") || all.contains("Unable to start HTTP server") {
			io::ErrorKind::AddrInUse
		} else {
			io::ErrorKind::Other
		};
		let error = io::Error::new(
			kind,
			format!("bitcoind exited during startup ({status}){}", excerpt(&console, &debug_log)),
		);
		if kind == io::ErrorKind::AddrInUse {
			StartError::PortInUse(error)
		} else {
			StartError::Fatal(error)
		}
	}

	fn excerpt(&self) -> String {
		excerpt(
			&read_from(&self.console_path, self.console_offset),
			&read_from(&self.debug_log_path, self.debug_log_offset),
		)
	}
}

/// The console output, then debug.log's warnings and errors (the cause is usually there, long
/// before the shutdown chatter that ends the file) and its last lines.
fn excerpt(console: &str, debug_log: &str) -> String {
	let last = |lines: Vec<&str>| {
		let skip = lines.len().saturating_sub(LOG_TAIL_LINES);
		lines.into_iter().skip(skip).collect::<Vec<_>>().join("\n")
	};
	let or_empty = |text: String| if text.trim().is_empty() { "(empty)".to_string() } else { text };
	let problems = debug_log
		.lines()
		.filter(|line| line.contains("[error]") || line.contains("[warning]"))
		.collect();
	format!(
		"\n--- console ---\n{}\n--- regtest/debug.log: warnings and errors ---\n{}\n--- \
		 regtest/debug.log: last lines ---\n{}",
		or_empty(last(console.lines().collect())),
		or_empty(last(problems)),
		or_empty(last(debug_log.lines().collect())),
	)
}

fn file_len(path: &Path) -> u64 {
	std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// What was written to `path` after `offset` (at most the last MiB), or why it can't be read.
fn read_from(path: &Path, offset: u64) -> String {
	const MAX: u64 = 1 << 20;
	let read = || -> io::Result<String> {
		let mut file = match File::open(path) {
			Ok(file) => file,
			Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(String::new()),
			Err(e) => return Err(e),
		};
		let len = file.metadata()?.len();
		// The file may have been shrunk at startup (-shrinkdebugfile); then all of it is new.
		let offset = if len < offset { 0 } else { offset };
		file.seek(SeekFrom::Start(offset.max(len.saturating_sub(MAX))))?;
		let mut bytes = Vec::new();
		file.read_to_end(&mut bytes)?;
		Ok(String::from_utf8_lossy(&bytes).into_owned())
	};
	read().unwrap_or_else(|e| format!("(unreadable: {e})"))
}

fn parse_rpc_url(url: &str) -> io::Result<HttpEndpoint> {
	let bad = |why: &str| {
		io::Error::new(io::ErrorKind::InvalidInput, format!("bad bitcoind RPC URL {url:?}: {why}"))
	};
	if url.starts_with("https://") {
		return Err(bad("bitcoind RPC has no TLS; use http://"));
	}
	let rest = url.strip_prefix("http://").unwrap_or(url);
	let (authority, path) = match rest.find('/') {
		Some(slash) => rest.split_at(slash),
		None => (rest, "/"),
	};
	let (host, port) = authority.rsplit_once(':').ok_or_else(|| bad("missing port"))?;
	let port = port.parse::<u16>().map_err(|_| bad("invalid port"))?;
	let host = host.trim_start_matches('[').trim_end_matches(']');
	if host.is_empty() {
		return Err(bad("missing host"));
	}
	Ok(HttpEndpoint::for_host(host.to_string()).with_port(port).with_path(path.to_string()))
}

/// Standard base64 with padding, for the HTTP basic-auth header `RpcClient` expects; small
/// enough not to be worth a dependency.
fn base64(input: &[u8]) -> String {
	const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
	for chunk in input.chunks(3) {
		let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
		let triple = (byte(0) << 16) | (byte(1) << 8) | byte(2);
		for i in 0..4 {
			if i <= chunk.len() {
				out.push(char::from(ALPHABET[((triple >> (18 - 6 * i)) & 63) as usize]));
			} else {
				out.push('=');
			}
		}
	}
	out
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

fn invalid_data(method: &str, value: &Value) -> io::Error {
	io::Error::new(io::ErrorKind::InvalidData, format!("unexpected {method} result: {value}"))
}

#[cfg(test)]
mod tests {
	use super::*;
	use bitcoin::absolute::LockTime;
	use bitcoin::transaction::Version;
	use bitcoin::{Amount, OutPoint, Sequence, TxIn, TxOut, Witness};

	/// Generous: up to a handful of bitcoinds start at once on 2 cores.
	const TEST_TIMEOUT: Duration = Duration::from_secs(120);

	async fn start(datadir: &Path) -> Bitcoind {
		let started = Instant::now();
		let bitcoind = Bitcoind::start(BitcoindConfig::new(datadir)).await.unwrap();
		eprintln!("bitcoind started in {:?} ({})", started.elapsed(), datadir.display());
		bitcoind
	}

	async fn timed<F: std::future::Future>(f: F) -> F::Output {
		tokio::time::timeout(TEST_TIMEOUT, f).await.expect("test timed out")
	}

	#[test]
	fn base64_matches_rfc4648() {
		assert_eq!(base64(b""), "");
		assert_eq!(base64(b"f"), "Zg==");
		assert_eq!(base64(b"fo"), "Zm8=");
		assert_eq!(base64(b"foo"), "Zm9v");
		assert_eq!(base64(b"foob"), "Zm9vYg==");
		assert_eq!(base64(b"user:password"), "dXNlcjpwYXNzd29yZA==");
	}

	#[test]
	fn rpc_urls_parse() {
		let e = parse_rpc_url("http://127.0.0.1:18443").unwrap();
		assert_eq!((e.host(), e.port(), e.path()), ("127.0.0.1", 18443, "/"));
		let e = parse_rpc_url("localhost:1/wallet/x").unwrap();
		assert_eq!((e.host(), e.port(), e.path()), ("localhost", 1, "/wallet/x"));
		let e = parse_rpc_url("http://[::1]:8332").unwrap();
		assert_eq!((e.host(), e.port()), ("::1", 8332));
		assert!(parse_rpc_url("http://127.0.0.1").is_err());
		assert!(parse_rpc_url("https://127.0.0.1:1").is_err());
		assert!(parse_rpc_url("http://:1").is_err());
	}

	#[test]
	fn passwords_and_ports_are_fresh() {
		let (a, b) = (random_hex(16), random_hex(16));
		assert_eq!(a.len(), 32);
		assert_ne!(a, b);
		let ports: HashSet<u16> = (0..50).map(|_| free_port().unwrap()).collect();
		assert_eq!(ports.len(), 50);
		assert!(anyone_can_spend_address().to_string().starts_with("bcrt1q"));
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn mine_stop_and_restart_keeps_the_chain() {
		timed(async {
			let dir = tempfile::tempdir().unwrap();
			let bitcoind = start(dir.path()).await;
			assert_eq!(bitcoind.block_count().await.unwrap(), 0);
			assert_eq!(bitcoind.rpc_url(), format!("http://127.0.0.1:{}", bitcoind.rpc_port()));

			let started = Instant::now();
			let hashes = bitcoind.mine(101, &anyone_can_spend_address()).await.unwrap();
			eprintln!("mined 101 blocks in {:?}", started.elapsed());
			assert_eq!(hashes.len(), 101);
			assert_eq!(bitcoind.block_count().await.unwrap(), 101);
			let tip = bitcoind.rpc("getbestblockhash", &[]).await.unwrap();
			assert_eq!(tip.as_str().unwrap(), hashes[100].to_string());

			let (rpc_port, p2p_port) = (bitcoind.rpc_port(), bitcoind.p2p_port());
			let started = Instant::now();
			bitcoind.stop().await.unwrap();
			eprintln!("bitcoind stopped in {:?}", started.elapsed());

			// `fulgur regtest up` restarts with the ports and password it saved, straight away.
			let mut config = BitcoindConfig::new(dir.path());
			config.rpc_port = rpc_port;
			config.p2p_port = p2p_port;
			config.rpc_password = "saved".to_string();
			let started = Instant::now();
			let bitcoind = Bitcoind::start(config).await.unwrap();
			eprintln!("bitcoind restarted in {:?}", started.elapsed());
			assert_eq!((bitcoind.rpc_port(), bitcoind.p2p_port()), (rpc_port, p2p_port));
			assert_eq!(bitcoind.block_count().await.unwrap(), 101);
			let tip = bitcoind.rpc("getbestblockhash", &[]).await.unwrap();
			assert_eq!(tip.as_str().unwrap(), hashes[100].to_string());
			bitcoind.stop().await.unwrap();
		})
		.await
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn two_instances_run_side_by_side() {
		timed(async {
			let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
			let (a, b) = tokio::join!(start(dir_a.path()), start(dir_b.path()));
			let ports = HashSet::from([a.rpc_port(), a.p2p_port(), b.rpc_port(), b.p2p_port()]);
			assert_eq!(ports.len(), 4);
			a.mine_empty(5).await.unwrap();
			b.mine_empty(3).await.unwrap();
			assert_eq!(a.block_count().await.unwrap(), 5);
			assert_eq!(b.block_count().await.unwrap(), 3);

			// The standalone client reaches the same process through the public URL.
			let client = BitcoindRpc::new(&b.rpc_url(), b.rpc_user(), b.rpc_password()).unwrap();
			client.mine_empty(2).await.unwrap();
			assert_eq!(client.block_count().await.unwrap(), 5);
			assert_eq!(b.block_count().await.unwrap(), 5);

			let wrong = BitcoindRpc::new(&b.rpc_url(), b.rpc_user(), "wrong").unwrap();
			assert!(wrong.block_count().await.is_err());

			let (stop_a, stop_b) = tokio::join!(a.stop(), b.stop());
			stop_a.unwrap();
			stop_b.unwrap();
		})
		.await
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn invalidate_block_lowers_the_height() {
		timed(async {
			let dir = tempfile::tempdir().unwrap();
			let bitcoind = start(dir.path()).await;
			let hashes = bitcoind.mine_empty(10).await.unwrap();
			bitcoind.invalidate_block(&hashes[5]).await.unwrap();
			assert_eq!(bitcoind.block_count().await.unwrap(), 5);
			bitcoind.reconsider_block(&hashes[5]).await.unwrap();
			assert_eq!(bitcoind.block_count().await.unwrap(), 10);
			// Dropping without stop() must kill the process rather than leak it.
			let pid = bitcoind.child.id();
			drop(bitcoind);
			assert!(!Path::new(&format!("/proc/{pid}")).exists());
		})
		.await
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn second_start_on_a_running_datadir_fails_fast() {
		timed(async {
			let dir = tempfile::tempdir().unwrap();
			let first = start(dir.path()).await;
			let started = Instant::now();
			let err = match Bitcoind::start(BitcoindConfig::new(dir.path())).await {
				Ok(_) => panic!("second bitcoind on the same datadir started"),
				Err(e) => e,
			};
			eprintln!("second start failed after {:?}: {err}", started.elapsed());
			assert_eq!(err.kind(), io::ErrorKind::ResourceBusy);
			assert!(err.to_string().contains("Cannot obtain a lock"), "{err}");
			assert!(started.elapsed() < Duration::from_secs(20));
			// The first instance is unharmed.
			first.mine_empty(1).await.unwrap();
			assert_eq!(first.block_count().await.unwrap(), 1);
			first.stop().await.unwrap();
		})
		.await
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn taken_explicit_ports_fail_with_addr_in_use() {
		timed(async {
			let held = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
			let taken = held.local_addr().unwrap().port();
			for rpc in [true, false] {
				let dir = tempfile::tempdir().unwrap();
				let mut config = BitcoindConfig::new(dir.path());
				config.rpc_port = if rpc { taken } else { free_port().unwrap() };
				config.p2p_port = if rpc { free_port().unwrap() } else { taken };
				let started = Instant::now();
				let err = match Bitcoind::start(config).await {
					Ok(_) => panic!("bitcoind started on a taken port"),
					Err(e) => e,
				};
				eprintln!("taken port (rpc: {rpc}) failed after {:?}: {err}", started.elapsed());
				assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
			}
		})
		.await
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn rpc_errors_carry_bitcoinds_message_and_broadcast_works() {
		timed(async {
			let dir = tempfile::tempdir().unwrap();
			let bitcoind = start(dir.path()).await;

			let err = bitcoind.rpc("getblockhash", &[json!(1000)]).await.unwrap_err();
			assert!(err.to_string().contains("Block height out of range"), "{err}");
			let err = bitcoind.rpc("nosuchmethod", &[]).await.unwrap_err();
			assert!(err.to_string().contains("Method not found"), "{err}");

			// Spend the first coinbase, mature after 100 more blocks, with the OP_TRUE witness.
			let hashes = bitcoind.mine_empty(101).await.unwrap();
			let block = bitcoind.rpc("getblock", &[json!(hashes[0].to_string()), json!(1)]).await;
			let coinbase = Txid::from_str(block.unwrap()["tx"][0].as_str().unwrap()).unwrap();
			let tx = Transaction {
				version: Version::TWO,
				lock_time: LockTime::ZERO,
				input: vec![TxIn {
					previous_output: OutPoint::new(coinbase, 0),
					script_sig: ScriptBuf::new(),
					sequence: Sequence::MAX,
					witness: Witness::from_slice(&[anyone_can_spend_script().into_bytes()]),
				}],
				output: vec![TxOut {
					value: Amount::from_btc(49.999).unwrap(),
					script_pubkey: anyone_can_spend_address().script_pubkey(),
				}],
			};
			let txid = bitcoind.send_raw_transaction(&tx).await.unwrap();
			assert_eq!(txid, tx.compute_txid());
			bitcoind.mine_empty(1).await.unwrap();
			// -txindex lets getrawtransaction find it without a block hash.
			let found =
				bitcoind.rpc("getrawtransaction", &[json!(txid.to_string()), json!(1)]).await;
			assert_eq!(found.unwrap()["confirmations"].as_u64(), Some(1));
			bitcoind.stop().await.unwrap();
		})
		.await
	}
}
