//! `fulgur bench payments`: many payers paying one hub (or a merchant through it), once per
//! store kind of the hub, in one process and one run.
//!
//! The hub is the node under test; payers and merchant are load generators and always use the
//! memory store. All nodes talk over loopback TCP; channels are funded by the hub on a regtest
//! bitcoind and confirmed. Each phase: start the nodes, fund and open the channels, make one
//! probe payment (it must succeed), the warm-up, then the counted runs (one per concurrency),
//! then stop every node so the next store starts clean on the same bitcoind.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::net::SocketAddr;

use fulgur_base::throwaway_postgres::ThrowawayPostgres;
use fulgur_node::{Node, StoreKind};
use fulgur_watchtower::server::{Tower, TowerConfig, TowerOptions};
use serde_json::json;

use super::chain::Chain;
use super::measure::{reset_peak_rss, ProcSample};
use super::report::{Phase, Report, RunMeasurement, RunResult, StoreResult};
use super::setup::{open_channels, start_network, Network, Plan};
use super::workload::{Outcome, Workload};
use super::PaymentsArgs;
use crate::progress::Progress;

/// How long the idle CPU is sampled before the payments.
const IDLE_SAMPLE: Duration = Duration::from_secs(5);

/// Runs the benchmark: every store in turn, then the table and the JSON.
pub async fn run(args: PaymentsArgs) -> Result<(), String> {
	args.check()?;
	let load_run = u64::from(args.load_fraction > 0.0);
	let per_store = 1 + args.warmup() + args.payments * (args.concurrency.len() as u64 + load_run);
	let max_concurrency = args.concurrency.iter().copied().max().unwrap_or(1);
	let plan =
		Plan::new(args.channels, per_store, args.amount_max_sat, args.hops, max_concurrency)?;
	let dir = args.output.work_dir()?;
	eprintln!("bench payments: working in {}", dir.display());
	let variants: Vec<(StoreKind, bool)> = args
		.stores
		.iter()
		.flat_map(|&store| [(store, false), (store, true)])
		.filter(|&(_, tower)| !tower || args.tower)
		.collect();
	let mut chain =
		match Chain::start(&dir.join("bitcoind"), plan.fan_outs() * variants.len()).await {
			Ok(chain) => chain,
			Err(e) => return Err(format!("{e} (working directory kept: {})", dir.display())),
		};
	let postgres = match HubDatabases::for_args(&args).await {
		Ok(postgres) => postgres,
		Err(e) => {
			chain.stop().await;
			return Err(format!("{e} (working directory kept: {})", dir.display()));
		}
	};
	let mut stores = Vec::new();
	let mut failure = None;
	for &(store, tower) in &variants {
		match run_store(&mut chain, &dir, store, tower, &postgres, &plan, &args).await {
			Ok(result) => stores.push(result),
			Err(e) => {
				failure = Some(format!("{}: {e}", label(store, tower)));
				break;
			}
		}
	}
	chain.stop().await;
	drop(postgres);
	let report = Report { config: config_json(&args, &plan), stores };
	if let Some(e) = failure {
		if !report.stores.is_empty() {
			print!("{}", report.table(&header(&args)));
		}
		return Err(format!("{e} (working directory kept: {})", dir.display()));
	}
	print!("{}", report.table(&header(&args)));
	super::write_json(args.output.json.as_deref(), &report.to_json())?;
	args.output.finish(&dir);
	Ok(())
}

fn header(args: &PaymentsArgs) -> Vec<String> {
	let route = if args.hops == 2 { "payer -> hub -> merchant" } else { "payer -> hub" };
	vec![
		format!(
			"fulgur bench payments: {} payers, {route}; the hub is the node under test (its store \
			 per row), payers{} use the memory store (load generators)",
			args.channels,
			if args.hops == 2 { " and merchant" } else { "" }
		),
		format!(
			"{} payments of {}-{} sat per row after {} warm-up; CPU and disk are process-wide \
			 (hub and payers), flushes are the hub store's",
			args.payments,
			args.amount_min_sat,
			args.amount_max_sat,
			args.warmup()
		),
	]
}

fn config_json(args: &PaymentsArgs, plan: &Plan) -> serde_json::Value {
	json!({
		"benchmark": "payments",
		"channels": args.channels,
		"payments": args.payments,
		"warmup": args.warmup(),
		"concurrency": args.concurrency,
		"stores": args.stores.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
		"hops": args.hops,
		"amount_min_sat": args.amount_min_sat,
		"amount_max_sat": args.amount_max_sat,
		"seed": args.seed,
		"load_fraction": args.load_fraction,
		"hub_store": "per store below (the node under test)",
		"payer_store": "memory",
		"payer_capacity_sat": plan.payer_capacity_sat,
		"payer_push_msat": plan.payer_push_msat,
		"merchant_channels": plan.merchant_channels,
		"merchant_capacity_sat": plan.merchant_capacity_sat,
		"cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
		"cpu_and_disk": "process-wide: hub, payers and merchant together (bitcoind excluded)",
	})
}

