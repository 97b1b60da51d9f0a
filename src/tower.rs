//! `fulgur tower`: a standalone watchtower (The Eye of Satoshi's HTTP API) on its own port and
//! data directory, following a bitcoind over RPC.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use bitcoin::Network;
use clap::Args;
use fulgur_watchtower::server::options::{
	DEFAULT_FLUSH_PACE, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_APPOINTMENTS_PER_LOCATOR,
	DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_SLOTS_PER_USER, DEFAULT_MAX_TOTAL_SLOTS,
	DEFAULT_MAX_USERS, DEFAULT_REGISTRATIONS_PER_HOUR, DEFAULT_SLOTS, DEFAULT_SUBSCRIPTION_BLOCKS,
};
use fulgur_watchtower::server::{
	ConnectionLimits, Limits, RegistrationCaps, SubscriptionConfig, Tower, TowerConfig,
	TowerOptions,
};

use crate::bitcoind::BitcoindRpcArgs;

/// teos's default API port.
pub const DEFAULT_TOWER_PORT: u16 = 9814;

/// The tower's options, layered by [`crate::config`] (variables `FULGUR_TOWER_*`, but
/// `FULGUR_NETWORK` and `FULGUR_BITCOIND_*` as for the node).
#[derive(Args, Clone, Debug)]
pub struct TowerArgs {
	/// Data directory (the tower's database and key)
	#[arg(long, value_name = "DIR")]
	pub data_dir: Option<PathBuf>,
	/// Configuration file (default DATA_DIR/fulgur.conf)
	#[arg(id = "config", long = "config", value_name = "FILE")]
	pub config_file: Option<PathBuf>,
	/// HTTP port of the tower API
	#[arg(long, default_value_t = DEFAULT_TOWER_PORT)]
	pub port: u16,
	/// Address to listen on (keep it on loopback unless behind a proxy)
	#[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
	pub host: IpAddr,
	/// bitcoin, testnet, testnet4, signet or regtest
	#[arg(long, default_value = "regtest")]
	pub network: Network,
	/// How to reach bitcoind
	#[command(flatten)]
	pub bitcoind: BitcoindRpcArgs,
	/// How often to ask bitcoind for new blocks, milliseconds
	#[arg(long, default_value_t = 1000)]
	pub poll_ms: u64,
	/// Appointment slots per registration (a renewal adds them again, up to --max-slots-per-user)
	#[arg(long, default_value_t = DEFAULT_SLOTS)]
	pub slots: u32,
	/// Blocks a subscription lasts
	#[arg(long, default_value_t = DEFAULT_SUBSCRIPTION_BLOCKS)]
	pub subscription_blocks: u32,
	/// Most users at once (registration is free: new users beyond it are refused, known ones
	/// still renew)
	#[arg(long, default_value_t = DEFAULT_MAX_USERS)]
	pub max_users: usize,
	/// Most slots one user holds, free and used (renewals top up to it and never fail)
	#[arg(long, default_value_t = DEFAULT_MAX_SLOTS_PER_USER)]
	pub max_slots_per_user: u32,
	/// Most slots all users hold together, free and used (a slot stores up to 2 KiB)
	#[arg(long, default_value_t = DEFAULT_MAX_TOTAL_SLOTS)]
	pub max_total_slots: u64,
	/// Registrations per source address (IPv4, or IPv6 /64) per hour; 0 for no limit
	#[arg(long, default_value_t = DEFAULT_REGISTRATIONS_PER_HOUR)]
	pub registrations_per_hour: u32,
	/// Most appointments (of different users) for one locator
	#[arg(long, default_value_t = DEFAULT_MAX_APPOINTMENTS_PER_LOCATOR)]
	pub max_appointments_per_locator: usize,
	/// Most HTTP connections open at once (clients keep theirs alive; more wait to be accepted)
	#[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS)]
	pub max_connections: usize,
	/// Seconds a connection may stay without a request before the tower closes it
	#[arg(long, default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs())]
	pub idle_timeout_secs: u64,
	/// Milliseconds at least between two flushes of the database under load (an idle tower
	/// flushes at once; 0 flushes whenever an appointment waits)
	#[arg(long, default_value_t = DEFAULT_FLUSH_PACE.as_millis() as u64)]
	pub flush_pace_ms: u64,
}

/// The default data directory, `~/.fulgur/tower`.
pub fn default_data_dir() -> PathBuf {
	let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
	home.join(".fulgur").join("tower")
}

