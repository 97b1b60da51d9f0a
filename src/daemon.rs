//! `fulgur node`: the daemon. Its options are layered by [`crate::config`]: flags, then the
//! environment (`FULGUR_*`), then `DATA_DIR/fulgur.conf` (or `--config`), then the defaults
//! declared here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bitcoin::Network;
use clap::Args;
use fulgur_node::fee_policy::{DustExposureLimit, FeePolicy};
use fulgur_node::secrets::SecretsKey;
use fulgur_node::{Node, NodeConfig, Startup, StoreKind};
use fulgur_web::ApiConfig;

use crate::bitcoind::BitcoindRpcArgs;

/// The daemon's options: each one's doc is its documentation as a flag, a `FULGUR_*` variable
/// and a `fulgur.conf` key alike.
#[derive(Args, Clone, Debug)]
pub struct NodeArgs {
	/// Data directory: seed, database, API key, log
	#[arg(long, value_name = "DIR")]
	pub data_dir: Option<PathBuf>,
	/// Configuration file (default DATA_DIR/fulgur.conf)
	#[arg(long, value_name = "FILE")]
	pub config: Option<PathBuf>,
	/// bitcoin, testnet, testnet4, signet or regtest
	#[arg(long, default_value = "regtest")]
	pub network: Network,
	/// Address for peer connections
	#[arg(long, default_value = "127.0.0.1:9735")]
	pub listen: SocketAddr,
	/// Address of the HTTP API (keep it on loopback unless behind a TLS proxy)
	#[arg(long, default_value = "127.0.0.1:3000")]
	pub api_bind: SocketAddr,
	/// Port of the LND-compatible REST API (HTTPS, macaroons in DATA_DIR/lnd/); off unless
	/// given, except on regtest where it is on (a free port when not given)
	#[arg(long, value_name = "PORT")]
	pub lnd_rest_port: Option<u16>,
	/// Address the LND-compatible REST API binds to
	#[arg(long, value_name = "IP", default_value = "127.0.0.1")]
	pub lnd_rest_bind: std::net::IpAddr,
	/// Node alias announced to the network
	#[arg(long, default_value = "fulgur")]
	pub alias: String,
	/// How to reach bitcoind
	#[command(flatten)]
	pub bitcoind: BitcoindRpcArgs,
	/// Fee rate used when bitcoind has no estimate, in sat per 1000 weight units
	#[arg(long, default_value_t = fulgur_node::config::DEFAULT_FEE_RATE_FLOOR_SAT_PER_KW)]
	pub fee_floor_sat_per_kw: u32,
	/// Propose and accept anchor channels; `false`: legacy channels whose commitment carries
	/// its fees, set by the funder
	#[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
	pub anchor_channels: bool,
	/// A channel's dust-exposure limit, in msat, is this times the peer fee-rate ceiling
	/// (sat/kW); see the README's "Peers that disagree on fees"
	#[arg(long, default_value_t = fulgur_node::fee_policy::DEFAULT_DUST_EXPOSURE_MULTIPLIER)]
	pub dust_exposure_multiplier: u64,
	/// A fixed dust-exposure limit per channel instead of the multiplier, in msat
	#[arg(long)]
	pub max_dust_exposure_msat: Option<u64>,
	/// The highest commitment fee rate accepted from a peer, in sat per 1000 weight units
	/// (default: 4 times our highest estimate, at least 2,500; at least 50,000 off mainnet)
	#[arg(long)]
	pub max_peer_fee_rate_sat_per_kw: Option<u32>,
	/// Fixed fee new channels charge per forwarded payment, in msat
	#[arg(long, default_value_t = fulgur_node::config::ForwardingDefaults::default().fee_base_msat)]
	pub fee_base_msat: u32,
	/// Proportional fee new channels charge, in millionths of the forwarded amount
	#[arg(long, default_value_t = fulgur_node::config::ForwardingDefaults::default().fee_ppm,
		value_parser = clap::value_parser!(u32).range(..=i64::from(fulgur_node::config::MAX_FEE_PPM)))]
	pub fee_ppm: u32,
	/// Blocks new channels require between an incoming HTLC's expiry and the one forwarded
	#[arg(long,
		default_value_t = fulgur_node::config::ForwardingDefaults::default().cltv_expiry_delta,
		value_parser = clap::value_parser!(u16).range(
			i64::from(fulgur_node::config::MIN_CLTV_EXPIRY_DELTA)
				..=i64::from(fulgur_node::config::MAX_CLTV_EXPIRY_DELTA)))]
	pub cltv_expiry_delta: u16,
	/// Most paths one payment is split over (1 turns multi-path payments off)
	#[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(1..))]
	pub max_path_count: u8,
	/// Most blocks an outgoing HTLC may be locked for over its whole route
	#[arg(long, default_value_t = 1008)]
	pub max_cltv_expiry_delta: u32,
	/// Watchtower to hand every revoked channel state to (`host:port` or
	/// `towerpubkey@host:port`); repeat for several, or comma-separate in the env/config file
	#[arg(long = "tower", value_delimiter = ',')]
	pub towers: Vec<String>,
	/// Days events stay in the event log; older ones are removed, except those a webhook has
	/// not delivered or an open event stream has not sent yet
	#[arg(long, value_name = "DAYS",
		default_value_t = fulgur_node::config::DEFAULT_EVENTS_RETENTION_DAYS,
		value_parser = clap::value_parser!(u32).range(1..=36_500))]
	pub events_retention_days: u32,
	/// Port of the Phoenixd-compatible API (LNbits' `PhoenixdWallet`, BTCPay's Phoenixd
	/// plugin); off unless given. Passwords in DATA_DIR/phoenixd/
	#[arg(long, value_name = "PORT")]
	pub phoenixd_port: Option<u16>,
	/// Address the Phoenixd-compatible API binds to (it speaks plain HTTP: keep it on
	/// loopback unless behind a TLS proxy)
	#[arg(long, default_value = "127.0.0.1")]
	pub phoenixd_bind: std::net::IpAddr,
	/// Where the node's state lives: `sled` (embedded, in DATA_DIR/db) or `postgres` (the
	/// database at --postgres-url)
	#[arg(long, value_enum, default_value = "sled")]
	pub store: DaemonStore,
	/// The database of `--store postgres`: `postgres://user[:password]@host[:port]/db` (no TLS
	/// yet: reach it over a unix socket, `?host=/run/postgresql`, or a trusted network)
	#[arg(long, value_name = "URL")]
	pub postgres_url: Option<String>,
	/// With `--store postgres`: a file holding 64 hex digits (`openssl rand -hex 32`) that seal
	/// the node's seed in the database, so a standby given the same key is the same node
	/// (the key may instead be given as FULGUR_SECRETS_KEY, the hex digits themselves)
	#[arg(long, value_name = "FILE")]
	pub secrets_key_file: Option<PathBuf>,
	/// Start as a standby of the node on the same database (only with `--store postgres`):
	/// wait until the leader's lease ends (it stopped or died), then take it over and run as
	/// the node. Give it the leader's secrets key (--secrets-key-file) or a copy of its seed
	#[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1,
		default_missing_value = "true")]
	pub standby: bool,
	/// `random`: every HTLC waits for LDK's random hold (about 50 ms) before it is processed;
	/// `none`: HTLCs paying this node are processed as soon as they are committed, while
	/// forwards keep the hold. `none` is faster for a merchant but gives up timing privacy: a
	/// peer can tell from the quick answer that this node is the payee
	#[arg(long, value_enum, default_value = "random")]
	pub receive_delay: ReceiveDelayArg,
}

