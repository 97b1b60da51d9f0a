//! `fulgur bench ...`: benchmarks. Each is a program that prints a table and writes JSON, and
//! runs its baseline in the same run (these machines are noisy, so only ratios within one run
//! are meaningful). No timed assertions anywhere: the numbers are the output.

pub mod chain;
pub mod channels;
pub mod failover;
pub mod hub;
pub mod measure;
pub mod network;
pub mod payments;
pub mod plan;
pub mod report;
pub mod routes;
pub mod setup;
pub mod sweep;
pub mod tower;
pub mod workload;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use fulgur_node::StoreKind;

/// `fulgur bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
	/// Which benchmark.
	#[command(subcommand)]
	pub command: BenchCommand,
}

/// The benchmarks.
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
	/// Payments through one hub (in its own process) from many payer nodes, under each store
	/// (memory, sled, fs-sync) and channel count
	Payments(PaymentsArgs),
	/// Internal: the hub of `bench payments`, driven over stdin and stdout
	#[command(hide = true)]
	HubProcess(hub::child::HubProcessArgs),
	/// A hub with many channels: restart time from disk, memory and disk per channel
	Channels(channels::ChannelsArgs),
	/// Internal: restarts a stopped node and prints its start time and memory
	#[command(hide = true)]
	RestartProbe(channels::RestartProbeArgs),
	/// Route finding on a synthetic graph the size of the public network
	Routes(routes::RoutesArgs),
	/// The watchtower: ingest through the API, block scan with N stored, disk and RSS
	Tower(tower::TowerArgs),
	/// Internal: the tower of `bench tower`, serving its API until stdin ends
	#[command(hide = true)]
	TowerProcess(tower::child::TowerProcessArgs),
	/// A leader on PostgreSQL under payment load SIGKILLed, a standby takes over
	Failover(failover::FailoverArgs),
}

/// `fulgur bench payments`: a hub (the node under test, in a process of its own) and payer
/// nodes (in the benchmark's process) over loopback TCP, channels funded and confirmed on a
/// regtest bitcoind, then P payments with C in flight, once per channel count and store kind
/// of the hub.
#[derive(Args, Debug, Clone)]
pub struct PaymentsArgs {
	/// The hub's channels to payers; a comma list (e.g. 100,1000,5000) sweeps them in one run
	#[arg(long, value_delimiter = ',', default_value = "1000")]
	pub channels: Vec<usize>,
	/// Payer nodes at most: the channels are spread over them (e.g. 5000 channels on 100
	/// payers, 50 each)
	#[arg(long, default_value_t = 100)]
	pub payers: usize,
	/// Payments counted per store (and per concurrency when sweeping)
	#[arg(long, default_value_t = 100_000)]
	pub payments: u64,
	/// Payments in flight at once; a comma list (e.g. 16,64,256) sweeps them and reports the
	/// best per store
	#[arg(long, value_delimiter = ',', default_value = "64")]
	pub concurrency: Vec<usize>,
	/// Stores of the hub, run in this order
	#[arg(long, value_delimiter = ',', default_value = "memory,sled,fs-sync")]
	pub stores: Vec<StoreKind>,
	/// 2: payers pay a merchant through the hub (a forwarding hub); 1: payers pay the hub
	#[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
	pub hops: u8,
	/// Where the results and the working files go
	#[command(flatten)]
	pub output: OutputArgs,
	/// Smallest payment, sat (above dust, so every commitment carries HTLC outputs)
	#[arg(long, default_value_t = 1_000)]
	pub amount_min_sat: u64,
	/// Largest payment, sat
	#[arg(long, default_value_t = 10_000)]
	pub amount_max_sat: u64,
	/// Payments made before the counted ones, per store, not counted (default min(P/10, 1000))
	#[arg(long)]
	pub warmup: Option<u64>,
	/// Seed of the payment amounts (the same seed gives every store the same amounts)
	#[arg(long, default_value_t = 1)]
	pub seed: u64,
	/// After the sweep, P more payments started at this fraction of the store's best rate
	/// (open loop), for latency under a steady load; 0 skips it
	#[arg(long, default_value_t = 0.8)]
	pub load_fraction: f64,
	/// Also run each store with the hub handing every revoked state to a tower (an
	/// in-process `fulgur tower` on the same bitcoind); rows `<store>+tower`
	#[arg(long)]
	pub tower: bool,
	/// The hub's database for the `postgres` store (give an empty one: nothing is cleared);
	/// without it the benchmark starts a throwaway PostgreSQL server of its own
	#[arg(long, value_name = "URL")]
	pub postgres_url: Option<String>,
	/// The hub's `--receive-delay`: `none` processes HTLCs paying the hub without LDK's
	/// random hold (with `--hops 1`, where the hub is the payee)
	#[arg(long, value_enum, default_value = "random")]
	pub receive_delay: crate::daemon::ReceiveDelayArg,
}

