//! A small W3C WebDriver client for the dashboard tests: starts `chromedriver` (Debian's
//! `chromium-driver`) on a free port, opens a headless Chromium session and speaks the few
//! endpoints the tests need (navigate, find by CSS, type, click, read text, run a script,
//! take a screenshot) as JSON over HTTP with hyper.
//!
//! The browser is provisioned like bitcoind: whatever of Chromium, ChromeDriver and the
//! Liberation fonts is missing is installed first (as root with apt-get, one install at a time
//! across the tests of all processes), or the start fails with one line naming the command.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hyper::client::HttpConnector;
use hyper::header::CONTENT_TYPE;
use hyper::{Body, Client, Method, Request};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

/// How long one WebDriver command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long chromedriver may take to come up.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often an action on an element the page replaced meanwhile is tried again.
const STALE_RETRIES: usize = 5;
/// Where Debian's `fonts-liberation` puts the fonts the pages are rendered with.
const LIBERATION_FONTS: &str = "/usr/share/fonts/truetype/liberation";
/// Why the browser packages are installed, in the install line.
const WHY_BROWSER: &str = "needed by the dashboard's browser tests";
/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A failed WebDriver step.
#[derive(Debug, Clone)]
pub struct WebDriverError(pub String);

impl fmt::Display for WebDriverError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str(&self.0)
	}
}

impl std::error::Error for WebDriverError {}

type Result<T> = std::result::Result<T, WebDriverError>;

fn error(message: impl Into<String>) -> WebDriverError {
	WebDriverError(message.into())
}

/// The first of `candidates` that exists, or the first name found on `PATH`.
fn find_program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
	if let Some(path) = std::env::var_os(env).map(PathBuf::from).filter(|p| p.is_file()) {
		return Some(path);
	}
	let path_dirs: Vec<PathBuf> =
		std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
	candidates.iter().find_map(|candidate| {
		let direct = Path::new(candidate);
		if direct.is_absolute() {
			return direct.is_file().then(|| direct.to_path_buf());
		}
		path_dirs.iter().map(|dir| dir.join(candidate)).find(|p| p.is_file())
	})
}

fn find_driver() -> Option<PathBuf> {
	find_program("CHROMEDRIVER", &["/usr/bin/chromedriver", "chromedriver"])
}

fn find_chrome() -> Option<PathBuf> {
	find_program(
		"CHROME_BIN",
		&["/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"],
	)
}

/// The Debian packages of what the browser tests need and this machine lacks.
fn missing_browser_packages() -> Vec<&'static str> {
	let mut missing = Vec::new();
	if find_chrome().is_none() {
		missing.push("chromium");
	}
	if find_driver().is_none() {
		missing.push("chromium-driver");
	}
	if !Path::new(LIBERATION_FONTS).is_dir() {
		missing.push("fonts-liberation");
	}
	missing
}

/// The chromedriver and Chromium binaries (`$CHROMEDRIVER`, `$CHROME_BIN`, then the Debian
/// paths, then `PATH`), or an error saying what to install.
pub fn find_browser() -> Result<(PathBuf, PathBuf)> {
	match (find_driver(), find_chrome()) {
		(Some(driver), Some(chrome)) => Ok((driver, chrome)),
		(driver, chrome) => Err(error(format!(
			"the dashboard tests need headless Chromium: install the Debian packages `chromium` \
			 and `chromium-driver` (`apt-get install -y --no-install-recommends chromium \
			 chromium-driver fonts-liberation`). chromedriver: {}, chromium: {}",
			driver.map_or("not found".into(), |p| p.display().to_string()),
			chrome.map_or("not found".into(), |p| p.display().to_string()),
		))),
	}
}

/// Like [`find_browser`], first installing what is missing (see [`fulgur::packages`]): tests
/// of one process wait for each other here, and processes on the install script's lock.
/// Blocks while apt runs.
pub fn provide_browser() -> Result<(PathBuf, PathBuf)> {
	static INSTALLING: Mutex<()> = Mutex::new(());
	let _one_at_a_time = INSTALLING.lock().unwrap_or_else(PoisonError::into_inner);
	let missing = missing_browser_packages();
	fulgur::packages::install_packages("fulgur-tests", WHY_BROWSER, &missing).map_err(error)?;
	find_browser()
}