/// The files in the data directory that clients are configured with (the API key, the LND
/// surface's certificate, key and macaroons, the Phoenixd passwords): with a secrets key they
/// are mirrored in the database, so a standby answers the same ones.
pub const CREDENTIAL_FILES: &[&str] = &[
	"api_key",
	"lnd/tls.key",
	"lnd/tls.cert",
	"lnd/admin.macaroon",
	"lnd/invoice.macaroon",
	"lnd/readonly.macaroon",
	"phoenixd/password",
	"phoenixd/limited-password",
];

/// The environment variable holding the secrets key itself (64 hex digits), for operators who
/// pass secrets through the environment rather than files.
pub const SECRETS_KEY_ENV: &str = "FULGUR_SECRETS_KEY";

/// The key that seals the seed in the database: the file's, else the environment's; `None`
/// when neither is given. Given with a store other than PostgreSQL, an error.
fn secrets_key(args: &NodeArgs) -> Result<Option<SecretsKey>, String> {
	let key = match (&args.secrets_key_file, std::env::var(SECRETS_KEY_ENV)) {
		(Some(path), _) => Some(SecretsKey::read_file(path)?),
		(None, Ok(hex)) => {
			Some(SecretsKey::from_hex(&hex).map_err(|e| format!("{SECRETS_KEY_ENV}: {e}"))?)
		}
		(None, Err(_)) => None,
	};
	if key.is_some() && args.store != DaemonStore::Postgres {
		return Err("a secrets key (--secrets-key-file or FULGUR_SECRETS_KEY) seals the seed in \
			 PostgreSQL: add --store postgres"
			.into());
	}
	Ok(key)
}

