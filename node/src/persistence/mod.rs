//! Where a channel's state is made durable, and in which order.
//!
//! LDK writes two things for every channel: its monitor (whole, or as numbered updates), through
//! the async monitor persister, and the channel manager, through the background processor. Both
//! go through [`EngineStore`], which is the one place deciding how:
//!
//! - a **monitor write** is queued behind the next manager write ([`barrier`]), so the manager on
//!   disk is never behind a monitor on disk (LDK force-closes such a channel at start-up);
//! - a **manager write** by the background processor becomes a request to the barrier, which
//!   serialises a fresh manager itself: it is the only writer of the manager;
//! - everything else (sweeper, graph, scorer) goes straight to the store.
//!
//! The engine's per-channel counters only observe the monitor writes (`channel_stats::observe`).
//! Without a barrier (the `fs-sync` baseline, LDK's stock behaviour) every write goes straight
//! to the store. On a clean stop [`checkpoint`] writes every monitor whole at the chain tip.

pub mod barrier;
pub mod checkpoint;
pub mod manager_chunks;

use std::sync::Arc;

use lightning::io;
use lightning::util::async_poll::AsyncResult;
use lightning::util::persist::{
	KVStore, CHANNEL_MANAGER_PERSISTENCE_KEY, CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
	CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE, CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
	CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
};

use crate::channel_stats::{observe, EngineStats};
use crate::store::DynStore;
pub use barrier::ManagerBarrier;

/// The store the monitor persister and the background processor write through.
pub struct EngineStore {
	inner: Arc<DynStore>,
	stats: Arc<EngineStats>,
	barrier: Option<Arc<ManagerBarrier>>,
}

impl EngineStore {
	/// Writes to `inner`; monitor and manager writes go through `barrier` when there is one;
	/// monitor writes are counted in `stats`.
	pub fn new(
		inner: Arc<DynStore>, stats: Arc<EngineStats>, barrier: Option<Arc<ManagerBarrier>>,
	) -> EngineStore {
		EngineStore { inner, stats, barrier }
	}

	/// The manager barrier, when manager writes go through one.
	pub fn barrier(&self) -> Option<&Arc<ManagerBarrier>> {
		self.barrier.as_ref()
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

impl KVStore for EngineStore {
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
		match monitor {
			Some(monitor) => observe(&self.stats, monitor, write),
			None => write,
		}
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
	use crate::channel_stats::{ChannelEngineStats, LATENCY_BUCKETS_SECONDS};
	use crate::store::SledStore;

	#[tokio::test]
	async fn counts_monitor_writes_per_channel_and_ignores_the_rest() {
		let dir = tempfile::tempdir().expect("tempdir");
		let stats = Arc::new(EngineStats::default());
		let store = EngineStore::new(
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
