//! Results of `fulgur bench payments`: per run, per store, the table and the JSON.

use fulgur_node::store::StoreStats;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::measure::ProcSample;
use super::workload::Outcome;

/// Failure share above which the report warns loudly.
const FAILURE_WARNING_SHARE: f64 = 0.01;
/// Error texts kept per run.
pub const ERRORS_KEPT: usize = 5;

/// What one counted run produced, raw.
#[derive(Debug)]
pub struct RunMeasurement {
	/// Payments in flight at once (0 for an open-loop run).
	pub concurrency: usize,
	/// For an open-loop run: payments started per second.
	pub offered_per_s: Option<f64>,
	/// What the payments did.
	pub outcome: Outcome,
	/// The hub's process before the run (after resetting its peak RSS).
	pub proc_before: ProcSample,
	/// The hub's process after the run.
	pub proc_after: ProcSample,
	/// The load generators' process (payers, merchant) before the run.
	pub load_before: ProcSample,
	/// The load generators' process after the run.
	pub load_after: ProcSample,
	/// Whether the peak RSS was reset at the start of the run (else it is the process's).
	pub peak_rss_reset: bool,
	/// The hub's store counters before the run.
	pub store_before: StoreStats,
	/// The hub's store counters after the run.
	pub store_after: StoreStats,
}

/// One counted run, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
	/// Payments in flight at once (0 for an open-loop run).
	pub concurrency: usize,
	/// For an open-loop run: payments started per second, whatever the node keeps up with.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub offered_per_s: Option<f64>,
	/// Payments attempted.
	pub payments: u64,
	/// Payments that succeeded.
	pub succeeded: u64,
	/// Payments that failed.
	pub failed: u64,
	/// Wall time, seconds.
	pub wall_s: f64,
	/// Succeeded payments per second of wall time.
	pub payments_per_s: f64,
	/// Invoice + payment latency percentiles (ms).
	pub p50_ms: Option<f64>,
	/// 90th percentile.
	pub p90_ms: Option<f64>,
	/// 99th percentile.
	pub p99_ms: Option<f64>,
	/// Slowest.
	pub max_ms: Option<f64>,
	/// Payment-only latency percentiles (ms), without the invoice.
	pub pay_p50_ms: Option<f64>,
	/// 99th percentile of the payment alone.
	pub pay_p99_ms: Option<f64>,
	/// The hub store's flushes (fsyncs for fs-sync, group commits for sled) per payment.
	pub flushes_per_payment: f64,
	/// The hub store's writes per payment.
	pub store_writes_per_payment: f64,
	/// The hub store's payload bytes written per payment.
	pub store_bytes_per_payment: f64,
	/// Bytes the hub's process caused to be written to disk per payment (`write_bytes`).
	pub disk_bytes_per_payment: f64,
	/// The hub process's CPU seconds (user + system) per payment.
	pub cpu_s_per_payment: f64,
	/// The hub's CPU seconds per wall second: how many cores it kept busy.
	pub cpu_cores_busy: f64,
	/// The load generators' process (payers, merchant) CPU seconds per payment.
	pub load_cpu_s_per_payment: f64,
	/// The hub's peak resident memory during the run, MB (see `peak_rss_is_per_run`).
	pub peak_rss_mb: f64,
	/// True when the peak was reset at the start of the run; false: since the process started.
	pub peak_rss_is_per_run: bool,
	/// Power-of-two latency histogram: `[upper bound ms, count]`.
	pub latency_histogram_ms: Vec<(f64, u64)>,
	/// The first distinct errors.
	pub errors: Vec<String>,
}

