//! The payment workload: C workers taking payment indices from one counter, each payment an
//! invoice from the receiver paid by payer `index % N`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fulgur_node::{Node, PayRequest, PaymentStatus};

use super::hub::RemoteHub;
use super::measure::Latencies;
use super::report::ERRORS_KEPT;
use super::setup::bounded;
use crate::progress::Progress;

/// Who pays whom, and how much.
pub struct Workload {
	/// The payers; payment `i` is paid by payer `i % N`.
	pub payers: Arc<Vec<Node>>,
	/// Issues every invoice: the hub, or the merchant for two hops.
	pub receiver: Receiver,
	/// Seed of the amounts.
	pub seed: u64,
	/// Smallest amount, sat.
	pub amount_min_sat: u64,
	/// Largest amount, sat.
	pub amount_max_sat: u64,
}

/// Who is paid.
#[derive(Clone)]
pub enum Receiver {
	/// A node of this process (the merchant).
	Local(Node),
	/// The hub, in its process.
	Hub(Arc<RemoteHub>),
}

impl Receiver {
	/// A BOLT 11 invoice for `amount_msat`.
	async fn invoice(&self, amount_msat: u64) -> Result<String, String> {
		match self {
			Receiver::Local(node) => node
				.create_invoice(Some(amount_msat), "bench", None)
				.await
				.map(|invoice| invoice.bolt11)
				.map_err(|e| e.to_string()),
			Receiver::Hub(hub) => hub.create_invoice(amount_msat).await,
		}
	}
}

/// What a run of payments gave.
#[derive(Debug, Default)]
pub struct Outcome {
	/// Wall time of the whole run.
	pub wall: Duration,
	/// Payments that succeeded.
	pub succeeded: u64,
	/// Payments that failed (or were still pending when the wait ended).
	pub failed: u64,
	/// Invoice + payment latency of each success.
	pub latencies: Latencies,
	/// Payment-only latency of each success.
	pub pay_latencies: Latencies,
	/// The first distinct errors.
	pub errors: Vec<String>,
}

impl Outcome {
	fn fail(&mut self, error: String) {
		self.failed += 1;
		self.note(error);
	}

	/// Keeps the first few distinct errors.
	fn note(&mut self, error: String) {
		if self.errors.len() < ERRORS_KEPT && !self.errors.contains(&error) {
			self.errors.push(error);
		}
	}

	fn merge(&mut self, other: Outcome) {
		self.succeeded += other.succeeded;
		self.failed += other.failed;
		self.latencies.merge(other.latencies);
		self.pay_latencies.merge(other.pay_latencies);
		for error in other.errors {
			self.note(error);
		}
	}
}

impl Workload {
	/// Payment `index` in sat: uniform in [min, max], the same for every store and concurrency.
	fn amount_sat(&self, index: u64) -> u64 {
		let span = self.amount_max_sat - self.amount_min_sat + 1;
		self.amount_min_sat + splitmix64(self.seed ^ splitmix64(index)) % span
	}

	/// Payments `first .. first + count`, `concurrency` at a time: each one an invoice from the
	/// receiver paid by payer `index % N`, waiting until the payment is final; each final
	/// payment counts one in `progress`.
	pub async fn run(
		self: &Arc<Self>, first: u64, count: u64, concurrency: usize, progress: &Arc<Progress>,
	) -> Outcome {
		let next = Arc::new(AtomicU64::new(first));
		let end = first + count;
		let started = Instant::now();
		let workers: Vec<usize> = (0..concurrency).collect();
		let outcomes = bounded(workers, concurrency, |_| {
			let (workload, next, progress) =
				(Arc::clone(self), Arc::clone(&next), Arc::clone(progress));
			async move { Ok(workload.worker(&next, end, &progress).await) }
		})
		.await;
		let mut total = Outcome { wall: started.elapsed(), ..Outcome::default() };
		for outcome in outcomes {
			match outcome {
				Ok(outcome) => total.merge(outcome),
				Err(e) => total.fail(format!("worker: {e}")),
			}
		}
		total
	}

