//! `DIR/network.json`: how scripts reach the regtest network, and how `up` finds it again.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NetworkFile {
	/// bitcoind's RPC.
	pub bitcoind: NetworkRpc,
	/// The nodes.
	pub nodes: Vec<NetworkNode>,
}

/// bitcoind's RPC credentials.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NetworkRpc {
	/// `http://127.0.0.1:PORT`.
	pub rpc_url: String,
	/// RPC user.
	pub rpc_user: String,
	/// RPC password.
	pub rpc_password: String,
	/// bitcoind's P2P port, kept for restarts.
	#[serde(default)]
	pub p2p_port: Option<u16>,
}

/// One node.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NetworkNode {
	/// `alice`, `bob`, ...
	pub name: String,
	/// Node id, hex.
	pub node_id: String,
	/// `127.0.0.1:PORT` for peers.
	pub p2p_addr: String,
	/// `http://127.0.0.1:PORT`.
	pub api_url: String,
	/// Bearer key for the API.
	pub api_key: String,
	/// `http://127.0.0.1:PORT` of its Phoenixd-compatible API.
	#[serde(default)]
	pub phoenixd_url: String,
	/// That API's full password (HTTP Basic, empty user).
	#[serde(default)]
	pub phoenixd_password: String,
	/// That API's limited password (read and create invoices).
	#[serde(default)]
	pub phoenixd_limited_password: String,
	/// How LND REST clients reach the node (LNbits' `LndRestWallet`, BTCPay's `lnd-rest`).
	#[serde(flatten, default, skip_serializing_if = "Option::is_none")]
	pub lnd: Option<LndRestEntry>,
}

/// A node's LND REST surface, as its clients are configured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LndRestEntry {
	/// `https://127.0.0.1:PORT`.
	pub lnd_rest_url: String,
	/// The self-signed certificate to trust (`DATA_DIR/lnd/tls.cert`).
	pub lnd_tls_cert_path: String,
	/// The admin macaroon, hex (the `Grpc-Metadata-macaroon` header).
	pub lnd_admin_macaroon_hex: String,
	/// The invoice macaroon, hex.
	pub lnd_invoice_macaroon_hex: String,
}

impl LndRestEntry {
	/// The entry of a running surface.
	pub fn of(lnd: &fulgur_compat::lnd_rest::LndRest) -> LndRestEntry {
		use fulgur_node::ApiScope;
		LndRestEntry {
			lnd_rest_url: lnd.url(),
			lnd_tls_cert_path: lnd.tls_cert_path().display().to_string(),
			lnd_admin_macaroon_hex: lnd.macaroon_hex(ApiScope::Admin),
			lnd_invoice_macaroon_hex: lnd.macaroon_hex(ApiScope::Invoice),
		}
	}
}

impl NetworkFile {
	/// Reads `dir/network.json`; `None` when there is no network there yet.
	pub fn read(dir: &Path) -> Result<Option<NetworkFile>, String> {
		let path = dir.join("network.json");
		match std::fs::read(&path) {
			Ok(bytes) => serde_json::from_slice(&bytes)
				.map(Some)
				.map_err(|e| format!("{} is corrupt: {e}", path.display())),
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
			Err(e) => Err(format!("reading {}: {e}", path.display())),
		}
	}

	/// Writes `dir/network.json` (owner-only: it holds API keys).
	pub fn write(&self, dir: &Path) -> Result<(), String> {
		use std::io::Write;
		use std::os::unix::fs::OpenOptionsExt;
		let path = dir.join("network.json");
		let tmp = dir.join("network.json.tmp");
		let json = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
		let mut file = std::fs::OpenOptions::new()
			.write(true)
			.create(true)
			.truncate(true)
			.mode(0o600)
			.open(&tmp)
			.map_err(|e| format!("writing {}: {e}", tmp.display()))?;
		file.write_all(&json).map_err(|e| e.to_string())?;
		std::fs::rename(&tmp, &path).map_err(|e| format!("writing {}: {e}", path.display()))
	}
}

impl NetworkRpc {
	/// The RPC port from the URL.
	pub fn rpc_port(&self) -> Result<u16, String> {
		port_of(&self.rpc_url)
	}
}

impl NetworkNode {
	/// The LND REST port it had (0 when none: pick one).
	pub fn lnd_rest_port(&self) -> u16 {
		self.lnd.as_ref().and_then(|l| port_of(&l.lnd_rest_url).ok()).unwrap_or(0)
	}

	/// (p2p port, API port).
	pub fn ports(&self) -> Result<(u16, u16), String> {
		Ok((port_of(&self.p2p_addr)?, port_of(&self.api_url)?))
	}
}

fn port_of(addr: &str) -> Result<u16, String> {
	addr.trim_end_matches('/')
		.rsplit_once(':')
		.and_then(|(_, port)| port.parse().ok())
		.ok_or_else(|| format!("no port in {addr:?}"))
}
