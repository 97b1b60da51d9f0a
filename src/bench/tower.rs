//! `fulgur bench tower`: the watchtower under a million appointments.
//!
//! 1. In the benchmark's process, an empty tower: blocks of 3,000 transactions scanned (the
//!    scan baseline), then appointments put straight into its watcher (the ingest baseline:
//!    the same checks, storage and group commit, no HTTP or JSON).
//! 2. A tower in a process of its own (`fulgur bench tower-process`) ingests N appointments
//!    through its real HTTP API, C in flight, each acknowledged only once on disk; its CPU and
//!    RSS are read from `/proc/<pid>` as the store grows, so they are the tower's alone.
//! 3. That database reopened in the benchmark's process (start-up with N stored) and scanned
//!    with the same kind of blocks, a few of them breached per block (so decryption, the
//!    responder and the carrier to a real bitcoind are in the path).
//!
//! Disk bytes per appointment are the tower directory's size over N.

pub mod child;
mod ingest;
mod workload;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use fulgur_watchtower::client::TowerClient;
use fulgur_watchtower::server::{
	self, Carrier, Refusals, RegistrationCaps, SubscriptionConfig, TowerCore, TowerOptions,
};
use fulgur_watchtower::UserId;
use lightning::chain::Listen;
use serde_json::json;

use crate::bench::measure::ProcSample;
use crate::bitcoind::{Bitcoind, BitcoindConfig};
use crate::progress::{self, Progress};
use crate::regtest::launch::RpcEndpoint;
use child::RemoteTower;
use ingest::Sent;
use workload::Workload;

/// `fulgur bench tower`.
#[derive(Args, Debug, Clone)]
pub struct TowerArgs {
	/// Appointments to store
	#[arg(long, default_value_t = 1_000_000)]
	pub appointments: u64,
	/// Users the appointments are spread over
	#[arg(long, default_value_t = 100)]
	pub users: usize,
	/// Requests in flight at once
	#[arg(long, default_value_t = 64)]
	pub concurrency: usize,
	/// Blocks scanned per measurement (after one warm-up block)
	#[arg(long, default_value_t = 20)]
	pub blocks: u32,
	/// Transactions per block
	#[arg(long, default_value_t = 3000)]
	pub block_txs: usize,
	/// Stored appointments whose commitment is in each scanned block
	#[arg(long, default_value_t = 2)]
	pub breaches_per_block: usize,
	/// Appointments of the direct-insert baseline (default min(N, 100,000))
	#[arg(long)]
	pub baseline_appointments: Option<u64>,
	/// sled page cache of the tower, MB
	#[arg(long, default_value_t = 64)]
	pub cache_mb: u64,
	/// As `fulgur tower --flush-pace-ms` (0: a flush whenever an appointment waits)
	#[arg(long, default_value_t = server::options::DEFAULT_FLUSH_PACE.as_millis() as u64)]
	pub flush_pace_ms: u64,
	/// Where the results and the working files go
	#[command(flatten)]
	pub output: super::OutputArgs,
}

/// Appointments generated (signed) at once before being sent: bounds the bench's own memory.
const CHUNK: u64 = 20_000;

fn dir_size(path: &Path) -> u64 {
	let Ok(entries) = std::fs::read_dir(path) else { return 0 };
	entries
		.flatten()
		.map(|e| match e.metadata() {
			Ok(m) if m.is_dir() => dir_size(&e.path()),
			Ok(m) => m.len(),
			Err(_) => 0,
		})
		.sum()
}

