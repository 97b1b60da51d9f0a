//! `fulgur bench payments`: many payers paying a merchant through one hub (or the hub itself),
//! once per channel count and store kind of the hub, in one run.
//!
//! The hub is the node under test and runs in a process of its own (`fulgur bench
//! hub-process`), so the CPU, disk and memory read from `/proc/<pid>` are its alone; payers
//! and merchant are load generators in this process and always use the memory store. All
//! nodes talk over loopback TCP; channels are funded by the hub on a regtest bitcoind and
//! confirmed. Each phase: start the nodes, fund and open the channels, make one probe payment
//! (it must succeed), the warm-up, then the counted runs (one per concurrency), then stop
//! every node so the next phase starts clean on the same bitcoind.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::net::SocketAddr;

use fulgur_base::throwaway_postgres::ThrowawayPostgres;
use fulgur_node::StoreKind;
use fulgur_watchtower::server::{Tower, TowerConfig, TowerOptions};
use serde_json::{json, Map, Value};

use super::chain::Chain;
use super::channels::grow_chain;
use super::hub::RemoteHub;
use super::measure::ProcSample;
use super::network::{open_channels, start_network, Network};
use super::plan::Plan;
use super::report::{Phase, Report, RunMeasurement, RunResult, StoreResult};
use super::sweep;
use super::workload::{Outcome, Receiver, Workload};
use super::PaymentsArgs;
use crate::progress::Progress;

/// How long the idle CPU is sampled before the payments.
const IDLE_SAMPLE: Duration = Duration::from_secs(5);

/// Runs the benchmark: every channel count and store in turn, then the tables and the JSON.
pub async fn run(args: PaymentsArgs) -> Result<(), String> {
	args.check()?;
	let load_run = u64::from(args.load_fraction > 0.0);
	let per_store = 1 + args.warmup() + args.payments * (args.concurrency.len() as u64 + load_run);
	let max_concurrency = args.concurrency.iter().copied().max().unwrap_or(1);
	let plans = args
		.channels
		.iter()
		.map(|&channels| {
			let (payers, max, hops) = (args.payers, args.amount_max_sat, args.hops);
			Plan::new(channels, payers, per_store, max, hops, max_concurrency)
		})
		.collect::<Result<Vec<Plan>, String>>()?;
	let dir = args.output.work_dir()?;
	eprintln!("bench payments: working in {}", dir.display());
	let variants: Vec<(StoreKind, bool)> = args
		.stores
		.iter()
		.flat_map(|&store| [(store, false), (store, true)])
		.filter(|&(_, tower)| !tower || args.tower)
		.collect();
	let coinbases = plans.iter().map(Plan::fan_outs).sum::<usize>() * variants.len();
	let mut chain = match Chain::start(&dir.join("bitcoind"), coinbases).await {
		Ok(chain) => chain,
		Err(e) => return Err(format!("{e} (working directory kept: {})", dir.display())),
	};
	let most = plans.iter().map(|p| p.channels + p.merchant_channels).max().unwrap_or(0);
	if let Err(e) = grow_chain(&chain, most).await {
		chain.stop().await;
		return Err(format!("{e} (working directory kept: {})", dir.display()));
	}
	let postgres = match HubDatabases::for_args(&args).await {
		Ok(postgres) => postgres,
		Err(e) => {
			chain.stop().await;
			return Err(format!("{e} (working directory kept: {})", dir.display()));
		}
	};
	let mut points: Vec<(usize, Vec<StoreResult>)> = Vec::new();
	let mut reports: Vec<(usize, Report)> = Vec::new();
	let mut failure = None;
	for plan in &plans {
		let mut stores = Vec::new();
		for &(store, tower) in &variants {
			match run_store(&mut chain, &dir, store, tower, &postgres, plan, &args).await {
				Ok(result) => stores.push(result),
				Err(e) => {
					let at = format!("{} at {} channels", label(store, tower), plan.channels);
					failure = Some(format!("{at}: {e}"));
					break;
				}
			}
		}
		if !stores.is_empty() {
			// Each count's table as soon as it is done, and the sweep so far: a long sweep
			// stopped midway keeps what it measured.
			let report = Report { config: config_json(&args, plan), stores: stores.clone() };
			print!("{}", report.table(&header(&args, plan)));
			points.push((plan.channels, stores));
			reports.push((plan.channels, report));
			if points.len() > 1 || plans.len() == 1 {
				print!("{}", sweep::table(&sweep::rows(&points)));
			}
		}
		if failure.is_some() {
			break;
		}
	}
	chain.stop().await;
	drop(postgres);
	let rows = sweep::rows(&points);
	if let Some(e) = failure {
		return Err(format!("{e} (working directory kept: {})", dir.display()));
	}
	super::write_json(args.output.json.as_deref(), &to_json(&reports, &rows))?;
	args.output.finish(&dir);
	Ok(())
}