/// A running chromedriver; killed when stopped or dropped.
pub struct ChromeDriver {
	child: Child,
	url: String,
	chrome: PathBuf,
	client: Client<HttpConnector>,
}

impl ChromeDriver {
	/// Starts chromedriver on a free local port and waits until it is ready; installs the
	/// browser first when it is missing ([`provide_browser`]).
	pub async fn start() -> Result<ChromeDriver> {
		let (driver, chrome) = tokio::task::spawn_blocking(provide_browser)
			.await
			.map_err(|e| error(format!("browser set-up: {e}")))??;
		let port = fulgur::bitcoind::free_port().map_err(|e| error(format!("free port: {e}")))?;
		let child = Command::new(&driver)
			.arg(format!("--port={port}"))
			.stdin(Stdio::null())
			.stdout(Stdio::null())
			.stderr(Stdio::null())
			// Its own process group, which the browsers it starts join: killing the group
			// leaves no browser behind, even when a test panics before closing its session.
			.process_group(0)
			.kill_on_drop(true)
			.spawn()
			.map_err(|e| error(format!("cannot start {}: {e}", driver.display())))?;
		let mut this = ChromeDriver {
			child,
			url: format!("http://127.0.0.1:{port}"),
			chrome,
			client: Client::new(),
		};
		let started = Instant::now();
		loop {
			if let Ok(status) =
				call(&this.client, Method::GET, &format!("{}/status", this.url), None).await
			{
				if status["ready"] == json!(true) {
					return Ok(this);
				}
			}
			if let Ok(Some(exit)) = this.child.try_wait() {
				return Err(error(format!("chromedriver exited at start: {exit}")));
			}
			if started.elapsed() > STARTUP_TIMEOUT {
				this.stop().await;
				return Err(error("chromedriver did not become ready"));
			}
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
	}

	/// Opens a headless Chromium window of 1280x900.
	pub async fn new_session(&self) -> Result<Session> {
		let capabilities = json!({
			"capabilities": {"alwaysMatch": {
				"browserName": "chrome",
				"goog:loggingPrefs": {"browser": "ALL"},
				"goog:chromeOptions": {
					"binary": self.chrome.display().to_string(),
					"args": [
						"--headless=new", "--no-sandbox", "--disable-gpu",
						"--window-size=1280,900", "--disable-dev-shm-usage",
						"--no-first-run", "--no-default-browser-check",
					],
				},
			}}
		});
		let answer =
			call(&self.client, Method::POST, &format!("{}/session", self.url), Some(capabilities))
				.await?;
		let id = answer["sessionId"]
			.as_str()
			.ok_or_else(|| error(format!("no session id in {answer}")))?;
		Ok(Session { client: self.client.clone(), url: format!("{}/session/{id}", self.url) })
	}

	/// Kills chromedriver and the browsers it started.
	pub async fn stop(mut self) {
		self.kill_group();
		let _ = self.child.kill().await;
	}

	fn kill_group(&self) {
		if let Some(pid) = self.child.id() {
			// `kill -KILL -<pgid>`: the whole group (std has no call for process groups).
			let _ = std::process::Command::new("kill")
				.args(["-KILL", "--", &format!("-{pid}")])
				.stderr(Stdio::null())
				.status();
		}
	}
}

impl Drop for ChromeDriver {
	fn drop(&mut self) {
		self.kill_group();
	}
}

/// One browser session.
pub struct Session {
	client: Client<HttpConnector>,
	url: String,
}

/// An element of the page, with the selector it was found by: a page that re-renders
/// replaces its elements, and the element is then found again.
pub struct Element<'a> {
	session: &'a Session,
	id: String,
	css: String,
}

impl Session {
	async fn command(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
		call(&self.client, method, &format!("{}{path}", self.url), body).await
	}

	/// Loads `url`.
	pub async fn goto(&self, url: &str) -> Result<()> {
		self.command(Method::POST, "/url", Some(json!({ "url": url }))).await.map(|_| ())
	}