impl From<ReceiveDelayArg> for fulgur_node::receive_delay::ReceiveDelay {
	fn from(arg: ReceiveDelayArg) -> Self {
		match arg {
			ReceiveDelayArg::Random => fulgur_node::receive_delay::ReceiveDelay::Random,
			ReceiveDelayArg::None => fulgur_node::receive_delay::ReceiveDelay::None,
		}
	}
}

/// `--receive-delay`'s values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiveDelayArg {
	/// LDK's random hold for every HTLC.
	Random,
	/// No hold for HTLCs paying this node.
	None,
}

/// The stores `fulgur node` runs on (the benchmarks have more).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaemonStore {
	/// sled, embedded in the data directory.
	Sled,
	/// PostgreSQL at `--postgres-url`.
	Postgres,
}

/// The store these flags choose, with its URL: `--postgres-url` belongs to `--store postgres`
/// (given alone, or missing there, it is an error, not silently ignored).
fn store(args: &NodeArgs) -> Result<(StoreKind, Option<String>), String> {
	match (args.store, &args.postgres_url) {
		(DaemonStore::Sled, None) => Ok((StoreKind::Sled, None)),
		(DaemonStore::Postgres, Some(url)) => Ok((StoreKind::Postgres, Some(url.clone()))),
		(DaemonStore::Postgres, None) => Err("--store postgres needs --postgres-url (or \
			 FULGUR_POSTGRES_URL, or postgres_url in fulgur.conf)"
			.into()),
		(DaemonStore::Sled, Some(_)) => {
			Err("--postgres-url is given but the store is sled: add --store postgres".into())
		}
	}
}

/// The default data directory, `~/.fulgur/node`.
pub fn default_data_dir() -> PathBuf {
	let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
	home.join(".fulgur").join("node")
}

fn fee_policy(args: &NodeArgs) -> FeePolicy {
	FeePolicy {
		dust_exposure: match args.max_dust_exposure_msat {
			Some(msat) => DustExposureLimit::FixedMsat(msat),
			None => DustExposureLimit::FeeRateMultiplier(args.dust_exposure_multiplier),
		},
		peer_fee_rate_ceiling_sat_per_kw: args.max_peer_fee_rate_sat_per_kw,
	}
}

