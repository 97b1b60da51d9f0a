//! Finding routes for the payments, one scorer and one mode at a time, timed per route.

use std::time::Instant;

use fulgur_router::synthetic::Payment;
use fulgur_router::NetworkGraph;
use lightning::routing::router::{find_route, PaymentParameters, Route, RouteParameters};
use lightning::routing::scoring::ScoreLookUp;
use lightning::types::features::Bolt11InvoiceFeatures;
use lightning::util::logger::{Logger, Record};

use crate::bench::measure::Latencies;

/// CLTV delta the payee asks for on the last hop (a common invoice default).
const FINAL_CLTV_EXPIRY_DELTA: u32 = 144;
/// Distinct error texts kept per run.
const ERRORS_KEPT: usize = 5;

/// Drops LDK's log records. The router logs every candidate hop at trace level; a node filters
/// those before formatting, and so does this, so the timings are the router's own.
pub struct Quiet;

impl Logger for Quiet {
	fn log(&self, _record: Record) {}
}

/// The graph as the benchmark uses it.
pub type Graph<'a> = NetworkGraph<&'a Quiet>;

/// How a payment may be split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
	/// One path (`max_path_count` 1, payee without MPP support).
	Single,
	/// Up to LDK's default 10 paths, to a payee whose invoice offers basic MPP.
	Mpp,
}

impl Mode {
	/// Name in tables and JSON.
	pub fn as_str(self) -> &'static str {
		match self {
			Mode::Single => "single",
			Mode::Mpp => "mpp",
		}
	}

	fn payment_params(self, payment: &Payment) -> Result<PaymentParameters, String> {
		let params = PaymentParameters::from_node_id(payment.destination, FINAL_CLTV_EXPIRY_DELTA);
		match self {
			Mode::Single => Ok(params.with_max_path_count(1)),
			Mode::Mpp => params
				.with_bolt11_features(invoice_features())
				.map_err(|()| "bolt11 features refused for a node-id payee".to_string()),
		}
	}
}

/// What an invoice from a current node announces: MPP allowed.
fn invoice_features() -> Bolt11InvoiceFeatures {
	let mut features = Bolt11InvoiceFeatures::empty();
	features.set_variable_length_onion_required();
	features.set_payment_secret_required();
	features.set_basic_mpp_optional();
	features
}

/// What one scorer and mode did over the payments.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
	/// Time of every `find_route` call, routed or not.
	pub latencies: Latencies,
	/// Wall time of all calls together, ns.
	pub wall_ns: u64,
	/// This thread's time on a CPU during the calls, ns: what they cost, without the waits for
	/// a core that other processes on a shared machine add to the wall time. The kernel updates
	/// it at scheduler ticks, so only the sum over many calls is meaningful, not each call's.
	pub cpu_ns: u64,
	/// Payments tried.
	pub attempted: usize,
	/// Payments a route was found for.
	pub routed: usize,
	/// Routed payments split over more than one path.
	pub split: usize,
	/// Paths over all routes.
	pub paths: usize,
	/// Hops over all paths.
	pub hops: usize,
	/// Fee of each route, ppm of the amount.
	pub fee_ppm: Vec<u64>,
	/// The first distinct errors.
	pub errors: Vec<String>,
}

impl Outcome {
	fn add(&mut self, result: Result<Route, String>, amount_msat: u64) {
		self.attempted += 1;
		match result {
			Ok(route) => {
				self.routed += 1;
				self.split += usize::from(route.paths.len() > 1);
				self.paths += route.paths.len();
				self.hops += route.paths.iter().map(|p| p.hops.len()).sum::<usize>();
				let fees = u128::from(route.get_total_fees());
				self.fee_ppm.push((fees * 1_000_000 / u128::from(amount_msat.max(1))) as u64);
			}
			Err(e) => {
				if self.errors.len() < ERRORS_KEPT && !self.errors.contains(&e) {
					self.errors.push(e);
				}
			}
		}
	}
}

/// Finds a route for `payment`, paid by its source (a node of the graph, so no first hops are
/// given), and records the time `find_route` took in `outcome`.
pub fn route<S: ScoreLookUp>(
	graph: &Graph, payment: &Payment, mode: Mode, scorer: &S, params: &S::ScoreParams,
	random_seed_bytes: &[u8; 32], outcome: &mut Outcome,
) {
	let route_params = match mode.payment_params(payment) {
		Ok(p) => RouteParameters::from_payment_params_and_value(p, payment.amount_msat),
		Err(e) => return outcome.add(Err(e), payment.amount_msat),
	};
	let cpu_start = thread_cpu_ns();
	let start = Instant::now();
	let result = find_route(
		&payment.source,
		&route_params,
		graph,
		None,
		&Quiet,
		scorer,
		params,
		random_seed_bytes,
	);
	let wall = start.elapsed();
	outcome.latencies.record(wall);
	outcome.wall_ns += u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX);
	if let (Some(before), Some(after)) = (cpu_start, thread_cpu_ns()) {
		outcome.cpu_ns += after.saturating_sub(before);
	}
	outcome.add(result.map_err(str::to_string), payment.amount_msat);
}

/// This thread's time on a CPU so far, ns: the first field of `/proc/thread-self/schedstat`
/// (the scheduler's count, as of its last update). `None` off Linux.
fn thread_cpu_ns() -> Option<u64> {
	let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
	text.split_whitespace().next()?.parse().ok()
}
