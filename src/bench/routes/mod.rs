//! `fulgur bench routes`: pathfinding on a synthetic graph the size and shape of the public
//! network (fulgur_router::synthetic), in one process and one run.
//!
//! Steps: draw the gossip from `--seed`, build LDK's `NetworkGraph` from it, serialize it and
//! load it back with `NetworkGraph::read` (what a node does at start; the loaded copy is the one
//! routed on), then route every payment single-path and MPP with LDK's default probabilistic
//! scorer (default parameters, no history, as on a fresh node) and, as the baseline, with a
//! zero-penalty scorer (cheapest-fee paths), the two interleaved payment by payment so drift on
//! a noisy machine hits both alike.

mod finder;
mod report;

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use fulgur_router::synthetic::{self, Shape, MAINNET_CHANNELS, MAINNET_NODES};
use lightning::bitcoin::Network;
use lightning::io::Cursor;
use lightning::routing::scoring::{
	FixedPenaltyScorer, ProbabilisticScorer, ProbabilisticScoringDecayParameters,
	ProbabilisticScoringFeeParameters,
};
use lightning::util::ser::{ReadableArgs, Writeable};
use serde_json::json;

use super::measure::ProcSample;
use crate::progress::Progress;
use finder::{Graph, Mode, Outcome, Quiet};
use report::{GraphResult, Report, RunResult, BASELINE, SCORER};

/// `fulgur bench routes`: route finding on a synthetic mainnet-sized graph.
#[derive(Args, Debug, Clone)]
pub struct RoutesArgs {
	/// Nodes of the synthetic graph
	#[arg(long, default_value_t = MAINNET_NODES)]
	pub nodes: usize,
	/// Channels of the synthetic graph (at least nodes - 1)
	#[arg(long, default_value_t = MAINNET_CHANNELS)]
	pub channels: usize,
	/// Payments (source, destination, amount) routed, each single-path and MPP, with each scorer
	#[arg(long, default_value_t = 1000)]
	pub routes: usize,
	/// Seed of the graph and the payments
	#[arg(long, default_value_t = 1)]
	pub seed: u64,
	/// Smallest single-path amount, sat (amounts are log-uniform)
	#[arg(long, default_value_t = 1_000)]
	pub amount_min_sat: u64,
	/// Largest single-path amount, sat
	#[arg(long, default_value_t = 1_000_000)]
	pub amount_max_sat: u64,
	/// MPP payments are the single-path ones with the amount times this
	#[arg(long, default_value_t = 10)]
	pub mpp_factor: u64,
	/// Also write the results as JSON to this file
	#[arg(long)]
	pub json: Option<PathBuf>,
}

impl RoutesArgs {
	/// Rejects flag combinations that cannot run.
	pub fn check(&self) -> Result<(), String> {
		if self.routes == 0 {
			return Err("--routes must be at least 1".into());
		}
		if self.amount_min_sat == 0 || self.amount_max_sat < self.amount_min_sat {
			return Err("need 1 <= --amount-min-sat <= --amount-max-sat".into());
		}
		if self.mpp_factor == 0 {
			return Err("--mpp-factor must be at least 1".into());
		}
		// 21M BTC in msat fits u64 many times over; this keeps amount × factor from wrapping.
		if self
			.mpp_factor
			.checked_mul(1000)
			.and_then(|f| self.amount_max_sat.checked_mul(f))
			.is_none()
		{
			return Err("--amount-max-sat × --mpp-factor is too large".into());
		}
		self.shape(0).check()
	}

	fn shape(&self, timestamp: u32) -> Shape {
		Shape {
			nodes: self.nodes,
			channels: self.channels,
			seed: self.seed,
			timestamp,
			network: Network::Bitcoin,
		}
	}
}