/// The node configuration these flags describe, in `data_dir` (reads the cookie file if
/// one is given).
pub fn node_config(args: &NodeArgs, data_dir: &Path) -> Result<NodeConfig, String> {
	let (user, password) = args.bitcoind.credentials()?;
	let mut config = NodeConfig::new(
		data_dir,
		args.network,
		args.listen,
		args.bitcoind.bitcoind_rpc.clone(),
		user,
		password,
	);
	config.alias = args.alias.clone();
	config.fee_rate_floor_sat_per_kw = args.fee_floor_sat_per_kw;
	config.anchor_channels = args.anchor_channels;
	config.fee_policy = fee_policy(args);
	config.routing.max_path_count = args.max_path_count;
	config.forwarding = fulgur_node::config::ForwardingDefaults {
		fee_base_msat: args.fee_base_msat,
		fee_ppm: args.fee_ppm,
		cltv_expiry_delta: args.cltv_expiry_delta,
	};
	config.routing.max_total_cltv_expiry_delta = args.max_cltv_expiry_delta;
	config.towers = args.towers.clone();
	config.receive_delay = args.receive_delay.into();
	(config.store, config.postgres_url) = store(args)?;
	config.secrets_key = secrets_key(args)?;
	if args.standby && config.store != StoreKind::Postgres {
		return Err("--standby waits for the leader lease of --store postgres: add it".into());
	}
	config.standby = args.standby;
	config.events_retention = std::time::Duration::from_secs(
		u64::from(args.events_retention_days) * fulgur_node::config::SECONDS_PER_DAY,
	);
	Ok(config)
}

/// Runs the node and its API until Ctrl-C or SIGTERM.
pub async fn run(args: NodeArgs) -> Result<(), String> {
	let data_dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
	let config = node_config(&args, &data_dir)?;
	if let (Some(key), Some(url)) = (&config.secrets_key, &config.postgres_url) {
		// A standby (or a new machine) answers the leader's credentials: the database's.
		let restored = fulgur_node::secrets::restore_files(url, key, &data_dir, CREDENTIAL_FILES)
			.await
			.map_err(|e| format!("credentials from the database: {e}"))?;
		if restored > 0 {
			eprintln!("restored {restored} credential file(s) from the database");
		}
	}
	let key_file = data_dir.join("api_key");
	let api_key = fulgur_web::load_or_create_api_key(&key_file)
		.map_err(|e| format!("API key {}: {e}", key_file.display()))?;
	// The API answers while the node starts (GET /v1/info says what it waits for).
	let startup = Startup::new();
	let api = fulgur_web::serve_while_starting(
		Arc::clone(&startup),
		ApiConfig { bind: args.api_bind, api_key },
	)
	.await
	.map_err(|e| format!("API on {}: {e}", args.api_bind))?;
	let phoenixd = match start_phoenixd(&args, &data_dir) {
		Ok(phoenixd) => phoenixd,
		Err(e) => {
			api.shutdown().await;
			return Err(e);
		}
	};
	let node = tokio::select! {
		started = Node::start_reporting(config, startup) => match started {
			Ok(node) => node,
			Err(e) => {
				api.shutdown().await;
				stop_phoenixd(phoenixd).await;
				return Err(e.to_string());
			}
		},
		() = shutdown_signal() => {
			eprintln!("shutting down before the node started");
			api.shutdown().await;
			stop_phoenixd(phoenixd).await;
			return Ok(());
		}
	};
	api.attach(node.clone());
	let lnd_rest = match serve_lnd_rest(&args, &node, &data_dir).await {
		Ok(lnd_rest) => lnd_rest,
		Err(e) => {
			api.shutdown().await;
			stop_phoenixd(phoenixd).await;
			node.stop().await;
			return Err(e);
		}
	};
	if let Err(e) = node.seal_files(&data_dir, CREDENTIAL_FILES).await {
		if let Some(lnd) = lnd_rest {
			lnd.shutdown().await;
		}
		api.shutdown().await;
		stop_phoenixd(phoenixd).await;
		node.stop().await;
		return Err(format!("sealing the credentials in the database: {e}"));
	}
	print_started(&node, &api.local_addr(), &key_file, &data_dir);
	if let Some(lnd) = &lnd_rest {
		println!(
			"  lnd rest: {}  (cert {}, macaroons in {})",
			lnd.url(),
			lnd.tls_cert_path().display(),
			data_dir.join("lnd").display()
		);
	}
	if let Some(phoenixd) = &phoenixd {
		phoenixd.attach(node.clone());
		let dir = data_dir.join("phoenixd");
		println!("  phoenixd: {}  (passwords in {})", phoenixd.url(), dir.display());
	}
	// A node that lost its leader lease has stopped acting already; it exits with why.
	let fenced = tokio::select! {
		() = shutdown_signal() => None,
		reason = node.fenced() => Some(reason),
	};
	match &fenced {
		None => eprintln!("shutting down"),
		Some(reason) => eprintln!("stopping: {reason}"),
	}
	if let Some(lnd) = lnd_rest {
		lnd.shutdown().await;
	}
	api.shutdown().await;
	stop_phoenixd(phoenixd).await;
	node.stop().await;
	match fenced {
		None => Ok(()),
		Some(reason) => Err(format!("the node stopped: {reason}")),
	}
}