/// Feeds `blocks` blocks to the tower; returns ms per block (mean) and the slowest.
async fn scan(
	core: &Arc<TowerCore>, workload: &Arc<Workload>, args: &TowerArgs, first_height: u32,
	stored: u64,
) -> Result<(f64, f64), String> {
	let listener = Arc::new(core.chain_listener());
	let (core, workload, args) = (Arc::clone(core), Arc::clone(workload), args.clone());
	tokio::task::spawn_blocking(move || {
		let mut prev = core
			.db()
			.tip()
			.map_err(|e| e.to_string())?
			.map(|(h, _)| h)
			.unwrap_or(bitcoin::BlockHash::from_raw_hash(bitcoin::hashes::Hash::all_zeros()));
		let (mut total, mut worst) = (0.0, 0.0f64);
		// Block 0 warms caches up and is not counted.
		for b in 0..=args.blocks {
			let height = first_height + b;
			let k = if stored == 0 || b == 0 { 0 } else { args.breaches_per_block as u64 };
			let step = stored / (u64::from(args.blocks) * k + 1).max(1);
			let breaches: Vec<u64> =
				(0..k).map(|j| (u64::from(b - 1) * k + j + 1) * step).collect();
			let block = workload.block(prev, height, args.block_txs, &breaches);
			let start = Instant::now();
			listener.block_connected(&block, height);
			let ms = start.elapsed().as_secs_f64() * 1000.0;
			if b > 0 {
				total += ms;
				worst = worst.max(ms);
			}
			prev = block.block_hash();
		}
		Ok((total / f64::from(args.blocks.max(1)), worst))
	})
	.await
	.map_err(|e| e.to_string())?
}

/// The tower's options for `appointments` spread over `users` (who all register from one
/// address, at once), with a sled page cache of `cache_mb` and flushes `flush_pace_ms` apart.
fn options(appointments: u64, users: usize, cache_mb: u64, flush_pace_ms: u64) -> TowerOptions {
	let per_user = appointments.div_ceil(users.max(1) as u64) + 1_000;
	let slots = u32::try_from(per_user).unwrap_or(u32::MAX);
	TowerOptions {
		subscription: SubscriptionConfig {
			slots,
			duration: 1_000_000,
			..SubscriptionConfig::default()
		},
		caps: RegistrationCaps {
			max_users: users,
			max_slots_per_user: slots,
			max_total_slots: u64::from(slots) * users as u64,
			registrations_per_hour: 0,
		},
		cache_bytes: cache_mb * 1024 * 1024,
		flush_pace: std::time::Duration::from_millis(flush_pace_ms),
		..TowerOptions::default()
	}
}

/// Runs the benchmark.
pub async fn run(args: TowerArgs) -> Result<(), String> {
	if args.appointments == 0 || args.users == 0 || args.blocks == 0 {
		return Err("--appointments, --users and --blocks must be at least 1".into());
	}
	let dir = args.output.work_dir()?;
	eprintln!("bench tower: working in {}", dir.display());
	let result = run_in(&args, &dir).await;
	args.output.finish(&dir);
	result
}

