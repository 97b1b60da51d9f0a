//! Per-channel state of the channel-state engine: monitor writes in flight and done, how long
//! the last one took to become durable, and when the channel last changed.
//!
//! Measured where the monitor persister writes: [`MeteredStore`] wraps the store it writes
//! through, so every update of every channel is seen. Each channel has its own entry in a
//! `DashMap` and its own atomics; nothing here is behind one global lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use fulgur_base::clock::unix_now_millis;

use dashmap::DashMap;
use lightning::io;
use lightning::util::async_poll::AsyncResult;
use lightning::util::persist::{
	KVStore, CHANNEL_MANAGER_PERSISTENCE_KEY, CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
	CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE, CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
	CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
};

use crate::manager_barrier::ManagerBarrier;
use crate::store::DynStore;

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

/// The store the monitor persister and the background processor write through: counts each
/// channel's monitor writes, and (with a barrier) orders them after a manager write.
pub struct MeteredStore {
	inner: Arc<DynStore>,
	stats: Arc<EngineStats>,
	barrier: Option<Arc<ManagerBarrier>>,
}

impl MeteredStore {
	/// Wraps `inner`, recording into `stats`; monitor and manager writes go through `barrier`
	/// when there is one (see `manager_barrier`).
	pub fn new(
		inner: Arc<DynStore>, stats: Arc<EngineStats>, barrier: Option<Arc<ManagerBarrier>>,
	) -> MeteredStore {
		MeteredStore { inner, stats, barrier }
	}
}

fn is_manager_key(primary: &str, secondary: &str, key: &str) -> bool {
	primary == CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE
		&& secondary == CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE
		&& key == CHANNEL_MANAGER_PERSISTENCE_KEY
}

/// The monitor a key belongs to: full monitors are keyed by monitor name, updates live in a
/// secondary namespace named after it.
fn monitor_of<'a>(primary: &str, secondary: &'a str, key: &'a str) -> Option<&'a str> {
	if primary == CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE && secondary.is_empty() {
		Some(key)
	} else if primary == CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE {
		Some(secondary)
	} else {
		None
	}
}

impl KVStore for MeteredStore {
	fn read(
		&self, primary_namespace: &str, secondary_namespace: &str, key: &str,
	) -> AsyncResult<'static, Vec<u8>, io::Error> {
		KVStore::read(&*self.inner, primary_namespace, secondary_namespace, key)
	}

	fn write(
		&self, primary_namespace: &str, secondary_namespace: &str, key: &str, buf: Vec<u8>,
	) -> AsyncResult<'static, (), io::Error> {
		if let Some(barrier) = &self.barrier {
			if is_manager_key(primary_namespace, secondary_namespace, key) {
				// The barrier serialises a fresh manager itself; this (older) copy is dropped.
				return barrier.persist_manager();
			}
		}
		let monitor = monitor_of(primary_namespace, secondary_namespace, key);
		let write = match (&self.barrier, monitor) {
			(Some(barrier), Some(_)) => {
				barrier.write_after_manager(primary_namespace, secondary_namespace, key, buf)
			}
			_ => KVStore::write(&*self.inner, primary_namespace, secondary_namespace, key, buf),
		};
		let Some(monitor) = monitor else {
			return write;
		};
		let counters = self.stats.counters(monitor);
		let stats = Arc::clone(&self.stats);
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

	fn remove(
		&self, primary_namespace: &str, secondary_namespace: &str, key: &str, lazy: bool,
	) -> AsyncResult<'static, (), io::Error> {
		KVStore::remove(&*self.inner, primary_namespace, secondary_namespace, key, lazy)
	}

	fn list(
		&self, primary_namespace: &str, secondary_namespace: &str,
	) -> AsyncResult<'static, Vec<String>, io::Error> {
		KVStore::list(&*self.inner, primary_namespace, secondary_namespace)
	}
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
	use crate::store::SledStore;

	#[tokio::test]
	async fn counts_monitor_writes_per_channel_and_ignores_the_rest() {
		let dir = tempfile::tempdir().expect("tempdir");
		let stats = Arc::new(EngineStats::default());
		let store = MeteredStore::new(
			Arc::new(SledStore::open(dir.path()).expect("open")),
			Arc::clone(&stats),
			None,
		);
		let monitor = "ab".repeat(32) + "_1";
		let other = "cd".repeat(32) + "_0";
		store.write("monitors", "", &monitor, vec![1]).await.expect("write");
		store.write("monitor_updates", &monitor, "7", vec![2]).await.expect("write");
		store.write("monitor_updates", &other, "1", vec![3]).await.expect("write");
		store.write("", "", "manager", vec![4]).await.expect("write");
		let pending = store.write("monitor_updates", &monitor, "8", vec![5]);
		assert_eq!(stats.channel(&monitor).updates_in_flight, 1);
		pending.await.expect("write");

		let channel = stats.channel(&monitor);
		assert_eq!((channel.updates_done, channel.updates_in_flight), (3, 0));
		assert!(channel.last_persist_latency_us.is_some());
		assert!(channel.last_activity_at.is_some());
		assert_eq!(stats.channel(&other).updates_done, 1);
		assert_eq!(stats.channel("unknown"), ChannelEngineStats::default());
		assert_eq!(stats.total().updates_done, 4);
		let histogram = stats.persist_latency.snapshot();
		assert_eq!(histogram.count, 4);
		assert_eq!(histogram.buckets.len(), LATENCY_BUCKETS_SECONDS.len());
		assert!(histogram.buckets.windows(2).all(|w| w[0].1 <= w[1].1));
		assert!(histogram.sum_seconds > 0.0);
		assert_eq!(store.read("", "", "manager").await.expect("read"), vec![4]);
	}
}