	/// The first element matching the CSS selector.
	pub async fn find(&self, css: &str) -> Result<Element<'_>> {
		let body = json!({"using": "css selector", "value": css});
		let answer = self.command(Method::POST, "/element", Some(body)).await?;
		let id = answer[ELEMENT_KEY]
			.as_str()
			.ok_or_else(|| error(format!("no element reference for {css:?}: {answer}")))?;
		Ok(Element { session: self, id: id.to_string(), css: css.to_string() })
	}

	/// Waits until an element matches the selector and is displayed.
	pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element<'_>> {
		let script = "const e = document.querySelector(arguments[0]); \
			return !!e && e.getClientRects().length > 0;";
		self.wait_until(&format!("{css} visible"), script, vec![json!(css)], timeout).await?;
		self.find(css).await
	}

	/// Runs `script` (a function body; `arguments` holds `args`) and returns its result.
	pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
		let body = json!({"script": script, "args": args});
		self.command(Method::POST, "/execute/sync", Some(body)).await
	}

	/// Runs `script` until it returns something other than `null`, `false` or an empty
	/// string (an element's text before the page filled it in); returns that.
	pub async fn wait_until(
		&self, what: &str, script: &str, args: Vec<Value>, timeout: Duration,
	) -> Result<Value> {
		let started = Instant::now();
		loop {
			let last = match self.execute(script, args.clone()).await {
				Ok(value) if !not_yet(&value) => return Ok(value),
				Ok(value) => value,
				Err(e) => Value::String(e.0),
			};
			if started.elapsed() > timeout {
				return Err(error(format!(
					"timed out after {timeout:?} waiting for {what}: {last}"
				)));
			}
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
	}

	/// A PNG of the window.
	pub async fn screenshot(&self) -> Result<Vec<u8>> {
		let answer = self.command(Method::GET, "/screenshot", None).await?;
		let encoded = answer.as_str().ok_or_else(|| error("screenshot is not a string"))?;
		decode_base64(encoded).ok_or_else(|| error("screenshot is not base64"))
	}

	/// The browser console since the last call (JavaScript errors, CSP violations, failed
	/// loads), as `LEVEL message` lines; chromedriver's log endpoint.
	pub async fn console(&self) -> Result<Vec<String>> {
		let answer =
			self.command(Method::POST, "/se/log", Some(json!({"type": "browser"}))).await?;
		let entries = answer.as_array().ok_or_else(|| error(format!("log: {answer}")))?;
		Ok(entries
			.iter()
			.map(|e| {
				let level = e["level"].as_str().unwrap_or("?");
				format!("{level} {}", e["message"].as_str().unwrap_or_default())
			})
			.collect())
	}

	/// Makes the browser fail every request to a URL matching one of `patterns` (`*` is a
	/// wildcard), through chromedriver's DevTools passthrough: how a test takes an endpoint
	/// away from the page without changing the node.
	pub async fn block_urls(&self, patterns: &[&str]) -> Result<()> {
		let enable = json!({"cmd": "Network.enable", "params": {}});
		self.command(Method::POST, "/goog/cdp/execute", Some(enable)).await?;
		let block = json!({"cmd": "Network.setBlockedURLs", "params": {"urls": patterns}});
		self.command(Method::POST, "/goog/cdp/execute", Some(block)).await.map(|_| ())
	}

	/// Closes the browser.
	pub async fn quit(self) -> Result<()> {
		self.command(Method::DELETE, "", None).await.map(|_| ())
	}
}

impl Element<'_> {
	/// Runs `action` on the element. When the page replaced it meanwhile (WebDriver's "stale
	/// element reference", which happens before the action is done), the selector is looked up
	/// again and the action retried, a few times.
	async fn act(&self, method: Method, action: &str, body: Option<Value>) -> Result<Value> {
		let mut id = self.id.clone();
		let mut attempt = 0;
		loop {
			let path = format!("/element/{id}/{action}");
			match self.session.command(method.clone(), &path, body.clone()).await {
				Err(e) if e.0.contains("stale element reference") && attempt < STALE_RETRIES => {
					attempt += 1;
					id = self.session.find(&self.css).await?.id;
				}
				answer => return answer,
			}
		}
	}

	/// Types `text` into the element.
	pub async fn send_keys(&self, text: &str) -> Result<()> {
		self.act(Method::POST, "value", Some(json!({ "text": text }))).await.map(|_| ())
	}

	/// Clicks the element.
	pub async fn click(&self) -> Result<()> {
		self.act(Method::POST, "click", Some(json!({}))).await.map(|_| ())
	}

	/// Its rendered text.
	pub async fn text(&self) -> Result<String> {
		let answer = self.act(Method::GET, "text", None).await?;
		answer.as_str().map(str::to_owned).ok_or_else(|| error(format!("text: {answer}")))
	}
}

