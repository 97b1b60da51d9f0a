//! How to reach bitcoind, as flags: one set for `fulgur node` and `fulgur tower` alike, with
//! one `FULGUR_BITCOIND_*` variable each for both commands (see [`crate::config`]), log-in by
//! user and password or by bitcoind's cookie file.

use std::path::PathBuf;

use clap::Args;
use fulgur_base::bitcoind::RpcAuth;

/// The bitcoind RPC flags, flattened into each command that follows a bitcoind.
#[derive(Args, Clone, Debug)]
pub struct BitcoindRpcArgs {
	/// bitcoind RPC host:port
	#[arg(long, default_value = "127.0.0.1:18443")]
	pub bitcoind_rpc: String,
	/// bitcoind RPC user
	#[arg(long, default_value = "fulgur")]
	pub bitcoind_rpc_user: String,
	/// bitcoind RPC password
	#[arg(long, default_value = "")]
	pub bitcoind_rpc_password: String,
	/// bitcoind's `.cookie` file, instead of user and password
	#[arg(long, value_name = "FILE")]
	pub bitcoind_rpc_cookie: Option<PathBuf>,
}

impl BitcoindRpcArgs {
	/// How to log in: the cookie file if one is given, else user and password.
	pub fn auth(&self) -> RpcAuth {
		match &self.bitcoind_rpc_cookie {
			Some(path) => RpcAuth::Cookie(path.clone()),
			None => RpcAuth::UserPassword {
				user: self.bitcoind_rpc_user.clone(),
				password: self.bitcoind_rpc_password.clone(),
			},
		}
	}

	/// The user and password to log in with (a cookie file is read now).
	pub fn credentials(&self) -> Result<(String, String), String> {
		self.auth().credentials().map_err(|e| e.to_string())
	}
}