async fn run_in(args: &TowerArgs, dir: &Path) -> Result<(), String> {
	server::log::set_level(server::log::Level::Warn);
	let bitcoind = Bitcoind::start(BitcoindConfig::new(dir.join("bitcoind")))
		.await
		.map_err(|e| format!("bitcoind: {e}"))?;
	let rpc = format!("127.0.0.1:{}", bitcoind.rpc_port());
	let refusals = Arc::new(Refusals::default());
	let carrier = || -> Result<Arc<Carrier>, String> {
		let client = server::rpc_client(&rpc, bitcoind.rpc_user(), bitcoind.rpc_password())?;
		let handle = tokio::runtime::Handle::current();
		Ok(Arc::new(Carrier::new(Arc::new(client), handle, Arc::clone(&refusals))))
	};
	let opts = options(args.appointments, args.users, args.cache_mb, args.flush_pace_ms);
	let workload = Arc::new(Workload::new(args.users));
	let n = args.appointments;
	let baseline_n = args.baseline_appointments.unwrap_or(n.min(100_000)).min(n);

	// 1. In this process, an empty tower: the scan baseline, then the ingest baseline.
	let direct_core =
		TowerCore::open(&dir.join("direct"), &opts, carrier()?, Arc::clone(&refusals))
			.map_err(|e| e.to_string())?;
	let (scan_empty_ms, scan_empty_max) = scan(&direct_core, &workload, args, 1, 0).await?;
	eprintln!("scan, 0 stored: {scan_empty_ms:.1} ms per block of {} txs", args.block_txs);
	for sk in workload.users() {
		direct_core
			.gatekeeper()
			.register(UserId::from_secret_key(sk))
			.map_err(|e| e.to_string())?;
	}
	let mut direct = Sent::default();
	let mut from = 0;
	while from < baseline_n {
		let to = (from + CHUNK).min(baseline_n);
		direct.add(
			ingest::direct(&direct_core, workload.requests(from, to, 2), args.concurrency).await,
		);
		from = to;
	}
	let direct_per_s = direct.ok as f64 / direct.elapsed.as_secs_f64().max(1e-9);
	eprintln!("direct to the watcher: {direct_per_s:.0}/s");
	drop(direct_core);

	// 2. Ingest through the API of a tower in its own process.
	let tower_dir = dir.join("tower");
	let endpoint = RpcEndpoint {
		addr: rpc.clone(),
		user: bitcoind.rpc_user().to_owned(),
		password: bitcoind.rpc_password().to_owned(),
	};
	let tower = RemoteTower::start(&tower_dir, args, &endpoint).await?;
	let client = TowerClient::new(&tower.url);
	for sk in workload.users() {
		client.register(UserId::from_secret_key(sk)).await.map_err(|e| e.to_string())?;
	}
	let tower_mb = |sample: ProcSample| sample.rss_kb as f64 / 1024.0;
	let before = tower.sample();
	let rss_start = tower_mb(before);
	let (mut api, mut api_first) = (Sent::default(), Sent::default());
	let mut rss_samples = Vec::new();
	let mut cpu_first = 0.0;
	let mut from = 0;
	let progress = Progress::start("ingesting appointments", n, "appointments");
	while from < n {
		let to = (from + CHUNK).min(n);
		let requests = workload.requests(from, to, 2);
		let sent = ingest::via_api(&client, requests, args.concurrency).await?;
		let sample = tower.sample();
		if to <= baseline_n {
			api_first.add(Sent {
				ok: sent.ok,
				failed: sent.failed,
				first_error: None,
				elapsed: sent.elapsed,
			});
			cpu_first = sample.cpu_s - before.cpu_s;
		}
		api.add(sent);
		rss_samples.push((to, tower_mb(sample)));
		let rate = api.ok as f64 / api.elapsed.as_secs_f64().max(1e-9);
		progress.add(to - from);
		let rss = tower_mb(sample);
		progress::line(&format!("ingested {to} of {n}: {rate:.0}/s, tower RSS {rss:.0} MB"));
		from = to;
	}
	drop(progress);
	if api.failed > 0 {
		eprintln!("WARNING: {} appointments refused; first: {:?}", api.failed, api.first_error);
	}
	let ingest_per_s = api.ok as f64 / api.elapsed.as_secs_f64().max(1e-9);
	let after = tower.sample();
	let rss_end = tower_mb(after);
	let cpu_us = |cpu_s: f64, ok: u64| cpu_s * 1e6 / ok.max(1) as f64;
	let tower_cpu_us = cpu_us(after.cpu_s - before.cpu_s, api.ok);
	let tower_cpu_us_first = cpu_us(cpu_first, api_first.ok);
	let stats = tower.stop().await?;

	// 3. The same database reopened in this process (start-up with N stored), then scanned.
	let opened = Instant::now();
	let core = TowerCore::open(&tower_dir, &opts, carrier()?, Arc::clone(&refusals))
		.map_err(|e| e.to_string())?;
	let reopen_s = opened.elapsed().as_secs_f64();
	eprintln!("reopened with {n} stored in {reopen_s:.2} s");
	let (scan_ms, scan_max) = scan(&core, &workload, args, 1, n).await?;
	eprintln!("scan, {n} stored: {scan_ms:.1} ms per block");
	let trackers = core.responder().tracker_count();
	let disk = dir_size(&tower_dir);
	drop(core);
	let api_first_per_s = api_first.ok as f64 / api_first.elapsed.as_secs_f64().max(1e-9);
	let _ = bitcoind.stop().await;

	let rss_after = |target: u64| {
		rss_samples.iter().find(|(done, _)| *done >= target).map_or(rss_end, |(_, rss)| *rss)
	};
	let rss_at = |share: f64| rss_after(((n as f64) * share) as u64);
	// Growth per stored appointment over the second half of the ingest (sled's cache is full
	// long before): what each further appointment costs in memory.
	let (half, last) = (rss_samples.iter().find(|(done, _)| *done >= n / 2), rss_samples.last());
	let growth_per_appointment = match (half, last) {
		(Some((from, rss_from)), Some((to, rss_to))) if to > from => {
			(rss_to - rss_from) * 1024.0 * 1024.0 / (to - from) as f64
		}
		_ => f64::NAN,
	};
	let report = json!({
		"appointments": n,
		"users": args.users,
		"concurrency": args.concurrency,
		"flush_pace_ms": args.flush_pace_ms,
		"block_txs": args.block_txs,
		"blocks_per_scan": args.blocks,
		"breaches_per_block": args.breaches_per_block,
		"ingest_per_s": ingest_per_s,
		"ingest_ok": api.ok,
		"ingest_failed": api.failed,
		"ingest_first_error": api.first_error,
		"ingest_flushes_per_appointment": stats.flushes as f64 / n as f64,
		"ingest_http_connections": stats.connections,
		"ingest_requests_per_connection": stats.requests as f64 / stats.connections.max(1) as f64,
		"tower_cpu_us_per_appointment": tower_cpu_us,
		"tower_cpu_us_per_appointment_first": tower_cpu_us_first,
		"tower_reopen_s": reopen_s,
		"ingest_api_first_per_s": api_first_per_s,
		"ingest_direct_per_s": direct_per_s,
		"ingest_direct_appointments": baseline_n,
		"ingest_api_over_direct": api_first_per_s / direct_per_s.max(1e-9),
		"scan_ms_per_block": scan_ms,
		"scan_ms_max": scan_max,
		"scan_ms_per_block_empty": scan_empty_ms,
		"scan_ms_max_empty": scan_empty_max,
		"scan_stored_over_empty": scan_ms / scan_empty_ms.max(1e-9),
		"trackers_after_scan": trackers,
		"locator_index_entries": stats.indexed_locators,
		"disk_bytes": disk,
		"disk_bytes_per_appointment": disk as f64 / n as f64,
		"rss_mb": rss_end,
		"rss_mb_before_ingest": rss_start,
		"rss_mb_at_10pct": rss_at(0.1),
		"rss_mb_at_50pct": rss_at(0.5),
		"rss_growth_10pct_to_end": rss_end / rss_at(0.1).max(1e-9),
		"rss_mb_at_100k": rss_after(100_000),
		"rss_mb_at_500k": rss_after(500_000),
		"rss_bytes_per_appointment_second_half": growth_per_appointment,
	});
	print_table(&report);
	super::write_json(args.output.json.as_deref(), &report)?;
	Ok(())
}