	/// Payments `first .. first + count` started at `per_s` a second whatever happens to them
	/// (open loop): each latency counts from the moment its payment was due, so a node that
	/// falls behind shows it in the percentiles instead of slowing the offered load.
	pub async fn run_at_rate(
		self: &Arc<Self>, first: u64, count: u64, per_s: f64, progress: &Arc<Progress>,
	) -> Outcome {
		let interval = Duration::from_secs_f64(1.0 / per_s.max(1e-3));
		let started = Instant::now();
		let mut tasks = tokio::task::JoinSet::new();
		for i in 0..count {
			let due = started + interval.mul_f64(i as f64);
			tokio::time::sleep_until(due.into()).await;
			let (workload, progress) = (Arc::clone(self), Arc::clone(progress));
			tasks.spawn(async move {
				let mut outcome = Outcome::default();
				workload.pay_one(first + i, due, &mut outcome).await;
				progress.add(1);
				outcome
			});
		}
		let mut total = Outcome::default();
		while let Some(joined) = tasks.join_next().await {
			match joined {
				Ok(outcome) => total.merge(outcome),
				Err(e) => total.fail(format!("payment task: {e}")),
			}
		}
		total.wall = started.elapsed();
		total
	}

	async fn worker(&self, next: &AtomicU64, end: u64, progress: &Progress) -> Outcome {
		let mut outcome = Outcome::default();
		loop {
			let index = next.fetch_add(1, Ordering::Relaxed);
			if index >= end {
				return outcome;
			}
			self.pay_one(index, Instant::now(), &mut outcome).await;
			progress.add(1);
		}
	}

	/// Payment `index`: an invoice from the receiver paid by payer `index % N`; latency counts
	/// from `started`.
	async fn pay_one(&self, index: u64, started: Instant, outcome: &mut Outcome) {
		let payer = &self.payers[(index % self.payers.len() as u64) as usize];
		let amount_msat = self.amount_sat(index) * 1000;
		let invoice = match self.receiver.invoice(amount_msat).await {
			Ok(invoice) => invoice,
			Err(e) => return outcome.fail(format!("invoice: {e}")),
		};
		let paying = Instant::now();
		let request =
			PayRequest { invoice, amount_msat: None, max_fee_msat: Some(amount_msat / 10 + 1000) };
		match payer.pay(request, true).await {
			Ok(record) if record.status == PaymentStatus::Succeeded => {
				outcome.succeeded += 1;
				outcome.latencies.record(started.elapsed());
				outcome.pay_latencies.record(paying.elapsed());
			}
			Ok(record) => outcome.fail(format!(
				"{:?}: {}",
				record.status,
				record.failure_reason.unwrap_or_default()
			)),
			Err(e) => outcome.fail(format!("pay: {e}")),
		}
	}
}

/// SplitMix64: a tiny, well-mixed deterministic generator step.
fn splitmix64(x: u64) -> u64 {
	let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
	z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
	z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
	z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn outcomes_merge_counts_and_errors() {
		let mut a = Outcome::default();
		a.fail("x".into());
		let mut b = Outcome { succeeded: 2, ..Outcome::default() };
		b.fail("x".into());
		b.fail("y".into());
		a.merge(b);
		assert_eq!((a.succeeded, a.failed), (2, 3));
		assert_eq!(a.errors, vec!["x".to_string(), "y".to_string()]);
	}

	#[test]
	fn splitmix_is_deterministic_and_spread() {
		assert_eq!(splitmix64(1), splitmix64(1));
		assert_ne!(splitmix64(1), splitmix64(2));
		let buckets = (0..10_000u64).fold([0u32; 10], |mut b, i| {
			b[(splitmix64(i) % 10) as usize] += 1;
			b
		});
		assert!(buckets.iter().all(|&n| (800..1200).contains(&n)), "{buckets:?}");
	}
}