impl PaymentsArgs {
	/// The warm-up count: `--warmup`, or min(P/10, 1000).
	pub fn warmup(&self) -> u64 {
		self.warmup.unwrap_or((self.payments / 10).min(1000))
	}

	/// Rejects flag combinations that cannot run.
	pub fn check(&self) -> Result<(), String> {
		if self.channels.is_empty() || self.channels.contains(&0) {
			return Err("--channels must be positive numbers".into());
		}
		for (i, channels) in self.channels.iter().enumerate() {
			if self.channels[..i].contains(channels) {
				return Err(format!("--channels lists {channels} twice"));
			}
		}
		if self.payers == 0 {
			return Err("--payers must be at least 1".into());
		}
		if self.payments == 0 {
			return Err("--payments must be at least 1".into());
		}
		if self.concurrency.is_empty() || self.concurrency.contains(&0) {
			return Err("--concurrency must be positive numbers".into());
		}
		if self.stores.is_empty() {
			return Err("--stores needs at least one of memory, sled, fs-sync, postgres".into());
		}
		if self.postgres_url.is_some() {
			if !self.stores.contains(&StoreKind::Postgres) {
				return Err("--postgres-url is for the postgres store: add it to --stores".into());
			}
			if self.tower {
				return Err(
					"--postgres-url holds one hub: without --tower (two postgres rows)".into()
				);
			}
			if self.channels.len() > 1 {
				return Err("--postgres-url holds one hub: one --channels count".into());
			}
		}
		for (i, store) in self.stores.iter().enumerate() {
			if self.stores[..i].contains(store) {
				return Err(format!("--stores lists {} twice", store.as_str()));
			}
		}
		if !(0.0..=1.0).contains(&self.load_fraction) {
			return Err("--load-fraction must be between 0 and 1".into());
		}
		if self.amount_min_sat == 0 || self.amount_max_sat < self.amount_min_sat {
			return Err("need 1 <= --amount-min-sat <= --amount-max-sat".into());
		}
		Ok(())
	}
}

/// Where a benchmark writes: its JSON report and its working directory.
#[derive(Args, Debug, Clone, Default)]
pub struct OutputArgs {
	/// Also write the results as JSON to this file
	#[arg(long)]
	pub json: Option<PathBuf>,
	/// Working directory (must be empty or absent; default a new temporary directory)
	#[arg(long)]
	pub dir: Option<PathBuf>,
	/// Keep the working directory (bitcoind, node logs and stores) instead of removing it
	#[arg(long)]
	pub keep: bool,
}

impl OutputArgs {
	/// `--dir` (which must be empty or absent) or a new directory under the system's temp
	/// dir; created.
	pub fn work_dir(&self) -> Result<PathBuf, String> {
		let dir = match &self.dir {
			Some(dir) => dir.clone(),
			None => {
				let nanos = std::time::SystemTime::now()
					.duration_since(std::time::UNIX_EPOCH)
					.map(|d| d.as_nanos())
					.unwrap_or(0);
				std::env::temp_dir().join(format!("fulgur-bench-{}-{nanos}", std::process::id()))
			}
		};
		if std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(false) {
			return Err(format!("{} is not empty (it is removed after the run)", dir.display()));
		}
		std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
		Ok(dir)
	}