fn print_table(r: &serde_json::Value) {
	let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
	println!(
		"fulgur bench tower: {} appointments, {} users, {} in flight",
		r["appointments"], r["users"], r["concurrency"]
	);
	println!("{:<44} {:>14}", "metric", "value");
	let rows = [
		("ingest via API, appointments/s", f("ingest_per_s"), ""),
		("  first N' via API, appointments/s", f("ingest_api_first_per_s"), ""),
		("  same N' direct to watcher, appointments/s", f("ingest_direct_per_s"), ""),
		("  API / direct", f("ingest_api_over_direct"), "x"),
		("  tower CPU per appointment, us", f("tower_cpu_us_per_appointment"), ""),
		("  flushes per appointment", f("ingest_flushes_per_appointment"), ""),
		("  HTTP connections", f("ingest_http_connections"), ""),
		("  requests per connection", f("ingest_requests_per_connection"), ""),
		("tower start-up with all stored, s", f("tower_reopen_s"), ""),
		("scan, 0 stored, ms per block", f("scan_ms_per_block_empty"), ""),
		("scan, all stored, ms per block", f("scan_ms_per_block"), ""),
		("  slowest block, ms", f("scan_ms_max"), ""),
		("  stored / empty", f("scan_stored_over_empty"), "x"),
		("disk bytes per appointment", f("disk_bytes_per_appointment"), ""),
		("tower RSS before ingest, MB", f("rss_mb_before_ingest"), ""),
		("RSS at 10% stored, MB", f("rss_mb_at_10pct"), ""),
		("RSS at 50% stored, MB", f("rss_mb_at_50pct"), ""),
		("RSS at the end, MB", f("rss_mb"), ""),
		("  end / 10%", f("rss_growth_10pct_to_end"), "x"),
		("RSS at 100,000 stored, MB", f("rss_mb_at_100k"), ""),
		("RSS at 500,000 stored, MB", f("rss_mb_at_500k"), ""),
		("RSS growth 50%..end, B per appointment", f("rss_bytes_per_appointment_second_half"), ""),
	];
	for (name, value, unit) in rows {
		println!("{name:<44} {value:>13.2}{unit}");
	}
}