/// Runs the benchmark, prints the table and writes the JSON.
pub fn run(args: RoutesArgs) -> Result<(), String> {
	args.check()?;
	// LDK refuses channel updates older than two weeks: the gossip is dated now. The timestamp
	// changes no routing decision, so the graph is the same for a seed whenever it runs.
	let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?;
	let timestamp = u32::try_from(now.as_secs()).map_err(|e| e.to_string())?;
	let shape = args.shape(timestamp);

	let start = Instant::now();
	let gossip = synthetic::generate(&shape)?;
	let generate_ms = ms_since(start);
	let start = Instant::now();
	let built = gossip.build(&Quiet).map_err(|e| format!("building the graph: {}", e.err))?;
	let build_ms = ms_since(start);
	let bytes = built.encode();

	let rss_before = ProcSample::read().rss_kb;
	let start = Instant::now();
	let graph = Graph::read(&mut Cursor::new(&bytes), &Quiet)
		.map_err(|e| format!("reading the serialized graph back: {e:?}"))?;
	let load_ms = ms_since(start);
	let graph_rss_mb = ProcSample::read().rss_kb.saturating_sub(rss_before) as f64 / 1024.0;
	if synthetic::canonical_bytes(&graph) != synthetic::canonical_bytes(&built) {
		return Err("the graph read back differs from the one serialized".into());
	}
	drop(built);
	let (nodes, channels) = {
		let view = graph.read_only();
		(view.nodes().len(), view.channels().len())
	};
	let graph_result = GraphResult {
		nodes,
		channels,
		channel_updates: gossip.update_count(),
		node_announcements: gossip.announcement_count(),
		generate_ms,
		build_ms,
		graph_bytes: bytes.len(),
		load_ms,
		graph_rss_mb,
	};
	eprintln!(
		"bench routes: graph ready ({nodes} nodes, {channels} channels, load {load_ms:.0} ms); \
		 routing {} payments × 2 modes × 2 scorers",
		args.routes
	);

	let runs = route_everything(&args, &graph, &gossip);
	let end = ProcSample::read();
	let report = Report {
		config: config_json(&args),
		graph: graph_result,
		runs,
		rss_mb: end.rss_kb as f64 / 1024.0,
		peak_rss_mb: end.peak_rss_kb as f64 / 1024.0,
	};
	print!("{}", report.table(&header(&args)));
	crate::bench::write_json(args.json.as_deref(), &report.to_json())?;
	Ok(())
}

/// Routes every payment in both modes with both scorers, interleaved per payment.
fn route_everything(
	args: &RoutesArgs, graph: &Graph, gossip: &synthetic::SyntheticGraph,
) -> Vec<RunResult> {
	let (min_msat, max_msat) = (args.amount_min_sat * 1000, args.amount_max_sat * 1000);
	let payments = gossip.payments(args.seed, args.routes, min_msat, max_msat);
	let mut random_seed_bytes = [0u8; 32];
	random_seed_bytes[..8].copy_from_slice(&args.seed.to_be_bytes());

	let scorer =
		ProbabilisticScorer::new(ProbabilisticScoringDecayParameters::default(), graph, &Quiet);
	let params = ProbabilisticScoringFeeParameters::default();
	let zero = FixedPenaltyScorer::with_penalty(0);
	let mut outcomes: [Outcome; 4] = Default::default();
	let progress = Progress::start("routing", payments.len() as u64, "payments (x4)");
	for single in &payments {
		let mpp =
			synthetic::Payment { amount_msat: single.amount_msat * args.mpp_factor, ..*single };
		let seed = &random_seed_bytes;
		finder::route(graph, single, Mode::Single, &scorer, &params, seed, &mut outcomes[0]);
		finder::route(graph, single, Mode::Single, &zero, &(), seed, &mut outcomes[1]);
		finder::route(graph, &mpp, Mode::Mpp, &scorer, &params, seed, &mut outcomes[2]);
		finder::route(graph, &mpp, Mode::Mpp, &zero, &(), seed, &mut outcomes[3]);
		progress.add(1);
	}
	drop(progress);
	let [a, b, c, d] = outcomes;
	vec![
		RunResult::new(SCORER, Mode::Single, a),
		RunResult::new(BASELINE, Mode::Single, b),
		RunResult::new(SCORER, Mode::Mpp, c),
		RunResult::new(BASELINE, Mode::Mpp, d),
	]
}