	/// Removes the working directory, unless it is to be kept.
	pub fn finish(&self, dir: &Path) {
		if self.keep {
			eprintln!("kept {}", dir.display());
		} else if let Err(e) = std::fs::remove_dir_all(dir) {
			eprintln!("removing {}: {e}", dir.display());
		}
	}
}

/// Writes a benchmark's JSON document to `path`, when one was asked for.
pub(crate) fn write_json(path: Option<&Path>, report: &serde_json::Value) -> Result<(), String> {
	let Some(path) = path else { return Ok(()) };
	let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
	std::fs::write(path, text + "\n").map_err(|e| format!("writing {}: {e}", path.display()))?;
	eprintln!("wrote {}", path.display());
	Ok(())
}

/// Runs the chosen benchmark.
pub async fn run(args: BenchArgs) -> Result<(), String> {
	match args.command {
		BenchCommand::Payments(args) => payments::run(args).await,
		BenchCommand::HubProcess(args) => hub::child::run(args).await,
		BenchCommand::Channels(args) => channels::run(args).await,
		BenchCommand::RestartProbe(args) => channels::restart_probe(args).await,
		BenchCommand::Routes(args) => routes::run(args),
		BenchCommand::Tower(args) => tower::run(args).await,
		BenchCommand::TowerProcess(args) => tower::child::run(args).await,
		BenchCommand::Failover(args) => failover::run(args).await,
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use clap::Parser;

	#[derive(Parser)]
	struct Cli {
		#[command(subcommand)]
		command: BenchCommand,
	}

	fn parse(args: &[&str]) -> PaymentsArgs {
		let cli = Cli::try_parse_from(["bench"].iter().chain(args)).map_err(|e| e.to_string());
		match cli.map(|c| c.command) {
			Ok(BenchCommand::Payments(args)) => args,
			Ok(other) => panic!("not payments: {other:?}"),
			Err(e) => panic!("{e}"),
		}
	}

	#[test]
	fn defaults_follow_the_issue() {
		let args = parse(&["payments"]);
		assert_eq!(args.channels, vec![1000]);
		assert_eq!(args.payers, 100);
		assert_eq!(args.payments, 100_000);
		assert_eq!(args.concurrency, vec![64]);
		assert_eq!(args.stores, vec![StoreKind::Memory, StoreKind::Sled, StoreKind::FsSync]);
		// The headline workload: a forwarding hub, amounts above dust.
		assert_eq!(args.hops, 2);
		assert_eq!(args.warmup(), 1000);
		assert_eq!((args.amount_min_sat, args.amount_max_sat), (1_000, 10_000));
		args.check().unwrap();
	}

	#[test]
	fn sweeps_and_checks() {
		let args = parse(&["payments", "--concurrency", "8,32", "--payments", "500"]);
		assert_eq!(args.concurrency, vec![8, 32]);
		assert_eq!(args.warmup(), 50);
		assert!(parse(&["payments", "--stores", "sled,sled"]).check().is_err());
		assert!(parse(&["payments", "--amount-min-sat", "5", "--amount-max-sat", "4"])
			.check()
			.is_err());
		assert!(Cli::try_parse_from(["bench", "payments", "--hops", "3"]).is_err());
		assert!(Cli::try_parse_from(["bench", "payments", "--channels", "100,x"]).is_err());
	}

	#[test]
	fn channel_counts_sweep_in_one_run() {
		let args = parse(&["payments", "--channels", "100,1000,5000"]);
		assert_eq!(args.channels, vec![100, 1000, 5000]);
		args.check().unwrap();
		assert!(parse(&["payments", "--channels", "100,100"]).check().is_err());
		assert!(parse(&["payments", "--channels", "0,100"]).check().is_err());
		assert!(parse(&["payments", "--payers", "0"]).check().is_err());
		assert!(Cli::try_parse_from(["bench", "payments", "--stores", "rocks"]).is_err());
	}
}