/// The port the LND REST surface takes: the flag's, else a free one on regtest, else none.
fn lnd_rest_port(args: &NodeArgs) -> Option<u16> {
	match (args.lnd_rest_port, args.network) {
		(Some(port), _) => Some(port),
		(None, Network::Regtest) => Some(0),
		(None, _) => None,
	}
}

async fn serve_lnd_rest(
	args: &NodeArgs, node: &Node, data_dir: &Path,
) -> Result<Option<fulgur_compat::lnd_rest::LndRest>, String> {
	let Some(port) = lnd_rest_port(args) else { return Ok(None) };
	let bind = SocketAddr::new(args.lnd_rest_bind, port);
	let config = fulgur_compat::lnd_rest::LndRestConfig {
		bind,
		data_dir: data_dir.to_path_buf(),
		alias: args.alias.clone(),
	};
	fulgur_compat::lnd_rest::serve(node.clone(), config)
		.await
		.map(Some)
		.map_err(|e| format!("LND REST on {bind}: {e}"))
}

/// The Phoenixd-compatible API when `--phoenixd-port` is given (its passwords made first).
fn start_phoenixd(
	args: &NodeArgs, data_dir: &Path,
) -> Result<Option<fulgur_compat::phoenixd::PhoenixdServer>, String> {
	let Some(port) = args.phoenixd_port else { return Ok(None) };
	let passwords = fulgur_compat::phoenixd::Passwords::load_or_create(data_dir)
		.map_err(|e| format!("phoenixd passwords in {}: {e}", data_dir.display()))?;
	fulgur_compat::phoenixd::serve(SocketAddr::new(args.phoenixd_bind, port), passwords).map(Some)
}

async fn stop_phoenixd(phoenixd: Option<fulgur_compat::phoenixd::PhoenixdServer>) {
	if let Some(phoenixd) = phoenixd {
		phoenixd.shutdown().await;
	}
}

