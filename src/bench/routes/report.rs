//! Results of `fulgur bench routes`: the table and the JSON.

use serde::Serialize;
use serde_json::{json, Value};

use super::finder::{Mode, Outcome};
use crate::bench::measure::percentile;

/// The goals on this machine: route p50 and p99 (ms), graph load (ms).
const GOAL_P50_MS: f64 = 10.0;
const GOAL_P99_MS: f64 = 50.0;
const GOAL_LOAD_MS: f64 = 2000.0;
/// The scorer under test and the baseline's, as named in the output.
pub const SCORER: &str = "probabilistic";
/// See [`SCORER`].
pub const BASELINE: &str = "zero-penalty";

/// One scorer × mode run, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
	/// `probabilistic` (LDK's default scorer, default parameters, no history) or
	/// `zero-penalty` (`FixedPenaltyScorer` of 0: cheapest-fee paths, the baseline).
	pub scorer: &'static str,
	/// `single` or `mpp`.
	pub mode: &'static str,
	/// Payments tried.
	pub attempted: usize,
	/// Share of them a route was found for.
	pub routed_share: f64,
	/// Time per `find_route` call over all attempts (routed or not), ms.
	pub p50_ms: Option<f64>,
	/// 90th percentile.
	pub p90_ms: Option<f64>,
	/// 99th percentile.
	pub p99_ms: Option<f64>,
	/// Slowest.
	pub max_ms: Option<f64>,
	/// Mean wall time per call, ms.
	pub mean_ms: f64,
	/// Mean CPU time per call (this thread on a core), ms: below `mean_ms` by the time spent
	/// waiting for a core while other processes ran.
	pub cpu_mean_ms: f64,
	/// Paths per routed payment.
	pub mean_paths: f64,
	/// Share of routed payments split over more than one path.
	pub split_share: f64,
	/// Hops per path.
	pub mean_hops: f64,
	/// Median route fee, ppm of the amount.
	pub fee_ppm_p50: Option<u64>,
	/// The first distinct errors.
	pub errors: Vec<String>,
}

impl RunResult {
	/// Derives the reported numbers.
	pub fn new(scorer: &'static str, mode: Mode, mut o: Outcome) -> RunResult {
		o.fee_ppm.sort_unstable();
		let per = |n: usize, d: usize| if d > 0 { n as f64 / d as f64 } else { 0.0 };
		RunResult {
			scorer,
			mode: mode.as_str(),
			attempted: o.attempted,
			routed_share: per(o.routed, o.attempted),
			p50_ms: o.latencies.percentile_ms(50.0),
			p90_ms: o.latencies.percentile_ms(90.0),
			p99_ms: o.latencies.percentile_ms(99.0),
			max_ms: o.latencies.max_ms(),
			mean_ms: per(o.wall_ns as usize, o.attempted) / 1e6,
			cpu_mean_ms: per(o.cpu_ns as usize, o.attempted) / 1e6,
			mean_paths: per(o.paths, o.routed),
			split_share: per(o.split, o.routed),
			mean_hops: per(o.hops, o.paths),
			fee_ppm_p50: percentile(&o.fee_ppm, 50.0),
			errors: o.errors,
		}
	}
}

/// The graph: how long it took to make and load, and what it costs.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GraphResult {
	/// Nodes in the loaded graph.
	pub nodes: usize,
	/// Channels in the loaded graph.
	pub channels: usize,
	/// Channel updates (announced directions).
	pub channel_updates: usize,
	/// Node announcements.
	pub node_announcements: usize,
	/// Drawing the synthetic gossip, ms.
	pub generate_ms: f64,
	/// Feeding it to a new `NetworkGraph` (LDK's gossip checks, no signatures), ms.
	pub build_ms: f64,
	/// The serialized graph, bytes (what the node stores).
	pub graph_bytes: usize,
	/// `NetworkGraph::read` of the serialized graph: what a node does at start, ms.
	pub load_ms: f64,
	/// Resident memory the loaded graph added, MB.
	pub graph_rss_mb: f64,
}

/// The whole benchmark.
#[derive(Debug)]
pub struct Report {
	/// What ran (serialized as the JSON's `config`).
	pub config: Value,
	/// The graph's numbers.
	pub graph: GraphResult,
	/// Every run: scorer × mode.
	pub runs: Vec<RunResult>,
	/// Resident memory at the end, MB.
	pub rss_mb: f64,
	/// Peak resident memory of the process, MB.
	pub peak_rss_mb: f64,
}

impl Report {
	fn run(&self, scorer: &str, mode: Mode) -> Option<&RunResult> {
		self.runs.iter().find(|r| r.scorer == scorer && r.mode == mode.as_str())
	}

	/// The scorer's p50 over the baseline's, for a mode.
	pub fn ratio(&self, mode: Mode) -> Option<f64> {
		let (a, b) = (self.run(SCORER, mode)?.p50_ms?, self.run(BASELINE, mode)?.p50_ms?);
		(b > 0.0).then(|| a / b)
	}

	/// Load from the serialized form over build from gossip.
	pub fn load_build_ratio(&self) -> Option<f64> {
		(self.graph.build_ms > 0.0).then(|| self.graph.load_ms / self.graph.build_ms)
	}

