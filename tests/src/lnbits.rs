//! The real LNbits, from PyPI, for the tests of fulgur's compatibility surfaces: a venv of a
//! pinned LNbits made once per machine and reused, an LNbits process on a free port with its
//! funding source given by environment, and a small client of LNbits' own HTTP API.
//!
//! Invariants: the venv in the cache is used only once its install finished (a marker file
//! written last, under a machine-wide lock); the LNbits process dies with its [`Lnbits`]
//! handle; nothing here fakes LNbits.
//!
//! What the tests must install is installed like the browser is (see [`crate::webdriver`]):
//! `python3-venv`/`python3-pip` as root with apt-get when Python cannot make a venv.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use hyper::client::HttpConnector;
use hyper::header::CONTENT_TYPE;
use hyper::{Body, Client, Method, Request};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

/// The LNbits release the tests run, from PyPI.
pub const LNBITS_VERSION: &str = "1.6.2";
/// Installed next to LNbits: its `bolt11` dependency imports `ConstBitStream`, which
/// `bitstring` 5 removed, and LNbits' own requirements do not bound it.
const BITSTRING_REQUIREMENT: &str = "bitstring<5";
/// The file written into the venv once everything is installed.
const INSTALLED_MARKER: &str = "fulgur-installed";
/// Why the Python packages are installed, in the install line.
const WHY_PYTHON: &str = "needed to run LNbits in the merchant-software tests";
/// How long LNbits may take to answer after it was started (it migrates its database and
/// tries to fetch extension manifests, which fails offline after a while).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(180);
/// How long one request to LNbits may take (paying waits for the payment).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// `~/.cache/fulgur/lnbits-<version>`: the venv, kept between runs.
pub fn venv_dir() -> PathBuf {
	let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
	home.join(".cache").join("fulgur").join(format!("lnbits-{LNBITS_VERSION}"))
}

fn python_can_make_venvs() -> bool {
	let works = |args: &[&str]| {
		std::process::Command::new("python3")
			.args(args)
			.stdin(Stdio::null())
			.stdout(Stdio::null())
			.stderr(Stdio::null())
			.status()
			.is_ok_and(|s| s.success())
	};
	works(&["-c", "import venv, ensurepip"]) && works(&["-m", "pip", "--version"])
}

fn run(what: &str, command: &mut std::process::Command) -> Result<(), String> {
	let status = command
		.stdin(Stdio::null())
		.stdout(Stdio::inherit())
		.stderr(Stdio::inherit())
		.status()
		.map_err(|e| format!("lnbits: cannot {what}: {e}"))?;
	if status.success() {
		Ok(())
	} else {
		Err(format!("lnbits: {what} failed ({status})"))
	}
}