/// One WebDriver request; answers the `value` of a success, the error and message otherwise.
async fn call(
	client: &Client<HttpConnector>, method: Method, url: &str, body: Option<Value>,
) -> Result<Value> {
	let request = Request::builder()
		.method(method.clone())
		.uri(url)
		.header(CONTENT_TYPE, "application/json; charset=utf-8")
		.body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
		.map_err(|e| error(format!("bad request {url}: {e}")))?;
	let exchange = async {
		let response = client.request(request).await.map_err(|e| error(format!("{url}: {e}")))?;
		let status = response.status();
		let bytes = hyper::body::to_bytes(response.into_body())
			.await
			.map_err(|e| error(format!("{url}: {e}")))?;
		Ok::<_, WebDriverError>((status, bytes))
	};
	let (status, bytes) = tokio::time::timeout(COMMAND_TIMEOUT, exchange)
		.await
		.map_err(|_| error(format!("{method} {url}: no answer within {COMMAND_TIMEOUT:?}")))??;
	let answer: Value = serde_json::from_slice(&bytes).map_err(|e| {
		error(format!("{method} {url}: not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
	})?;
	let value = answer.get("value").cloned().unwrap_or(Value::Null);
	if !status.is_success() {
		return Err(error(format!(
			"{method} {url}: {status} {}: {}",
			value["error"].as_str().unwrap_or("error"),
			value["message"].as_str().unwrap_or_default()
		)));
	}
	Ok(value)
}

/// Standard base64 (with or without padding); `None` on any other character.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
	let mut out = Vec::with_capacity(text.len() * 3 / 4);
	let mut buffer = 0u32;
	let mut bits = 0;
	for byte in text.bytes().filter(|b| !b.is_ascii_whitespace()) {
		let value = match byte {
			b'A'..=b'Z' => byte - b'A',
			b'a'..=b'z' => byte - b'a' + 26,
			b'0'..=b'9' => byte - b'0' + 52,
			b'+' => 62,
			b'/' => 63,
			b'=' => break,
			_ => return None,
		};
		buffer = (buffer << 6) | u32::from(value);
		bits += 6;
		if bits >= 8 {
			bits -= 8;
			out.push((buffer >> bits) as u8);
			buffer &= (1 << bits) - 1;
		}
	}
	Some(out)
}

/// A script result that means "not there yet" to [`Session::wait_until`].
fn not_yet(value: &Value) -> bool {
	match value {
		Value::Null | Value::Bool(false) => true,
		Value::String(text) => text.trim().is_empty(),
		_ => false,
	}
}

#[cfg(test)]
mod tests {
	use super::{decode_base64, not_yet};
	use serde_json::json;

	#[test]
	fn decodes_base64() {
		assert_eq!(decode_base64("").unwrap(), b"");
		assert_eq!(decode_base64("Zg==").unwrap(), b"f");
		assert_eq!(decode_base64("Zm8=").unwrap(), b"fo");
		assert_eq!(decode_base64("Zm9v").unwrap(), b"foo");
		assert_eq!(decode_base64("iVBORw0KGgo=").unwrap(), b"\x89PNG\r\n\x1a\n");
		assert_eq!(decode_base64("/+8=").unwrap(), [0xff, 0xef]);
		assert!(decode_base64("Zm9v!").is_none());
	}

	#[test]
	fn an_empty_text_is_not_yet_an_answer() {
		assert!(not_yet(&json!(null)) && not_yet(&json!(false)) && not_yet(&json!(" ")));
		assert!(!not_yet(&json!("This key is not valid")) && !not_yet(&json!(true)));
	}
}