	fn goals(&self) -> Vec<(String, bool)> {
		let single = self.run(SCORER, Mode::Single);
		let p50 = single.and_then(|r| r.p50_ms).unwrap_or(f64::INFINITY);
		let p99 = single.and_then(|r| r.p99_ms).unwrap_or(f64::INFINITY);
		vec![
			(format!("route p50 {p50:.2} ms < {GOAL_P50_MS} ms"), p50 < GOAL_P50_MS),
			(format!("route p99 {p99:.2} ms < {GOAL_P99_MS} ms"), p99 < GOAL_P99_MS),
			(
				format!("graph load {:.0} ms < {GOAL_LOAD_MS} ms", self.graph.load_ms),
				self.graph.load_ms < GOAL_LOAD_MS,
			),
		]
	}

	/// The JSON document: the keys at the top level (the probabilistic scorer's), every
	/// run and the baseline ratios below.
	pub fn to_json(&self) -> Value {
		let field =
			|mode: Mode, f: fn(&RunResult) -> Option<f64>| self.run(SCORER, mode).and_then(f);
		json!({
			"config": self.config,
			"p50_ms": field(Mode::Single, |r| r.p50_ms),
			"p99_ms": field(Mode::Single, |r| r.p99_ms),
			"mpp_p50_ms": field(Mode::Mpp, |r| r.p50_ms),
			"mpp_p99_ms": field(Mode::Mpp, |r| r.p99_ms),
			"mean_ms": field(Mode::Single, |r| Some(r.mean_ms)),
			"cpu_mean_ms": field(Mode::Single, |r| Some(r.cpu_mean_ms)),
			"routed_share": field(Mode::Single, |r| Some(r.routed_share)),
			"mpp_routed_share": field(Mode::Mpp, |r| Some(r.routed_share)),
			"load_ms": self.graph.load_ms,
			"graph": serde_json::to_value(&self.graph).unwrap_or(Value::Null),
			"rss_mb": self.rss_mb,
			"peak_rss_mb": self.peak_rss_mb,
			"runs": serde_json::to_value(&self.runs).unwrap_or(Value::Null),
			"baseline": format!("{BASELINE} scorer (FixedPenaltyScorer 0) on the same payments"),
			"ratio_p50_probabilistic_zero_penalty": self.ratio(Mode::Single),
			"ratio_mpp_p50_probabilistic_zero_penalty": self.ratio(Mode::Mpp),
			"ratio_load_build": self.load_build_ratio(),
			"goals_met": self.goals().iter().all(|(_, met)| *met),
		})
	}

	/// The table, with `header` lines above it.
	pub fn table(&self, header: &[String]) -> String {
		let mut out = String::new();
		for line in header {
			out.push_str(line);
			out.push('\n');
		}
		let g = &self.graph;
		out.push_str(&format!(
			"graph: {} nodes, {} channels, {} channel updates, {} node announcements\n",
			g.nodes, g.channels, g.channel_updates, g.node_announcements
		));
		out.push_str(&format!(
			"graph: generate {:.0} ms, build from gossip {:.0} ms, serialized {:.1} MB, \
			 load (NetworkGraph::read) {:.0} ms, +{:.1} MB RSS loaded\n",
			g.generate_ms,
			g.build_ms,
			g.graph_bytes as f64 / 1e6,
			g.load_ms,
			g.graph_rss_mb
		));
		out.push_str(&format!(
			"{:<14} {:<6} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6} {:>5} {:>7}\n",
			"scorer",
			"mode",
			"routed",
			"p50 ms",
			"p90 ms",
			"p99 ms",
			"max ms",
			"mean ms",
			"CPU ms",
			"paths",
			"split",
			"hops",
			"fee ppm"
		));
		let ms = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or("-".into());
		for r in &self.runs {
			out.push_str(&format!(
				"{:<14} {:<6} {:>6.1}% {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6.2} {:>5.1}% {:>5.2} {:>7}\n",
				r.scorer,
				r.mode,
				r.routed_share * 100.0,
				ms(r.p50_ms),
				ms(r.p90_ms),
				ms(r.p99_ms),
				ms(r.max_ms),
				ms(Some(r.mean_ms)),
				ms(Some(r.cpu_mean_ms)),
				r.mean_paths,
				r.split_share * 100.0,
				r.mean_hops,
				r.fee_ppm_p50.map(|v| v.to_string()).unwrap_or("-".into()),
			));
		}
		let ratio = |r: Option<f64>| r.map(|r| format!("{r:.2}")).unwrap_or("n/a".into());
		out.push_str(&format!(
			"baseline: {BASELINE} scorer on the same payments; p50 {SCORER}/{BASELINE}: single \
			 {}, mpp {}; graph load/build: {}\n",
			ratio(self.ratio(Mode::Single)),
			ratio(self.ratio(Mode::Mpp)),
			ratio(self.load_build_ratio()),
		));
		out.push_str(&format!(
			"memory: {:.0} MB RSS at the end, {:.0} MB peak\n",
			self.rss_mb, self.peak_rss_mb
		));
		out.push_str(
			"times: wall per find_route call, routed or not; CPU ms: mean time on a core per \
			 call (the mean wall time less the waits for a core on a shared machine)\n",
		);
		for (goal, met) in self.goals() {
			out.push_str(&format!("goal: {goal}: {}\n", if met { "met" } else { "MISSED" }));
		}
		for r in self.runs.iter().filter(|r| !r.errors.is_empty()) {
			out.push_str(&format!("errors {} {}: {}\n", r.scorer, r.mode, r.errors.join(" | ")));
		}
		out
	}
}