impl TowerArgs {
	/// The tower configuration these flags describe (reads the cookie file if given).
	pub fn config(&self) -> Result<TowerConfig, String> {
		let (user, password) = self.bitcoind.credentials()?;
		let options = TowerOptions {
			subscription: SubscriptionConfig {
				slots: self.slots,
				duration: self.subscription_blocks,
				..SubscriptionConfig::default()
			},
			caps: RegistrationCaps {
				max_users: self.max_users,
				max_slots_per_user: self.max_slots_per_user,
				max_total_slots: self.max_total_slots,
				registrations_per_hour: self.registrations_per_hour,
			},
			limits: Limits {
				max_appointments_per_locator: self.max_appointments_per_locator,
				..Limits::default()
			},
			connections: ConnectionLimits {
				max_connections: self.max_connections.max(1),
				idle_timeout: Duration::from_secs(self.idle_timeout_secs.max(1)),
				..ConnectionLimits::default()
			},
			flush_pace: Duration::from_millis(self.flush_pace_ms),
			..TowerOptions::default()
		};
		Ok(TowerConfig {
			data_dir: self.data_dir.clone().unwrap_or_else(default_data_dir),
			bind: SocketAddr::new(self.host, self.port),
			network: self.network,
			bitcoind_rpc: self.bitcoind.bitcoind_rpc.clone(),
			rpc_user: user,
			rpc_password: password,
			poll_interval: Duration::from_millis(self.poll_ms.max(10)),
			options,
		})
	}
}

/// Runs the tower until Ctrl-C or SIGTERM.
pub async fn run(args: TowerArgs) -> Result<(), String> {
	let config = args.config()?;
	let data_dir = config.data_dir.clone();
	// The tower's files are its own, as the node's are.
	fulgur_node::private_files::restrict_new_files();
	fulgur_node::private_files::private_dir(&data_dir)
		.and_then(|()| fulgur_node::private_files::privatize_tree(&data_dir))
		.map_err(|e| format!("making {} private: {e}", data_dir.display()))?;
	let tower = Tower::start(config).await.map_err(|e| e.to_string())?;
	println!("fulgur tower {}", tower.tower_id());
	println!("  api:   http://{}", tower.local_addr());
	println!("  data:  {}", data_dir.display());
	crate::daemon::shutdown_signal().await;
	eprintln!("shutting down");
	tower.shutdown().await;
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;
	use clap::Parser;

	#[derive(Parser)]
	struct Cli {
		#[command(flatten)]
		args: TowerArgs,
	}

	#[test]
	fn flags_and_cookie() {
		let cli = Cli::try_parse_from(["tower", "--port", "9999", "--data-dir", "/tmp/t"]).unwrap();
		let config = cli.args.config().unwrap();
		assert_eq!(config.bind, "127.0.0.1:9999".parse().unwrap());
		assert_eq!(config.data_dir, PathBuf::from("/tmp/t"));
		assert_eq!(config.options.subscription.slots, 10_000);
		assert_eq!(config.options.caps, RegistrationCaps::default());
		assert_eq!(config.options.limits, Limits::default());
		assert_eq!(config.options.connections, ConnectionLimits::default());
		let flags = [
			"tower",
			"--max-users",
			"5",
			"--max-slots-per-user",
			"6",
			"--max-total-slots",
			"7",
			"--registrations-per-hour",
			"0",
			"--max-appointments-per-locator",
			"2",
			"--max-connections",
			"9",
			"--idle-timeout-secs",
			"4",
		];
		let config = Cli::try_parse_from(flags).unwrap().args.config().unwrap();
		let caps = config.options.caps;
		assert_eq!((caps.max_users, caps.max_slots_per_user, caps.max_total_slots), (5, 6, 7));
		assert_eq!(caps.registrations_per_hour, 0);
		assert_eq!(config.options.limits.max_appointments_per_locator, 2);
		let connections = config.options.connections;
		assert_eq!(connections.max_connections, 9);
		assert_eq!(connections.idle_timeout, Duration::from_secs(4));

		let dir = tempfile::tempdir().unwrap();
		let cookie = dir.path().join(".cookie");
		std::fs::write(&cookie, "__cookie__:secret\n").unwrap();
		let cookie_flag = cookie.to_str().unwrap();
		let cli = Cli::try_parse_from(["tower", "--bitcoind-rpc-cookie", cookie_flag]).unwrap();
		let config = cli.args.config().unwrap();
		assert_eq!(
			(config.rpc_user.as_str(), config.rpc_password.as_str()),
			("__cookie__", "secret")
		);
		std::fs::write(&cookie, "no colon").unwrap();
		assert!(cli.args.config().is_err());
	}
}