impl RunResult {
	/// Derives the reported numbers.
	pub fn new(m: RunMeasurement) -> RunResult {
		let RunMeasurement { concurrency, offered_per_s, outcome: mut o, .. } = m;
		let per = o.succeeded.max(1) as f64;
		let wall_s = o.wall.as_secs_f64();
		let cpu_s = (m.proc_after.cpu_s - m.proc_before.cpu_s).max(0.0);
		let store = |f: fn(&StoreStats) -> u64| {
			f(&m.store_after).saturating_sub(f(&m.store_before)) as f64 / per
		};
		RunResult {
			concurrency,
			offered_per_s,
			payments: o.succeeded + o.failed,
			succeeded: o.succeeded,
			failed: o.failed,
			wall_s,
			payments_per_s: if wall_s > 0.0 { o.succeeded as f64 / wall_s } else { 0.0 },
			p50_ms: o.latencies.percentile_ms(50.0),
			p90_ms: o.latencies.percentile_ms(90.0),
			p99_ms: o.latencies.percentile_ms(99.0),
			max_ms: o.latencies.max_ms(),
			pay_p50_ms: o.pay_latencies.percentile_ms(50.0),
			pay_p99_ms: o.pay_latencies.percentile_ms(99.0),
			flushes_per_payment: store(|s| s.flushes),
			store_writes_per_payment: store(|s| s.writes + s.removes),
			store_bytes_per_payment: store(|s| s.bytes_written),
			disk_bytes_per_payment: m
				.proc_after
				.write_bytes
				.saturating_sub(m.proc_before.write_bytes) as f64
				/ per,
			cpu_s_per_payment: cpu_s / per,
			cpu_cores_busy: if wall_s > 0.0 { cpu_s / wall_s } else { 0.0 },
			load_cpu_s_per_payment: (m.load_after.cpu_s - m.load_before.cpu_s).max(0.0) / per,
			peak_rss_mb: m.proc_after.peak_rss_kb as f64 / 1024.0,
			peak_rss_is_per_run: m.peak_rss_reset,
			latency_histogram_ms: o.latencies.histogram_ms(),
			errors: o.errors,
		}
	}

	/// Failed share of the attempted payments.
	pub fn failure_share(&self) -> f64 {
		self.failed as f64 / self.payments.max(1) as f64
	}
}

/// What a store's phase cost apart from the counted runs.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Phase {
	/// Setting up the phase (nodes, funding, channels), seconds.
	pub setup_s: f64,
	/// The hub's resident memory once its channels were usable, MB.
	pub rss_start_mb: f64,
	/// The hub's resident memory at the end of the phase, MB.
	pub rss_end_mb: f64,
	/// CPU cores the hub kept busy with every node up and no payments (timers, chain
	/// polling): the floor under `cpu_s_per_payment`.
	pub idle_cpu_cores: f64,
}

/// One store's phase: every run of the sweep and the best one.
#[derive(Clone, Debug, Serialize)]
pub struct StoreResult {
	/// `memory`, `sled` or `fs-sync`: the hub's store.
	pub store: String,
	/// The concurrency with the most payments per second.
	pub best_concurrency: usize,
	/// The best run's numbers, at the top level of the store's object.
	#[serde(flatten)]
	pub best: RunResult,
	/// Set-up time, memory and idle CPU of the phase.
	#[serde(flatten)]
	pub phase: Phase,
	/// Every run, in sweep order.
	pub sweep: Vec<RunResult>,
	/// The open-loop run at a fraction of the best rate (`--load-fraction`).
	#[serde(skip_serializing_if = "Option::is_none")]
	pub at_load: Option<RunResult>,
}

impl StoreResult {
	/// Picks the best run; `None` without runs.
	pub fn new(store: &str, sweep: Vec<RunResult>, phase: Phase) -> Option<Self> {
		let best =
			sweep.iter().max_by(|a, b| a.payments_per_s.total_cmp(&b.payments_per_s)).cloned()?;
		Some(StoreResult {
			store: store.to_string(),
			best_concurrency: best.concurrency,
			best,
			phase,
			sweep,
			at_load: None,
		})
	}
}

/// The whole benchmark.
#[derive(Debug)]
pub struct Report {
	/// What ran (serialised as the JSON's `config`).
	pub config: Value,
	/// One result per store, in run order.
	pub stores: Vec<StoreResult>,
}

impl Report {
	fn store(&self, name: &str) -> Option<&StoreResult> {
		self.stores.iter().find(|s| s.store == name)
	}