/// A row's name: the hub's store, `+tower` when it hands appointments to a tower.
fn label(store: StoreKind, tower: bool) -> String {
	format!("{}{}", store.as_str(), if tower { "+tower" } else { "" })
}

/// A tower on the bench's bitcoind, for the `+tower` rows.
async fn start_tower(chain: &Chain, dir: &Path) -> Result<Tower, String> {
	let config = TowerConfig {
		data_dir: dir.join("tower"),
		bind: SocketAddr::from(([127, 0, 0, 1], 0)),
		network: bitcoin::Network::Regtest,
		bitcoind_rpc: chain.rpc.addr.clone(),
		rpc_user: chain.rpc.user.clone(),
		rpc_password: chain.rpc.password.clone(),
		poll_interval: Duration::from_millis(500),
		options: TowerOptions::default(),
	};
	Tower::start(config).await.map_err(|e| format!("starting the tower: {e}"))
}

/// Where the hubs on the `postgres` store keep their state: the database given, or one new
/// database per row on a throwaway server the benchmark started.
enum HubDatabases {
	/// No row is on PostgreSQL.
	Unused,
	/// `--postgres-url` (one row only, checked by [`PaymentsArgs::check`]).
	Given(String),
	/// A server of the benchmark's own, removed at the end.
	Throwaway(ThrowawayPostgres),
}

impl HubDatabases {
	async fn for_args(args: &PaymentsArgs) -> Result<HubDatabases, String> {
		if !args.stores.contains(&StoreKind::Postgres) {
			return Ok(HubDatabases::Unused);
		}
		if let Some(url) = &args.postgres_url {
			return Ok(HubDatabases::Given(url.clone()));
		}
		eprintln!("bench payments: starting a throwaway PostgreSQL server for the postgres store");
		tokio::task::spawn_blocking(ThrowawayPostgres::provide)
			.await
			.map_err(|e| format!("starting PostgreSQL: {e}"))?
			.map(HubDatabases::Throwaway)
			.map_err(|e| format!("starting PostgreSQL: {e}"))
	}

	/// The database of the hub of row `name`, when it is on PostgreSQL.
	fn url_for(&self, store: StoreKind, name: &str) -> Result<Option<String>, String> {
		if store != StoreKind::Postgres {
			return Ok(None);
		}
		match self {
			HubDatabases::Unused => Err("no PostgreSQL server for the postgres store".into()),
			HubDatabases::Given(url) => Ok(Some(url.clone())),
			HubDatabases::Throwaway(server) => {
				let database: String =
					name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
				server
					.create_database(&format!("hub_{database}"))
					.map(Some)
					.map_err(|e| format!("creating the hub's database: {e}"))
			}
		}
	}
}

/// One store's phase: set up, idle sample, probe, warm up, the counted runs, stop.
async fn run_store(
	chain: &mut Chain, root: &Path, store: StoreKind, tower: bool, postgres: &HubDatabases,
	plan: &Plan, args: &PaymentsArgs,
) -> Result<StoreResult, String> {
	let started = Instant::now();
	let rss_start_kb = ProcSample::read().rss_kb;
	let name = label(store, tower);
	eprintln!("[{name}] starting the hub and {} payers", plan.payers);
	let dir = root.join(&name);
	let tower = match tower {
		true => Some(start_tower(chain, &dir).await?),
		false => None,
	};
	let towers: Vec<String> = tower.iter().map(|t| t.local_addr().to_string()).collect();
	let postgres_url = postgres.url_for(store, &name)?;
	let network = start_network(chain, &dir, store, postgres_url, plan, &towers).await?;
	if let Err(e) = open_channels(chain, &network, plan).await {
		network.stop().await;
		if let Some(tower) = tower {
			tower.shutdown().await;
		}
		return Err(e);
	}
	let setup_s = started.elapsed().as_secs_f64();
	let idle_cpu_cores = idle_cpu_cores().await;
	eprintln!(
		"[{}] {} channels usable after {setup_s:.1} s; idle, the nodes keep {idle_cpu_cores:.2} \
		 cores busy",
		store.as_str(),
		plan.payers
	);
	let runs = measure(&network, &name, args).await;
	let rss_end_kb = ProcSample::read().rss_kb;
	if let Some(towers) = network.hub.towers() {
		for status in towers {
			eprintln!(
				"[{name}] tower {}: {} appointments delivered, {} pending",
				status.url, status.delivered, status.pending
			);
		}
	}
	network.stop().await;
	if let Some(tower) = tower {
		tower.shutdown().await;
	}
	let phase = Phase {
		setup_s,
		rss_start_mb: rss_start_kb as f64 / 1024.0,
		rss_end_mb: rss_end_kb as f64 / 1024.0,
		idle_cpu_cores,
	};
	let (sweep, at_load) = runs?;
	let mut result =
		StoreResult::new(&name, sweep, phase).ok_or_else(|| "no run was made".to_string())?;
	result.at_load = at_load;
	Ok(result)
}