/// The venv with the pinned LNbits, made first when missing: Python's `venv` and `pip`
/// installed with apt-get when absent, then `pip install`. Tests of one process wait for each
/// other here and processes on a lock file next to the venv. Blocks while it installs.
pub fn provide_venv() -> Result<PathBuf, String> {
	static INSTALLING: Mutex<()> = Mutex::new(());
	let _one_in_this_process = INSTALLING.lock().unwrap_or_else(PoisonError::into_inner);
	let venv = venv_dir();
	if venv.join(INSTALLED_MARKER).is_file() {
		return Ok(venv);
	}
	let parent = venv.parent().ok_or("lnbits: the venv has no parent directory")?;
	std::fs::create_dir_all(parent).map_err(|e| format!("lnbits: {}: {e}", parent.display()))?;
	let lock_path = parent.join(format!("lnbits-{LNBITS_VERSION}.lock"));
	let lock = OpenOptions::new()
		.create(true)
		.truncate(false)
		.write(true)
		.open(&lock_path)
		.map_err(|e| format!("lnbits: {}: {e}", lock_path.display()))?;
	File::lock(&lock).map_err(|e| format!("lnbits: lock {}: {e}", lock_path.display()))?;
	// Another process may have finished the install while this one waited.
	if venv.join(INSTALLED_MARKER).is_file() {
		return Ok(venv);
	}
	if !python_can_make_venvs() {
		fulgur::packages::install_packages(
			"fulgur-tests",
			WHY_PYTHON,
			&["python3", "python3-venv", "python3-pip"],
		)?;
	}
	// A venv without the marker is what an interrupted install left: start it again.
	if venv.exists() {
		std::fs::remove_dir_all(&venv).map_err(|e| format!("lnbits: {}: {e}", venv.display()))?;
	}
	eprintln!("lnbits: installing LNbits {LNBITS_VERSION} from PyPI into {}", venv.display());
	run("create the venv", std::process::Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
	run(
		"pip install LNbits",
		std::process::Command::new(venv.join("bin").join("python"))
			.args(["-m", "pip", "install", "--quiet"])
			.arg(format!("lnbits=={LNBITS_VERSION}"))
			.arg(BITSTRING_REQUIREMENT),
	)?;
	std::fs::write(venv.join(INSTALLED_MARKER), LNBITS_VERSION)
		.map_err(|e| format!("lnbits: marker: {e}"))?;
	Ok(venv)
}

/// The directory LNbits is installed in (its `static/` is served relative to the working
/// directory, so LNbits runs from there).
fn site_packages(venv: &Path) -> Result<PathBuf, String> {
	let lib = venv.join("lib");
	let entries = std::fs::read_dir(&lib).map_err(|e| format!("lnbits: {}: {e}", lib.display()))?;
	entries
		.flatten()
		.map(|entry| entry.path().join("site-packages"))
		.find(|dir| dir.join("lnbits").is_dir())
		.ok_or_else(|| format!("lnbits: no site-packages with lnbits under {}", lib.display()))
}

/// A running LNbits, killed when dropped.
pub struct Lnbits {
	child: Child,
	base_url: String,
	client: Client<HttpConnector>,
	log_path: PathBuf,
}

/// A wallet of LNbits, with its keys.
#[derive(Clone, Debug)]
pub struct LnbitsWallet {
	/// Its id.
	pub id: String,
	/// The key that may pay.
	pub admin_key: String,
	/// The key that may only create and read invoices.
	pub invoice_key: String,
}

/// A payment as LNbits reports it (`GET /api/v1/payments/{hash}`).
#[derive(Clone, Debug)]
pub struct LnbitsPayment {
	/// LNbits says it is paid.
	pub paid: bool,
	/// Its status (`success`, `pending`, `failed`), when LNbits says it.
	pub status: Option<String>,
	/// The amount in msat (negative for an outgoing payment, as LNbits keeps it).
	pub amount_msat: i64,
	/// The fee in msat (LNbits keeps it negative or zero for outgoing payments).
	pub fee_msat: i64,
	/// The preimage, once paid.
	pub preimage: Option<String>,
	/// The whole answer.
	pub raw: Value,
}

impl Lnbits {
	/// Installs LNbits when needed and starts it on a free port with `funding` as its
	/// environment (`LNBITS_BACKEND_WALLET_CLASS` and that class's settings, e.g.
	/// `PHOENIXD_API_ENDPOINT`), its data in `data_dir`, its log in `data_dir/lnbits.log`;
	/// returns once LNbits answers and reports its funding source without error.
	pub async fn start(
		data_dir: &Path, funding: &BTreeMap<String, String>,
	) -> Result<Lnbits, String> {
		let venv = tokio::task::spawn_blocking(provide_venv)
			.await
			.map_err(|e| format!("lnbits: install task: {e}"))??;
		let site = site_packages(&venv)?;
		std::fs::create_dir_all(data_dir).map_err(|e| format!("lnbits: {e}"))?;
		let port = fulgur::bitcoind::free_port().map_err(|e| format!("lnbits: port: {e}"))?;
		let log_path = data_dir.join("lnbits.log");
		let log = File::create(&log_path).map_err(|e| format!("lnbits: log: {e}"))?;
		let log_err = log.try_clone().map_err(|e| format!("lnbits: log: {e}"))?;
		let lnbits_data = data_dir.join("data");
		for dir in ["logs", "extensions"] {
			std::fs::create_dir_all(lnbits_data.join(dir)).map_err(|e| format!("lnbits: {e}"))?;
		}
		// uvicorn directly rather than LNbits' launcher, which runs the server in a child
		// process that killing the launcher would leave behind.
		let child = Command::new(venv.join("bin").join("python"))
			.args(["-m", "uvicorn", "lnbits.__main__:app", "--host", "127.0.0.1", "--port"])
			.arg(port.to_string())
			.current_dir(&site)
			.env("HOST", "127.0.0.1")
			.env("PORT", port.to_string())
			.env("LNBITS_DATA_FOLDER", &lnbits_data)
			.env("LNBITS_EXTENSIONS_PATH", &lnbits_data)
			// Settings from the environment, not from an admin UI's database.
			.env("LNBITS_ADMIN_UI", "false")
			.env("LNBITS_EXTENSIONS_MANIFESTS", "[]")
			.env("LNBITS_WASM_EXTENSIONS_MANIFESTS", "[]")
			.env("LNBITS_EXTENSIONS_DEFAULT_INSTALL", "[]")
			.envs(funding)
			.stdin(Stdio::null())
			.stdout(log)
			.stderr(log_err)
			.kill_on_drop(true)
			.spawn()
			.map_err(|e| format!("lnbits: start: {e}"))?;
		let lnbits = Lnbits {
			child,
			base_url: format!("http://127.0.0.1:{port}"),
			client: Client::new(),
			log_path,
		};
		lnbits.wait_until_up().await?;
		Ok(lnbits)
	}

	async fn wait_until_up(&self) -> Result<(), String> {
		let started = tokio::time::Instant::now();
		loop {
			if let Ok((200, _)) = self.request(Method::GET, "/api/v1/health", None, None).await {
				return Ok(());
			}
			if started.elapsed() > STARTUP_TIMEOUT {
				return Err(format!(
					"lnbits: not answering after {STARTUP_TIMEOUT:?}\n{}",
					self.log_tail()
				));
			}
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
	}

	/// LNbits' whole log so far.
	pub fn log(&self) -> String {
		std::fs::read_to_string(&self.log_path).unwrap_or_default()
	}

	/// The last lines of LNbits' log, for a failure message.
	pub fn log_tail(&self) -> String {
		let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
		let lines: Vec<&str> = log.lines().collect();
		lines[lines.len().saturating_sub(40)..].join("\n")
	}

	/// `http://127.0.0.1:PORT`.
	pub fn url(&self) -> &str {
		&self.base_url
	}

	/// One request to LNbits' API: its status and JSON body (`Null` when it is not JSON).
	pub async fn request(
		&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>,
	) -> Result<(u16, Value), String> {
		let mut builder = Request::builder().method(method).uri(format!("{}{path}", self.base_url));
		if let Some(key) = key {
			builder = builder.header("X-Api-Key", key);
		}
		let request = match body {
			Some(body) => {
				builder.header(CONTENT_TYPE, "application/json").body(Body::from(body.to_string()))
			}
			None => builder.body(Body::empty()),
		}
		.map_err(|e| format!("lnbits: request {path}: {e}"))?;
		let exchange = async {
			let response = self.client.request(request).await.map_err(|e| e.to_string())?;
			let status = response.status().as_u16();
			let bytes =
				hyper::body::to_bytes(response.into_body()).await.map_err(|e| e.to_string())?;
			Ok::<_, String>((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
		};
		tokio::time::timeout(REQUEST_TIMEOUT, exchange)
			.await
			.map_err(|_| format!("lnbits: {path}: no answer within {REQUEST_TIMEOUT:?}"))?
			.map_err(|e| format!("lnbits: {path}: {e}"))
	}

	async fn expect_ok(
		&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>,
	) -> Result<Value, String> {
		let (status, value) = self.request(method, path, key, body).await?;
		if (200..300).contains(&status) {
			Ok(value)
		} else {
			Err(format!("lnbits: {path} answered {status}: {value}"))
		}
	}

	/// LNbits' view of its funding source (`GET /api/v1/status` with an admin key of the
	/// LNbits admin is needed for the balance; any wallet sees the version).
	pub async fn status(&self, key: &str) -> Result<Value, String> {
		self.expect_ok(Method::GET, "/api/v1/status", Some(key), None).await
	}

	/// Creates a user with one wallet (`POST /api/v1/account`, open to anyone while LNbits
	/// allows new accounts, its default).
	pub async fn create_wallet(&self, name: &str) -> Result<LnbitsWallet, String> {
		let wallet = self
			.expect_ok(Method::POST, "/api/v1/account", None, Some(json!({"name": name})))
			.await?;
		let field = |key: &str| {
			wallet[key]
				.as_str()
				.map(str::to_string)
				.ok_or_else(|| format!("lnbits: no {key} in {wallet}"))
		};
		Ok(LnbitsWallet {
			id: field("id")?,
			admin_key: field("adminkey")?,
			invoice_key: field("inkey")?,
		})
	}

	/// The wallet's balance in msat (`GET /api/v1/wallet`).
	pub async fn balance_msat(&self, wallet: &LnbitsWallet) -> Result<i64, String> {
		let info =
			self.expect_ok(Method::GET, "/api/v1/wallet", Some(&wallet.invoice_key), None).await?;
		info["balance"].as_i64().ok_or_else(|| format!("lnbits: no balance in {info}"))
	}

	/// Creates an invoice of `amount_sat` in the wallet; returns (payment hash, BOLT11).
	pub async fn create_invoice(
		&self, wallet: &LnbitsWallet, amount_sat: u64, memo: &str,
	) -> Result<(String, String), String> {
		let body = json!({"out": false, "amount": amount_sat, "unit": "sat", "memo": memo});
		let created = self
			.expect_ok(Method::POST, "/api/v1/payments", Some(&wallet.invoice_key), Some(body))
			.await?;
		let hash = created["payment_hash"].as_str();
		let bolt11 = created["bolt11"].as_str().or(created["payment_request"].as_str());
		match (hash, bolt11) {
			(Some(hash), Some(bolt11)) => Ok((hash.to_string(), bolt11.to_string())),
			_ => Err(format!("lnbits: no payment_hash or bolt11 in {created}")),
		}
	}

	/// Pays `bolt11` from the wallet; returns LNbits' payment record.
	pub async fn pay_invoice(&self, wallet: &LnbitsWallet, bolt11: &str) -> Result<Value, String> {
		let body = json!({"out": true, "bolt11": bolt11});
		self.expect_ok(Method::POST, "/api/v1/payments", Some(&wallet.admin_key), Some(body)).await
	}

	/// The payment `payment_hash` of the wallet as LNbits reports it.
	pub async fn payment(
		&self, wallet: &LnbitsWallet, payment_hash: &str,
	) -> Result<LnbitsPayment, String> {
		let path = format!("/api/v1/payments/{payment_hash}");
		let raw = self.expect_ok(Method::GET, &path, Some(&wallet.invoice_key), None).await?;
		let details = &raw["details"];
		Ok(LnbitsPayment {
			paid: raw["paid"].as_bool().unwrap_or(false),
			status: details["status"].as_str().or(raw["status"].as_str()).map(str::to_string),
			amount_msat: details["amount"].as_i64().unwrap_or(0),
			fee_msat: details["fee"].as_i64().unwrap_or(0),
			preimage: raw["preimage"].as_str().map(str::to_string),
			raw,
		})
	}

	/// Whether LNbits' process is still running.
	pub fn is_running(&mut self) -> bool {
		matches!(self.child.try_wait(), Ok(None))
	}
}

impl Drop for Lnbits {
	fn drop(&mut self) {
		// kill_on_drop covers the process; start_kill makes it happen now rather than when
		// tokio's reaper runs.
		let _ = self.child.start_kill();
	}
}
