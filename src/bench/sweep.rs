//! The channel-count sweep of `bench payments`: per channel count and store, the headline
//! figures of the hub and each one's ratio to the same store at the smallest channel count.
//!
//! Invariant: a ratio is `None` (JSON `null`), never infinite or NaN, when either side is
//! missing or the smallest count's figure is 0.

use serde::Serialize;
use serde_json::Value;

use super::report::StoreResult;

/// Each figure of a [`SweepRow`] over the same store's at the smallest channel count.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Ratios {
	/// Payments per second.
	pub payments_per_s: Option<f64>,
	/// The hub's CPU per payment.
	pub hub_cpu_ms_per_payment: Option<f64>,
	/// The hub's disk bytes per payment.
	pub disk_bytes_per_payment: Option<f64>,
	/// p99 latency at the open-loop load.
	pub p99_ms_at_load: Option<f64>,
}

/// One channel count and store of the sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepRow {
	/// The hub's channels to payers.
	pub channels: usize,
	/// The hub's store (`+tower` when it hands appointments to a tower).
	pub store: String,
	/// Best payments per second of the concurrency sweep.
	pub payments_per_s: f64,
	/// The hub process's CPU per payment in that run, ms.
	pub hub_cpu_ms_per_payment: f64,
	/// Bytes the hub process wrote to disk per payment in that run.
	pub disk_bytes_per_payment: f64,
	/// p99 latency of the open-loop run at `--load-fraction` of the best rate, ms.
	pub p99_ms_at_load: Option<f64>,
	/// Each figure over the same store's at the smallest channel count.
	pub ratio_to_smallest: Ratios,
}

/// The rows of `points` (channel count, its stores' results), in order, with their ratios.
pub fn rows(points: &[(usize, Vec<StoreResult>)]) -> Vec<SweepRow> {
	let mut rows: Vec<SweepRow> = points
		.iter()
		.flat_map(|(channels, stores)| {
			stores.iter().map(move |s| SweepRow {
				channels: *channels,
				store: s.store.clone(),
				payments_per_s: s.best.payments_per_s,
				hub_cpu_ms_per_payment: s.best.cpu_s_per_payment * 1000.0,
				disk_bytes_per_payment: s.best.disk_bytes_per_payment,
				p99_ms_at_load: s.at_load.as_ref().and_then(|r| r.p99_ms),
				ratio_to_smallest: Ratios::default(),
			})
		})
		.collect();
	let bases: Vec<Option<SweepRow>> = rows
		.iter()
		.map(|row| rows.iter().filter(|r| r.store == row.store).min_by_key(|r| r.channels).cloned())
		.collect();
	for (row, base) in rows.iter_mut().zip(bases) {
		let Some(base) = base else { continue };
		row.ratio_to_smallest = Ratios {
			payments_per_s: ratio(Some(row.payments_per_s), Some(base.payments_per_s)),
			hub_cpu_ms_per_payment: ratio(
				Some(row.hub_cpu_ms_per_payment),
				Some(base.hub_cpu_ms_per_payment),
			),
			disk_bytes_per_payment: ratio(
				Some(row.disk_bytes_per_payment),
				Some(base.disk_bytes_per_payment),
			),
			p99_ms_at_load: ratio(row.p99_ms_at_load, base.p99_ms_at_load),
		};
	}
	rows
}

fn ratio(value: Option<f64>, base: Option<f64>) -> Option<f64> {
	let (value, base) = (value?, base?);
	(base > 0.0 && value.is_finite()).then(|| value / base)
}

/// The rows as the JSON's `sweep` array.
pub fn to_json(rows: &[SweepRow]) -> Value {
	serde_json::to_value(rows).unwrap_or(Value::Null)
}

/// The sweep's table.
pub fn table(rows: &[SweepRow]) -> String {
	let mut out = String::from(
		"channel-count sweep (the hub alone; ×: ratio to the same store at the smallest count)\n",
	);
	out.push_str(&format!(
		"{:>8} {:<12} {:>9} {:>6} {:>11} {:>6} {:>11} {:>6} {:>12} {:>6}\n",
		"channels", "store", "pay/s", "×", "CPU ms/pay", "×", "disk B/pay", "×", "p99@load ms", "×"
	));
	let x = |r: Option<f64>| r.map(|r| format!("{r:.2}")).unwrap_or("-".into());
	for row in rows {
		let r = &row.ratio_to_smallest;
		out.push_str(&format!(
			"{:>8} {:<12} {:>9.1} {:>6} {:>11.2} {:>6} {:>11.0} {:>6} {:>12} {:>6}\n",
			row.channels,
			row.store,
			row.payments_per_s,
			x(r.payments_per_s),
			row.hub_cpu_ms_per_payment,
			x(r.hub_cpu_ms_per_payment),
			row.disk_bytes_per_payment,
			x(r.disk_bytes_per_payment),
			row.p99_ms_at_load.map(|v| format!("{v:.1}")).unwrap_or("-".into()),
			x(r.p99_ms_at_load),
		));
	}
	out
}