fn print_started(node: &Node, api: &SocketAddr, key_file: &Path, data_dir: &Path) {
	println!("fulgur node {} on {}", node.node_id(), node.info().network);
	println!("  peers:    {}@{}", node.node_id(), node.listen_addr());
	println!("  api:      http://{api}  (key in {})", key_file.display());
	println!("  data:     {}", data_dir.display());
	println!(
		"  try:      fulgur --api-url http://{api} --api-key-file {} info",
		key_file.display()
	);
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
	let ctrl_c = tokio::signal::ctrl_c();
	match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
		Ok(mut term) => {
			tokio::select! {
				_ = ctrl_c => {},
				_ = term.recv() => {},
			}
		}
		Err(_) => {
			let _ = ctrl_c.await;
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use clap::Parser;

	#[derive(Parser, Debug)]
	struct TestDaemon {
		#[command(flatten)]
		node: NodeArgs,
	}

	fn parse(args: &[&str]) -> Result<NodeArgs, clap::Error> {
		TestDaemon::try_parse_from(std::iter::once("fulgur").chain(args.iter().copied()))
			.map(|parsed| parsed.node)
	}

	#[test]
	fn bitcoind_flags_and_cookie() {
		let dir = tempfile::tempdir().unwrap();
		let cookie = dir.path().join(".cookie");
		std::fs::write(&cookie, "__cookie__:secret\n").unwrap();
		let cookie_flag = cookie.to_str().unwrap();
		let data_dir = dir.path().join("node");
		let cookie_login = parse(&["--bitcoind-rpc-cookie", cookie_flag]).expect("cookie flag");
		let config = node_config(&cookie_login, &data_dir).unwrap();
		assert_eq!(
			(config.bitcoind_rpc_user.as_str(), config.bitcoind_rpc_password.as_str()),
			("__cookie__", "secret")
		);
		std::fs::write(&cookie, "no colon").unwrap();
		assert!(node_config(&cookie_login, &data_dir).unwrap_err().contains("cookie"));

		let defaults = node_config(&parse(&[]).unwrap(), &data_dir).unwrap();
		assert_eq!(defaults.bitcoind_rpc_addr, "127.0.0.1:18443");
		assert_eq!(
			(defaults.bitcoind_rpc_user.as_str(), defaults.bitcoind_rpc_password.as_str()),
			("fulgur", "")
		);
		let flags = [
			"--bitcoind-rpc",
			"http://10.0.0.1:8332",
			"--bitcoind-rpc-user",
			"alice",
			"--bitcoind-rpc-password",
			"pw",
		];
		let config = node_config(&parse(&flags).unwrap(), &data_dir).unwrap();
		assert_eq!(config.bitcoind_rpc_addr, "http://10.0.0.1:8332");
		assert_eq!(
			(config.bitcoind_rpc_user.as_str(), config.bitcoind_rpc_password.as_str()),
			("alice", "pw")
		);
	}

	#[test]
	fn forwarding_defaults_are_ldks_unless_given_and_checked() {
		let dir = tempfile::tempdir().unwrap();
		let defaults = node_config(&parse(&[]).unwrap(), dir.path()).unwrap();
		assert_eq!(defaults.forwarding, fulgur_node::config::ForwardingDefaults::default());
		let flags = ["--fee-base-msat", "0", "--fee-ppm", "250", "--cltv-expiry-delta", "144"];
		let given = node_config(&parse(&flags).unwrap(), dir.path()).unwrap();
		let expected = fulgur_node::config::ForwardingDefaults {
			fee_base_msat: 0,
			fee_ppm: 250,
			cltv_expiry_delta: 144,
		};
		assert_eq!(given.forwarding, expected);
		// Below LDK's minimum delta, above 2016 blocks or 100%: refused before the node starts.
		for bad in [
			["--cltv-expiry-delta", "47"],
			["--cltv-expiry-delta", "2017"],
			["--fee-ppm", "1000001"],
		] {
			assert!(parse(&bad).is_err(), "{bad:?} accepted");
		}
	}

	#[test]
	fn lnd_rest_is_off_outside_regtest_unless_asked() {
		assert_eq!(lnd_rest_port(&parse(&[]).unwrap()), Some(0), "regtest: a free port");
		assert_eq!(lnd_rest_port(&parse(&["--network", "signet"]).unwrap()), None);
		let asked = parse(&["--network", "signet", "--lnd-rest-port", "8080"]).unwrap();
		assert_eq!(lnd_rest_port(&asked), Some(8080));
		assert_eq!(asked.lnd_rest_bind.to_string(), "127.0.0.1");
	}

	#[test]
	fn events_retention_is_in_days_from_one() {
		let default = parse(&[]).expect("defaults");
		assert_eq!(default.events_retention_days, 90);
		let week = parse(&["--events-retention-days", "7"]).expect("a week");
		assert_eq!(default.phoenixd_port, None, "the phoenixd surface is off unless asked for");
		assert_eq!(default.phoenixd_bind.to_string(), "127.0.0.1");
		assert_eq!(week.events_retention_days, 7);
		for bad in ["0", "-1", "x", "36501"] {
			assert!(parse(&["--events-retention-days", bad]).is_err(), "{bad}");
		}
	}

	#[test]
	fn the_store_is_sled_unless_postgres_is_asked_for_with_its_url() {
		let data_dir = Path::new("/nonexistent");
		let config = |args: &[&str]| node_config(&parse(args).unwrap(), data_dir);
		let default = config(&[]).unwrap();
		assert_eq!((default.store, default.postgres_url), (StoreKind::Sled, None));
		let url = "postgres://fulgur@db.internal/node";
		let postgres = config(&["--store", "postgres", "--postgres-url", url]).unwrap();
		assert_eq!(postgres.store, StoreKind::Postgres);
		assert_eq!(postgres.postgres_url.as_deref(), Some(url));
		let missing = config(&["--store", "postgres"]).unwrap_err();
		assert!(missing.contains("needs --postgres-url"), "{missing}");
		let stray = config(&["--postgres-url", url]).unwrap_err();
		assert!(stray.contains("add --store postgres"), "{stray}");
		assert!(parse(&["--store", "memory"]).is_err(), "a daemon on memory loses everything");
	}

	#[test]
	fn a_secrets_key_file_seals_the_seed_in_postgres_only() {
		let dir = tempfile::tempdir().unwrap();
		let file = dir.path().join("secrets.key");
		std::fs::write(&file, format!("{}\n", "ab".repeat(32))).unwrap();
		let file = file.to_str().unwrap();
		let config = |args: &[&str]| node_config(&parse(args).unwrap(), dir.path());
		let url = "postgres://fulgur@db.internal/node";
		let sealed =
			config(&["--store", "postgres", "--postgres-url", url, "--secrets-key-file", file]);
		let expected = SecretsKey::from_bytes([0xab; 32]);
		assert_eq!(sealed.unwrap().secrets_key, Some(expected));
		let on_sled = config(&["--secrets-key-file", file]).unwrap_err();
		assert!(on_sled.contains("add --store postgres"), "{on_sled}");
		std::fs::write(dir.path().join("short.key"), "abcd").unwrap();
		let short = dir.path().join("short.key");
		let args = ["--store", "postgres", "--postgres-url", url, "--secrets-key-file"];
		let short = config(&[&args[..], &[short.to_str().unwrap()]].concat()).unwrap_err();
		assert!(short.contains("64 hex digits"), "{short}");
		let missing = config(&[&args[..], &["/nonexistent/key"]].concat()).unwrap_err();
		assert!(missing.contains("reading the secrets key"), "{missing}");
	}

	#[test]
	fn standby_is_for_postgres_only() {
		let data_dir = Path::new("/nonexistent");
		let config = |args: &[&str]| node_config(&parse(args).unwrap(), data_dir);
		assert!(!config(&[]).unwrap().standby);
		let url = "postgres://fulgur@db.internal/node";
		for flags in [
			&["--store", "postgres", "--postgres-url", url, "--standby"][..],
			&["--store", "postgres", "--postgres-url", url, "--standby", "true"][..],
		] {
			assert!(config(flags).unwrap().standby, "{flags:?}");
		}
		let off = config(&["--store", "postgres", "--postgres-url", url, "--standby", "false"]);
		assert!(!off.unwrap().standby);
		let sled = config(&["--standby"]).unwrap_err();
		assert!(sled.contains("--store postgres"), "{sled}");
	}
}