	/// `a`'s best payments/s over `b`'s.
	pub fn ratio(&self, a: &str, b: &str) -> Option<f64> {
		let (a, b) = (self.store(a)?, self.store(b)?);
		(b.best.payments_per_s > 0.0).then(|| a.best.payments_per_s / b.best.payments_per_s)
	}

	/// Runs where more than 1% of the payments failed.
	pub fn warnings(&self) -> Vec<String> {
		let mut warnings = Vec::new();
		for store in &self.stores {
			for run in store.sweep.iter().filter(|r| r.failure_share() > FAILURE_WARNING_SHARE) {
				warnings.push(format!(
					"{} C={}: {} of {} payments FAILED ({:.1}%), first errors: {}",
					store.store,
					run.concurrency,
					run.failed,
					run.payments,
					run.failure_share() * 100.0,
					run.errors.join(" | ")
				));
			}
		}
		warnings
	}

	/// The JSON document.
	pub fn to_json(&self) -> Value {
		let mut stores = Map::new();
		for store in &self.stores {
			stores.insert(store.store.clone(), serde_json::to_value(store).unwrap_or(Value::Null));
		}
		json!({
			"config": self.config,
			"stores": stores,
			"ratio_sled_memory": self.ratio("sled", "memory"),
			"ratio_sled_fs_sync": self.ratio("sled", "fs-sync"),
			"p99_ms_at_load": self.stores.iter().filter_map(|s| {
				let run = s.at_load.as_ref()?;
				Some((s.store.clone(), json!(run.p99_ms)))
			}).collect::<Map<String, Value>>(),
			"warnings": self.warnings(),
		})
	}

