//! The JSON-RPC connection to bitcoind, set up in one place for the node, the tower and the
//! binary: where bitcoind listens ([`RpcAddress`]: `host:port`, optionally `http://` and a
//! path), how to log in ([`RpcAuth`]: user and password, or bitcoind's cookie file), the
//! client itself ([`connect`], lightning-block-sync's [`RpcClient`]), and the check that
//! bitcoind follows the chain it is configured for ([`check_network`]).
//!
//! A cookie is read when the connection is set up; bitcoind writes a new one each time it
//! starts, so a process that outlives a bitcoind restart must set up its connection again.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use bitcoin::Network;
use lightning_block_sync::http::HttpEndpoint;
use lightning_block_sync::rpc::RpcClient;

/// Where bitcoind's JSON-RPC server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcAddress {
	host: String,
	port: u16,
	path: String,
}

impl RpcAddress {
	/// Reads `host:port`, `http://host:port` or either with a path (`/wallet/x`); an IPv6
	/// host is written in brackets (`[::1]:8332`). bitcoind has no TLS, so `https://` is
	/// refused.
	pub fn parse(address: &str) -> io::Result<RpcAddress> {
		let bad = |why: &str| {
			io::Error::new(
				io::ErrorKind::InvalidInput,
				format!("bitcoind RPC address {address:?} is not host:port: {why}"),
			)
		};
		if address.starts_with("https://") {
			return Err(bad("bitcoind RPC has no TLS; use http://"));
		}
		let rest = address.strip_prefix("http://").unwrap_or(address);
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
		Ok(RpcAddress { host: host.to_string(), port, path: path.to_string() })
	}

	/// The host (an IPv6 address without brackets).
	pub fn host(&self) -> &str {
		&self.host
	}

	/// The port.
	pub fn port(&self) -> u16 {
		self.port
	}

	/// The path, `/` unless one was given.
	pub fn path(&self) -> &str {
		&self.path
	}

	/// As a URL, `http://host:port/path`, for clients that take one.
	pub fn url(&self) -> String {
		match self.host.contains(':') {
			true => format!("http://[{}]:{}{}", self.host, self.port, self.path),
			false => format!("http://{}:{}{}", self.host, self.port, self.path),
		}
	}

	/// As lightning-block-sync's endpoint.
	pub fn endpoint(&self) -> HttpEndpoint {
		HttpEndpoint::for_host(self.host.clone()).with_port(self.port).with_path(self.path.clone())
	}
}

/// How to log in to bitcoind's RPC.
#[derive(Clone, PartialEq, Eq)]
pub enum RpcAuth {
	/// `-rpcuser`/`-rpcpassword` (or `-rpcauth`) credentials.
	UserPassword {
		/// The user.
		user: String,
		/// The password.
		password: String,
	},
	/// The cookie file bitcoind writes at start when it has no password configured.
	Cookie(PathBuf),
}

impl fmt::Debug for RpcAuth {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		// Never the password: configurations get printed.
		match self {
			RpcAuth::UserPassword { user, .. } => write!(f, "UserPassword({user:?}, ***)"),
			RpcAuth::Cookie(path) => write!(f, "Cookie({})", path.display()),
		}
	}
}

impl RpcAuth {
	/// The user and password to send (read from the cookie file now, for [`RpcAuth::Cookie`]).
	pub fn credentials(&self) -> io::Result<(String, String)> {
		match self {
			RpcAuth::UserPassword { user, password } => Ok((user.clone(), password.clone())),
			RpcAuth::Cookie(path) => read_cookie(path),
		}
	}
}

/// The `user:password` in bitcoind's cookie file.
pub fn read_cookie(path: &Path) -> io::Result<(String, String)> {
	let cookie = std::fs::read_to_string(path)
		.map_err(|e| io::Error::new(e.kind(), format!("reading {}: {e}", path.display())))?;
	let (user, password) = cookie.trim().split_once(':').ok_or_else(|| {
		io::Error::new(
			io::ErrorKind::InvalidData,
			format!("{} is not a `user:password` cookie", path.display()),
		)
	})?;
	Ok((user.to_string(), password.to_string()))
}

/// A JSON-RPC client for bitcoind at `address` (see [`RpcAddress::parse`]) logging in as
/// `user`. Nothing is sent until the first call.
pub fn rpc_client(address: &str, user: &str, password: &str) -> io::Result<RpcClient> {
	let endpoint = RpcAddress::parse(address)?.endpoint();
	Ok(RpcClient::new(&basic_auth(user, password), endpoint))
}

/// A JSON-RPC client for bitcoind at `address` with `auth` (a cookie is read now).
pub fn connect(address: &str, auth: &RpcAuth) -> io::Result<RpcClient> {
	let (user, password) = auth.credentials()?;
	rpc_client(address, &user, &password)
}

/// `user:password` in standard base64, as `RpcClient` expects its credentials.
fn basic_auth(user: &str, password: &str) -> String {
	use bitcoin::base64::Engine;
	bitcoin::base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// The name bitcoind's `getblockchaininfo` gives `network`'s chain.
pub fn chain_name(network: Network) -> &'static str {
	match network {
		Network::Bitcoin => "main",
		Network::Testnet => "test",
		Network::Testnet4 => "testnet4",
		Network::Signet => "signet",
		Network::Regtest => "regtest",
	}
}

/// Why [`check_network`] refused a bitcoind.
#[derive(Debug)]
pub enum NetworkCheckError {
	/// bitcoind did not answer `getblockchaininfo` (down, wrong port, wrong credentials).
	NoAnswer(io::Error),
	/// bitcoind follows another chain than the one configured.
	WrongChain {
		/// The chain bitcoind is on, as it names it.
		chain: String,
		/// The chain configured, as bitcoind names it.
		expected: &'static str,
		/// Who is configured for `expected` (`"node"`, `"tower"`).
		configured: &'static str,
	},
}

impl fmt::Display for NetworkCheckError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			NetworkCheckError::NoAnswer(e) => write!(f, "bitcoind does not answer: {e}"),
			NetworkCheckError::WrongChain { chain, expected, configured } => {
				write!(f, "bitcoind is on {chain}, the {configured} is configured for {expected}")
			}
		}
	}
}

impl std::error::Error for NetworkCheckError {}

/// Checks that bitcoind answers and is on `network`, which the `configured` part of fulgur
/// (`"node"`, `"tower"`) is set up for.
pub async fn check_network(
	rpc: &RpcClient, network: Network, configured: &'static str,
) -> Result<(), NetworkCheckError> {
	let info: serde_json::Value =
		rpc.call_method("getblockchaininfo", &[]).await.map_err(NetworkCheckError::NoAnswer)?;
	let chain = info["chain"].as_str().unwrap_or_default();
	let expected = chain_name(network);
	if chain != expected {
		return Err(NetworkCheckError::WrongChain {
			chain: chain.to_string(),
			expected,
			configured,
		});
	}
	Ok(())
}

#[cfg(test)]
mod tests;