fn ms_since(start: Instant) -> f64 {
	start.elapsed().as_secs_f64() * 1000.0
}

fn header(args: &RoutesArgs) -> Vec<String> {
	vec![format!(
		"bench routes: synthetic graph seed {}, {} payments of {}..{} sat (log-uniform), MPP \
		 ×{}, find_route from the payer's own graph node, one thread",
		args.seed, args.routes, args.amount_min_sat, args.amount_max_sat, args.mpp_factor
	)]
}

fn config_json(args: &RoutesArgs) -> serde_json::Value {
	json!({
		"nodes": args.nodes,
		"channels": args.channels,
		"routes": args.routes,
		"seed": args.seed,
		"amount_min_sat": args.amount_min_sat,
		"amount_max_sat": args.amount_max_sat,
		"mpp_factor": args.mpp_factor,
		"scorer": "ProbabilisticScorer, default decay and fee parameters, no history",
		"baseline": "FixedPenaltyScorer::with_penalty(0)",
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	fn small() -> RoutesArgs {
		RoutesArgs {
			nodes: 300,
			channels: 1000,
			routes: 40,
			seed: 5,
			amount_min_sat: 1_000,
			amount_max_sat: 200_000,
			mpp_factor: 10,
			json: None,
		}
	}

	#[test]
	fn routes_are_found_on_a_small_graph() {
		let args = small();
		let gossip = synthetic::generate(&args.shape(timestamp_now())).unwrap();
		let graph = gossip.build(&Quiet).unwrap();
		let runs = route_everything(&args, &graph, &gossip);
		assert_eq!(runs.len(), 4);
		for run in &runs {
			assert_eq!(run.attempted, 40);
			assert!(run.routed_share > 0.5, "{run:?}");
			assert!(run.mean_hops >= 1.0 && run.p50_ms.is_some(), "{run:?}");
			assert!(run.mean_ms > 0.0 && run.cpu_mean_ms >= 0.0, "{run:?}");
		}
		assert!(runs.iter().filter(|r| r.mode == "single").all(|r| r.mean_paths == 1.0));
		let report = Report {
			config: config_json(&args),
			graph: GraphResult::default(),
			runs,
			rss_mb: 1.0,
			peak_rss_mb: 1.0,
		};
		let json = report.to_json();
		for key in ["p50_ms", "p99_ms", "mpp_p50_ms", "mpp_p99_ms", "routed_share"] {
			assert!(json[key].as_f64().is_some(), "{key}: {json}");
		}
		assert!(json["load_ms"].is_number());
		assert!(report.table(&[]).contains("zero-penalty"));
	}

	#[test]
	fn defaults_follow_the_issue() {
		#[derive(clap::Parser)]
		struct Cli {
			#[command(flatten)]
			args: RoutesArgs,
		}
		let args = <Cli as clap::Parser>::try_parse_from(["routes"]).unwrap().args;
		assert_eq!((args.nodes, args.channels, args.routes, args.seed), (15_000, 50_000, 1000, 1));
		assert!(args.json.is_none() && args.check().is_ok());
	}

	#[test]
	fn bad_flags_are_refused() {
		assert!(small().check().is_ok());
		assert!(RoutesArgs { routes: 0, ..small() }.check().is_err());
		assert!(RoutesArgs { amount_min_sat: 5, amount_max_sat: 4, ..small() }.check().is_err());
		assert!(RoutesArgs { channels: 10, ..small() }.check().is_err());
		assert!(RoutesArgs { mpp_factor: u64::MAX, ..small() }.check().is_err());
	}

	fn timestamp_now() -> u32 {
		SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as u32).unwrap_or(0)
	}
}