#[cfg(test)]
mod tests {
	use std::time::Duration;

	use fulgur_node::store::StoreStats;

	use super::*;
	use crate::bench::measure::{Latencies, ProcSample};
	use crate::bench::report::{Phase, RunMeasurement, RunResult};
	use crate::bench::workload::Outcome;

	/// A run of 100 payments over `wall_ms`, the hub spending `cpu_ms` and writing `disk`
	/// bytes in all, every latency `latency_ms`.
	fn run(wall_ms: u64, cpu_ms: u64, disk: u64, latency_ms: u64) -> RunResult {
		let mut latencies = Latencies::default();
		for _ in 0..100 {
			latencies.record(Duration::from_millis(latency_ms));
		}
		let proc = |cpu_s, write_bytes| ProcSample { cpu_s, write_bytes, ..ProcSample::default() };
		RunResult::new(RunMeasurement {
			concurrency: 8,
			offered_per_s: None,
			outcome: Outcome {
				wall: Duration::from_millis(wall_ms),
				succeeded: 100,
				latencies: latencies.clone(),
				pay_latencies: latencies,
				..Outcome::default()
			},
			proc_before: proc(0.0, 0),
			proc_after: proc(cpu_ms as f64 / 1000.0, disk),
			load_before: ProcSample::default(),
			load_after: ProcSample::default(),
			peak_rss_reset: true,
			store_before: StoreStats::default(),
			store_after: StoreStats::default(),
		})
	}

	fn store(name: &str, best: RunResult, at_load: Option<RunResult>) -> StoreResult {
		let mut result = StoreResult::new(name, vec![best], Phase::default()).unwrap();
		result.at_load = at_load;
		result
	}

	#[test]
	fn ratios_are_to_the_same_store_at_the_smallest_count() {
		let points = vec![
			(
				1000,
				vec![
					store("sled", run(2000, 400, 2_000_000, 10), Some(run(4000, 0, 0, 300))),
					store("memory", run(500, 100, 0, 10), None),
				],
			),
			(100, vec![store("sled", run(1000, 200, 1_000_000, 10), Some(run(4000, 0, 0, 100)))]),
		];
		let rows = rows(&points);
		assert_eq!(rows.len(), 3);
		let sled_1000 = &rows[0];
		assert_eq!((sled_1000.channels, sled_1000.store.as_str()), (1000, "sled"));
		assert_eq!(sled_1000.payments_per_s, 50.0);
		assert_eq!(sled_1000.hub_cpu_ms_per_payment, 4.0);
		assert_eq!(sled_1000.disk_bytes_per_payment, 20_000.0);
		assert_eq!(sled_1000.p99_ms_at_load, Some(300.0));
		let r = &sled_1000.ratio_to_smallest;
		assert_eq!(r.payments_per_s, Some(0.5));
		assert_eq!(r.hub_cpu_ms_per_payment, Some(2.0));
		assert_eq!(r.disk_bytes_per_payment, Some(2.0));
		assert_eq!(r.p99_ms_at_load, Some(3.0));
		// The smallest count is its own base; memory only ran once, and wrote nothing.
		assert_eq!(rows[2].ratio_to_smallest.payments_per_s, Some(1.0));
		let memory = &rows[1].ratio_to_smallest;
		assert_eq!(memory.payments_per_s, Some(1.0));
		assert_eq!((memory.disk_bytes_per_payment, memory.p99_ms_at_load), (None, None));
	}

	#[test]
	fn json_has_the_issue_keys() {
		let points = vec![(100, vec![store("sled", run(1000, 200, 1000, 10), None)])];
		let json = to_json(&rows(&points));
		let row = &json[0];
		for key in [
			"channels",
			"payments_per_s",
			"hub_cpu_ms_per_payment",
			"disk_bytes_per_payment",
			"p99_ms_at_load",
			"ratio_to_smallest",
		] {
			assert!(row.get(key).is_some(), "{key} missing: {row}");
		}
		assert_eq!(row["channels"], serde_json::json!(100));
		assert_eq!(row["p99_ms_at_load"], Value::Null);
		assert_eq!(row["ratio_to_smallest"]["payments_per_s"], serde_json::json!(1.0));
		assert!(table(&rows(&points)).contains("sled"));
	}
}