	/// The table, with `header` lines above it.
	pub fn table(&self, header: &[String]) -> String {
		let mut out = String::new();
		for line in header {
			out.push_str(line);
			out.push('\n');
		}
		out.push_str(&format!(
			"{:<8} {:>5} {:>9} {:>8} {:>8} {:>8} {:>7} {:>9} {:>10} {:>10} {:>10} {:>8}\n",
			"store",
			"C",
			"pay/s",
			"p50 ms",
			"p90 ms",
			"p99 ms",
			"failed",
			"flush/pay",
			"disk B/pay",
			"CPU ms/pay",
			"gen ms/pay",
			"RSS MB"
		));
		for store in &self.stores {
			for run in store.sweep.iter().chain(&store.at_load) {
				let best = store.sweep.len() > 1
					&& run.offered_per_s.is_none()
					&& run.concurrency == store.best_concurrency;
				let label = match run.offered_per_s {
					Some(rate) => format!("@{rate:.0}/s"),
					None => format!("{}{}", if best { "*" } else { "" }, run.concurrency),
				};
				let ms = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or("-".into());
				out.push_str(&format!(
					"{:<8} {:>5} {:>9} {:>8} {:>8} {:>8} {:>7} {:>9.2} {:>10.0} {:>10.2} {:>10.2} \
					 {:>8.0}\n",
					store.store,
					label,
					format!("{:.1}", run.payments_per_s),
					ms(run.p50_ms),
					ms(run.p90_ms),
					ms(run.p99_ms),
					run.failed,
					run.flushes_per_payment,
					run.disk_bytes_per_payment,
					run.cpu_s_per_payment * 1000.0,
					run.load_cpu_s_per_payment * 1000.0,
					run.peak_rss_mb,
				));
			}
		}
		if self.stores.iter().any(|s| s.sweep.len() > 1) {
			out.push_str("* best concurrency of the store (used for the ratios)\n");
		}
		if self.stores.iter().any(|s| s.at_load.is_some()) {
			out.push_str(
				"@R/s: open loop, R payments started per second (a fraction of the best rate); \
				 latency counted from when each payment was due\n",
			);
		}
		let idle: Vec<String> = self
			.stores
			.iter()
			.map(|s| format!("{} {:.2}", s.store, s.phase.idle_cpu_cores))
			.collect();
		out.push_str(&format!("CPU cores busy with no payments: {}\n", idle.join(", ")));
		let ratio = |a: &str, b: &str| match self.ratio(a, b) {
			Some(r) => format!("{a}/{b} = {r:.3}"),
			None => format!("{a}/{b} = n/a"),
		};
		out.push_str(&format!(
			"payments/s ratios: {}   {}\n",
			ratio("sled", "memory"),
			ratio("sled", "fs-sync")
		));
		for warning in self.warnings() {
			out.push_str(&format!("WARNING: {warning}\n"));
		}
		out
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::time::Duration;

	use crate::bench::measure::Latencies;

	fn run(concurrency: usize, succeeded: u64, failed: u64, wall_ms: u64) -> RunResult {
		let mut latencies = Latencies::default();
		for ms in 1..=100 {
			latencies.record(Duration::from_millis(ms));
		}
		let proc =
			|cpu_s, write_bytes| ProcSample { cpu_s, write_bytes, rss_kb: 1024, peak_rss_kb: 2048 };
		let stats = |flushes, writes| StoreStats { writes, removes: 0, flushes, bytes_written: 0 };
		RunResult::new(RunMeasurement {
			concurrency,
			offered_per_s: None,
			outcome: Outcome {
				wall: Duration::from_millis(wall_ms),
				succeeded,
				failed,
				latencies: latencies.clone(),
				pay_latencies: latencies,
				errors: vec!["no route".into()],
			},
			proc_before: proc(1.0, 1000),
			proc_after: proc(3.0, 5000),
			load_before: proc(10.0, 0),
			load_after: proc(11.0, 0),
			peak_rss_reset: true,
			store_before: stats(10, 10),
			store_after: stats(30, 50),
		})
	}

	#[test]
	fn runs_are_per_payment() {
		let r = run(8, 100, 0, 2000);
		assert_eq!(r.payments_per_s, 50.0);
		assert_eq!((r.p50_ms, r.p90_ms, r.p99_ms), (Some(50.0), Some(90.0), Some(99.0)));
		assert_eq!(r.flushes_per_payment, 0.2);
		assert_eq!(r.store_writes_per_payment, 0.4);
		assert_eq!(r.disk_bytes_per_payment, 40.0);
		assert_eq!(r.cpu_s_per_payment, 0.02);
		assert_eq!(r.cpu_cores_busy, 1.0);
		assert_eq!(r.load_cpu_s_per_payment, 0.01);
		assert_eq!(r.peak_rss_mb, 2.0);
	}

	#[test]
	fn report_picks_the_best_and_computes_ratios() {
		let memory = StoreResult::new(
			"memory",
			vec![run(8, 100, 0, 1000), run(32, 100, 0, 500)],
			Phase::default(),
		);
		let sled = StoreResult::new("sled", vec![run(8, 100, 0, 2000)], Phase::default());
		let fs = StoreResult::new("fs-sync", vec![run(8, 100, 50, 4000)], Phase::default());
		let report = Report {
			config: json!({}),
			stores: [memory, sled, fs].into_iter().flatten().collect(),
		};
		assert_eq!(report.stores[0].best_concurrency, 32);
		assert_eq!(report.ratio("sled", "memory"), Some(0.25));
		assert_eq!(report.ratio("sled", "fs-sync"), Some(2.0));
		let json = report.to_json();
		assert_eq!(json["ratio_sled_memory"], json!(0.25));
		assert_eq!(json["stores"]["memory"]["best_concurrency"], json!(32));
		assert_eq!(json["stores"]["memory"]["payments_per_s"], json!(200.0));
		assert_eq!(json["stores"]["sled"]["sweep"].as_array().map(Vec::len), Some(1));
		assert_eq!(report.warnings().len(), 1);
		let table = report.table(&["header".to_string()]);
		assert!(table.contains("*32") && table.contains("WARNING: fs-sync C=8"), "{table}");
		assert!(StoreResult::new("sled", vec![], Phase::default()).is_none());
		let lonely = Report { config: json!({}), stores: vec![] };
		assert_eq!(lonely.to_json()["ratio_sled_fs_sync"], Value::Null);
	}
}