/// The JSON document: the first channel count's report at the top level (today's keys), every
/// count's under `by_channels`, and the sweep's rows.
fn to_json(reports: &[(usize, Report)], rows: &[sweep::SweepRow]) -> Value {
	let mut document = match reports.first() {
		Some((_, report)) => report.to_json(),
		None => json!({}),
	};
	let by_channels: Map<String, Value> =
		reports.iter().map(|(channels, report)| (channels.to_string(), report.to_json())).collect();
	if let Some(object) = document.as_object_mut() {
		object.insert("by_channels".into(), Value::Object(by_channels));
		object.insert("sweep".into(), sweep::to_json(rows));
	}
	document
}

fn header(args: &PaymentsArgs, plan: &Plan) -> Vec<String> {
	let route = if args.hops == 2 { "payer -> hub -> merchant" } else { "payer -> hub" };
	vec![
		format!(
			"fulgur bench payments: {} channels on {} payers, {route}; the hub is the node under \
			 test (its own process, its store per row), payers{} use the memory store (load \
			 generators, in the benchmark's process)",
			plan.channels,
			plan.payers,
			if args.hops == 2 { " and merchant" } else { "" }
		),
		format!(
			"{} payments of {}-{} sat per row after {} warm-up; CPU, disk, flushes and RSS are \
			 the hub process's alone (gen ms/pay: the load generators' CPU)",
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
		"channels": plan.channels,
		"channel_counts": args.channels,
		"payers": plan.payers,
		"max_payers": args.payers,
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
		"cpu_and_disk": "the hub's process alone (/proc/<pid>); load_cpu_s_per_payment: the \
			load generators' process",
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

/// One store's phase at one channel count: set up, idle sample, probe, warm up, the counted
/// runs, stop.
async fn run_store(
	chain: &mut Chain, root: &Path, store: StoreKind, tower: bool, postgres: &HubDatabases,
	plan: &Plan, args: &PaymentsArgs,
) -> Result<StoreResult, String> {
	let started = Instant::now();
	let name = label(store, tower);
	let phase_name = format!("{name} {}ch", plan.channels);
	eprintln!(
		"[{phase_name}] starting the hub process, {} payers{}",
		plan.payers,
		if plan.merchant_channels > 0 { " and the merchant" } else { "" }
	);
	let dir = root.join(format!("{}-{name}", plan.channels));
	let tower = match tower {
		true => Some(start_tower(chain, &dir).await?),
		false => None,
	};
	let towers: Vec<String> = tower.iter().map(|t| t.local_addr().to_string()).collect();
	let postgres_url = postgres.url_for(store, &format!("{name}_{}", plan.channels))?;
	let network =
		start_network(chain, &dir, store, postgres_url, plan, &towers, args.receive_delay).await?;
	eprintln!(
		"[{phase_name}] funding and opening {} channels",
		plan.channels + plan.merchant_channels
	);
	if let Err(e) = open_channels(chain, &network, plan).await {
		network.stop().await;
		if let Some(tower) = tower {
			tower.shutdown().await;
		}
		return Err(e);
	}
	let setup_s = started.elapsed().as_secs_f64();
	let rss_start_kb = network.hub.proc_sample().rss_kb;
	let idle_cpu_cores = idle_cpu_cores(&network.hub).await;
	eprintln!(
		"[{phase_name}] channels usable after {setup_s:.1} s; idle, the hub keeps \
		 {idle_cpu_cores:.2} cores busy"
	);
	let runs = measure(&network, &phase_name, args).await;
	let rss_end_kb = network.hub.proc_sample().rss_kb;
	for status in network.hub.towers().await {
		eprintln!(
			"[{phase_name}] tower {}: {} appointments delivered, {} pending",
			status.url, status.delivered, status.pending
		);
	}
	eprintln!("[{phase_name}] stopping the nodes");
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

/// CPU cores the hub process keeps busy over `IDLE_SAMPLE` without payments.
async fn idle_cpu_cores(hub: &RemoteHub) -> f64 {
	let before = hub.proc_sample();
	let started = Instant::now();
	tokio::time::sleep(IDLE_SAMPLE).await;
	let cpu_s = hub.proc_sample().cpu_s - before.cpu_s;
	cpu_s / started.elapsed().as_secs_f64()
}

/// The probe, the warm-up and one counted run per concurrency.
async fn measure(
	network: &Network, name: &str, args: &PaymentsArgs,
) -> Result<(Vec<RunResult>, Option<RunResult>), String> {
	let receiver = match &network.merchant {
		Some(merchant) => Receiver::Local(merchant.clone()),
		None => Receiver::Hub(Arc::clone(&network.hub)),
	};
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
		eprintln!("[{name}] warm-up: {warmup} payments");
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
			"[{name}] C={concurrency}: {:.1} payments/s, p50 {:.1} ms, hub {:.2} CPU ms/payment, \
			 {} failed",
			run.payments_per_s,
			run.p50_ms.unwrap_or(0.0),
			run.cpu_s_per_payment * 1000.0,
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
		"[{name}] open loop at {rate:.1}/s ({:.0}% of {best:.1}): p50 {:.1} ms, p99 {:.1} ms, {} failed",
		args.load_fraction * 100.0,
		run.p50_ms.unwrap_or(0.0),
		run.p99_ms.unwrap_or(0.0),
		run.failed
	);
	Ok((runs, Some(run)))
}

/// Runs `payments`, reading the hub process's and its store's counters (and the load
/// generators' process's) around them.
async fn measured(
	hub: &RemoteHub, concurrency: usize, offered_per_s: Option<f64>,
	payments: impl std::future::Future<Output = Outcome>,
) -> RunResult {
	let peak_rss_reset = hub.reset_peak_rss();
	let store_before = hub.store_stats().await;
	let (proc_before, load_before) = (hub.proc_sample(), ProcSample::read());
	let outcome = payments.await;
	let (proc_after, load_after) = (hub.proc_sample(), ProcSample::read());
	let store_after = hub.store_stats().await;
	RunResult::new(RunMeasurement {
		concurrency,
		offered_per_s,
		outcome,
		proc_before,
		proc_after,
		load_before,
		load_after,
		peak_rss_reset,
		store_before,
		store_after,
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Today's keys stay at the top level (from the first channel count); every count is under
	/// `by_channels`, and `sweep` is an array.
	#[test]
	fn json_keeps_todays_keys_and_adds_the_sweep() {
		let report =
			|channels: usize| Report { config: json!({ "channels": channels }), stores: vec![] };
		let document = to_json(&[(100, report(100)), (1000, report(1000))], &[]);
		for key in [
			"config",
			"stores",
			"ratio_sled_memory",
			"ratio_sled_fs_sync",
			"p99_ms_at_load",
			"warnings",
		] {
			assert!(document.get(key).is_some(), "{key} missing: {document}");
		}
		assert_eq!(document["config"]["channels"], json!(100));
		assert_eq!(document["by_channels"]["1000"]["config"]["channels"], json!(1000));
		assert_eq!(document["sweep"], json!([]));
	}
}
