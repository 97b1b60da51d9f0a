//! Per-channel state of the channel-state engine: monitor writes in flight and done, how long
//! the last one took to become durable, and when the channel last changed.
//!
//! Measured where the monitor persister writes: the persistence layer's store
//! (`persistence::EngineStore`) hands every monitor write to [`observe`], so every update of every
//! channel is seen; stats only observe, they route nothing. Each channel has its own entry in a
//! `DashMap` and its own atomics; nothing here is behind one global lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use fulgur_base::clock::unix_now_millis;

use dashmap::DashMap;
use lightning::io;
use lightning::util::async_poll::AsyncResult;

/// One channel's counters.
#[derive(Default)]
struct Counters {
	in_flight: AtomicU64,
	done: AtomicU64,
	failed: AtomicU64,
	last_latency_us: AtomicU64,
	last_activity_ms: AtomicU64,
}

/// A channel's engine state, as the API shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelEngineStats {
	/// Monitor writes issued and not yet durable.
	pub updates_in_flight: u64,
	/// Monitor writes made durable since the node started.
	pub updates_done: u64,
	/// Monitor writes that failed since the node started.
	pub updates_failed: u64,
	/// How long the last monitor write took to become durable, in microseconds.
	pub last_persist_latency_us: Option<u64>,
	/// When the channel's state last changed (UNIX seconds).
	pub last_activity_at: Option<u64>,
}

/// Upper bounds, in seconds, of the persistence latency histogram's buckets (Prometheus
/// `le`); a last bucket takes everything slower.
pub const LATENCY_BUCKETS_SECONDS: [f64; 14] =
	[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// How long monitor writes took to become durable, over all channels: one atomic counter per
/// bucket, so recording is a few relaxed increments.
#[derive(Default)]
pub struct LatencyHistogram {
	buckets: [AtomicU64; LATENCY_BUCKETS_SECONDS.len() + 1],
	sum_us: AtomicU64,
}

/// A histogram read out, Prometheus style.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistogramSnapshot {
	/// `(upper bound in seconds, observations at or below it)`, cumulative, ascending; the
	/// total count is [`HistogramSnapshot::count`].
	pub buckets: Vec<(f64, u64)>,
	/// Sum of all observations, in seconds.
	pub sum_seconds: f64,
	/// Number of observations.
	pub count: u64,
}

impl LatencyHistogram {
	fn record(&self, latency_us: u64) {
		let seconds = latency_us as f64 / 1e6;
		let bucket = LATENCY_BUCKETS_SECONDS
			.iter()
			.position(|bound| seconds <= *bound)
			.unwrap_or(LATENCY_BUCKETS_SECONDS.len());
		self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
		self.sum_us.fetch_add(latency_us, Ordering::Relaxed);
	}

	/// The counts so far.
	pub fn snapshot(&self) -> HistogramSnapshot {
		let mut cumulative = 0;
		let mut buckets = Vec::with_capacity(LATENCY_BUCKETS_SECONDS.len());
		for (bound, count) in LATENCY_BUCKETS_SECONDS.iter().zip(&self.buckets) {
			cumulative += count.load(Ordering::Relaxed);
			buckets.push((*bound, cumulative));
		}
		let count =
			cumulative + self.buckets[LATENCY_BUCKETS_SECONDS.len()].load(Ordering::Relaxed);
		let sum_seconds = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
		HistogramSnapshot { buckets, sum_seconds, count }
	}
}

/// Every channel's counters, keyed by LDK's monitor name (the funding outpoint `txid_vout`).
#[derive(Default)]
pub struct EngineStats {
	channels: DashMap<String, Arc<Counters>>,
	/// Latency of every successful monitor write, all channels together.
	pub persist_latency: LatencyHistogram,
}

impl EngineStats {
	/// The counters of the channel whose monitor is called `monitor_name`.
	pub fn channel(&self, monitor_name: &str) -> ChannelEngineStats {
		self.channels.get(monitor_name).map(|c| snapshot(&c)).unwrap_or_default()
	}

	/// All channels added up; the latency and activity are the most recent of any channel.
	pub fn total(&self) -> ChannelEngineStats {
		let mut total = ChannelEngineStats::default();
		let mut latest_ms = 0;
		for entry in self.channels.iter() {
			let c = snapshot(entry.value());
			total.updates_in_flight += c.updates_in_flight;
			total.updates_done += c.updates_done;
			total.updates_failed += c.updates_failed;
			let activity_ms = entry.value().last_activity_ms.load(Ordering::Relaxed);
			if activity_ms > latest_ms {
				latest_ms = activity_ms;
				total.last_persist_latency_us = c.last_persist_latency_us;
				total.last_activity_at = c.last_activity_at;
			}
		}
		total
	}

	fn counters(&self, monitor_name: &str) -> Arc<Counters> {
		if let Some(existing) = self.channels.get(monitor_name) {
			return Arc::clone(&existing);
		}
		Arc::clone(&self.channels.entry(monitor_name.to_string()).or_default())
	}
}

fn snapshot(c: &Counters) -> ChannelEngineStats {
	let done = c.done.load(Ordering::Relaxed);
	let activity_ms = c.last_activity_ms.load(Ordering::Relaxed);
	ChannelEngineStats {
		updates_in_flight: c.in_flight.load(Ordering::Relaxed),
		updates_done: done,
		updates_failed: c.failed.load(Ordering::Relaxed),
		last_persist_latency_us: (done > 0).then(|| c.last_latency_us.load(Ordering::Relaxed)),
		last_activity_at: (activity_ms > 0).then_some(activity_ms / 1000),
	}
}

/// Counts one monitor write of `monitor_name` while `write` runs: in flight now, done or
/// failed (with its latency) when it completes. Stats only observe: the write itself is
/// whatever the persistence layer issued.
pub fn observe(
	stats: &Arc<EngineStats>, monitor_name: &str, write: AsyncResult<'static, (), io::Error>,
) -> AsyncResult<'static, (), io::Error> {
	let counters = stats.counters(monitor_name);
	let stats = Arc::clone(stats);
	counters.in_flight.fetch_add(1, Ordering::Relaxed);
	counters.last_activity_ms.store(unix_now_millis(), Ordering::Relaxed);
	let started = Instant::now();
	Box::pin(async move {
		let result = write.await;
		let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
		counters.in_flight.fetch_sub(1, Ordering::Relaxed);
		if result.is_ok() {
			counters.last_latency_us.store(latency_us, Ordering::Relaxed);
			counters.done.fetch_add(1, Ordering::Relaxed);
			stats.persist_latency.record(latency_us);
		} else {
			counters.failed.fetch_add(1, Ordering::Relaxed);
		}
		result
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn histogram_buckets_are_cumulative() {
		let histogram = LatencyHistogram::default();
		for us in [50, 100, 700, 3_000_000] {
			histogram.record(us);
		}
		let snapshot = histogram.snapshot();
		assert_eq!(snapshot.count, 4);
		assert_eq!(snapshot.buckets[0], (0.0001, 2));
		assert_eq!(snapshot.buckets[3], (0.001, 3));
		assert_eq!(snapshot.buckets.last().map(|b| b.1), Some(3));
		assert!((snapshot.sum_seconds - 3.00085).abs() < 1e-9);
	}
}