/// CPU cores the process keeps busy over `IDLE_SAMPLE` without payments.
async fn idle_cpu_cores() -> f64 {
	let before = ProcSample::read();
	let started = Instant::now();
	tokio::time::sleep(IDLE_SAMPLE).await;
	let cpu_s = ProcSample::read().cpu_s - before.cpu_s;
	cpu_s / started.elapsed().as_secs_f64()
}

/// The probe, the warm-up and one counted run per concurrency.
async fn measure(
	network: &Network, name: &str, args: &PaymentsArgs,
) -> Result<(Vec<RunResult>, Option<RunResult>), String> {
	let receiver = network.merchant.clone().unwrap_or_else(|| network.hub.clone());
	let workload = Arc::new(Workload {
		payers: Arc::clone(&network.payers),
		receiver,
		seed: args.seed,
		amount_min_sat: args.amount_min_sat,
		amount_max_sat: args.amount_max_sat,
	});
	let probe = workload.run(0, 1, 1, &Arc::new(Progress::silent())).await;
	if probe.failed > 0 {
		return Err(format!("the probe payment failed: {}", probe.errors.join(" | ")));
	}
	let warmup = args.warmup();
	let max_concurrency = args.concurrency.iter().copied().max().unwrap_or(1);
	if warmup > 0 {
		eprintln!("[{}] warm-up: {warmup} payments", name);
		let progress = Arc::new(Progress::start(format!("[{name}] warm-up"), warmup, "payments"));
		workload.run(1, warmup, max_concurrency, &progress).await;
	}
	let mut first_index = 1 + warmup;
	let mut runs = Vec::new();
	for &concurrency in &args.concurrency {
		let phase = format!("[{name}] C={concurrency}");
		let progress = Arc::new(Progress::start(phase, args.payments, "payments"));
		let payments = workload.run(first_index, args.payments, concurrency, &progress);
		let run = measured(&network.hub, concurrency, None, payments).await;
		drop(progress);
		first_index += args.payments;
		eprintln!(
			"[{}] C={concurrency}: {:.1} payments/s, p50 {:.1} ms, {} failed",
			name,
			run.payments_per_s,
			run.p50_ms.unwrap_or(0.0),
			run.failed
		);
		runs.push(run);
	}
	let best = runs.iter().map(|r| r.payments_per_s).fold(0.0, f64::max);
	if args.load_fraction <= 0.0 || best <= 0.0 {
		return Ok((runs, None));
	}
	let rate = best * args.load_fraction;
	let phase = format!("[{name}] open loop at {rate:.1}/s");
	let progress = Arc::new(Progress::start(phase, args.payments, "payments"));
	let payments = workload.run_at_rate(first_index, args.payments, rate, &progress);
	let run = measured(&network.hub, 0, Some(rate), payments).await;
	drop(progress);
	eprintln!(
		"[{}] open loop at {rate:.1}/s ({:.0}% of {best:.1}): p50 {:.1} ms, p99 {:.1} ms, {} failed",
		name,
		args.load_fraction * 100.0,
		run.p50_ms.unwrap_or(0.0),
		run.p99_ms.unwrap_or(0.0),
		run.failed
	);
	Ok((runs, Some(run)))
}

/// Runs `payments`, reading the process's and the hub store's counters around them.
async fn measured(
	hub: &Node, concurrency: usize, offered_per_s: Option<f64>,
	payments: impl std::future::Future<Output = Outcome>,
) -> RunResult {
	let peak_rss_reset = reset_peak_rss();
	let (proc_before, store_before) = (ProcSample::read(), hub.store_stats());
	let outcome = payments.await;
	let (proc_after, store_after) = (ProcSample::read(), hub.store_stats());
	RunResult::new(RunMeasurement {
		concurrency,
		offered_per_s,
		outcome,
		proc_before,
		proc_after,
		peak_rss_reset,
		store_before,
		store_after,
	})
}
