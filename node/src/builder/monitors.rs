//! Reads the stored channel monitors on every core at once.
//!
//! Each monitor is read, deserialised and brought up to date with its stored updates by LDK's
//! own `read_channel_monitor_with_updates` (the same checks as LDK's one-by-one
//! `read_all_channel_monitors_with_updates`: the sentinel, the key the monitor is stored under,
//! every update in order); only the monitors are spread over a bounded number of threads. The
//! result keeps the store's listing order, and a monitor that cannot be read fails the start
//! with its key in the error.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bitcoin::BlockHash;
use lightning::chain::channelmonitor::ChannelMonitor;
use lightning::io;
use lightning::sign::InMemorySigner;
use lightning::util::async_poll::AsyncResult;
use lightning::util::persist::{
	KVStore, KVStoreSync, MonitorUpdatingPersisterAsync,
	CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE, CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
};

use crate::chain::BitcoindClient;
use crate::config::PERSISTER_MAX_PENDING_UPDATES;
use crate::keys::NodeKeysManager;
use crate::logger::FulgurLogger;
use crate::store::DynStore;
use crate::types::TokioSpawner;
use crate::NodeError;

/// The most threads that read monitors, whatever the core count says.
const MAX_READERS: usize = 16;
/// Fewer monitors than this per thread are not worth another thread.
const MIN_MONITORS_PER_READER: usize = 8;

/// A stored monitor, read and up to date: the block it was last synced to, and the monitor.
pub(super) type LoadedMonitor = (BlockHash, ChannelMonitor<InMemorySigner>);

/// What reading needs of LDK's persister; it only reads.
type Reader = MonitorUpdatingPersisterAsync<
	Arc<ReadOnly>,
	TokioSpawner,
	Arc<FulgurLogger>,
	Arc<NodeKeysManager>,
	Arc<NodeKeysManager>,
	Arc<BitcoindClient>,
	Arc<BitcoindClient>,
>;

/// The node's store for reading on the calling thread: each read is done before its future
/// is returned, so a reader thread never waits on another thread for a read it could do
/// itself. It refuses writes: nothing writes while monitors are read.
pub(super) struct ReadOnly(Arc<DynStore>);

fn now<T: Send + 'static>(result: Result<T, io::Error>) -> AsyncResult<'static, T, io::Error> {
	Box::pin(std::future::ready(result))
}

fn refused() -> io::Error {
	io::Error::new(io::ErrorKind::Other, "the monitor reader does not write")
}

impl KVStore for ReadOnly {
	fn read(&self, p: &str, s: &str, k: &str) -> AsyncResult<'static, Vec<u8>, io::Error> {
		now(KVStoreSync::read(&*self.0, p, s, k))
	}

	fn write(&self, _: &str, _: &str, _: &str, _: Vec<u8>) -> AsyncResult<'static, (), io::Error> {
		now(Err(refused()))
	}

	fn remove(&self, _: &str, _: &str, _: &str, _: bool) -> AsyncResult<'static, (), io::Error> {
		now(Err(refused()))
	}

	fn list(&self, p: &str, s: &str) -> AsyncResult<'static, Vec<String>, io::Error> {
		now(KVStoreSync::list(&*self.0, p, s))
	}
}

/// How many threads read `monitors` monitors with `cores` cores.
fn reader_count(monitors: usize, cores: usize) -> usize {
	cores.min(MAX_READERS).min(monitors.div_ceil(MIN_MONITORS_PER_READER)).max(1)
}

/// Reads every stored monitor with its updates, on up to one thread per core.
pub(super) async fn read_all(
	store: Arc<DynStore>, keys: Arc<NodeKeysManager>, bitcoind: Arc<BitcoindClient>,
	logger: Arc<FulgurLogger>,
) -> Result<Vec<LoadedMonitor>, NodeError> {
	let names: Arc<Vec<String>> = Arc::new(
		KVStoreSync::list(
			&*store,
			CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
			CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
		)
		.map_err(|e| NodeError::Persistence(format!("listing channel monitors: {e}")))?,
	);
	if names.is_empty() {
		return Ok(Vec::new());
	}
	let runtime = tokio::runtime::Handle::current();
	let reader: Arc<Reader> = Arc::new(MonitorUpdatingPersisterAsync::new(
		Arc::new(ReadOnly(store)),
		TokioSpawner(runtime.clone()),
		logger,
		PERSISTER_MAX_PENDING_UPDATES,
		Arc::clone(&keys),
		keys,
		Arc::clone(&bitcoind),
		bitcoind,
	));
	let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
	let next = Arc::new(AtomicUsize::new(0));
	let failed = Arc::new(AtomicBool::new(false));
	let threads: Vec<_> = (0..reader_count(names.len(), cores))
		.map(|_| {
			let (reader, names, next, failed, runtime) = (
				Arc::clone(&reader),
				Arc::clone(&names),
				Arc::clone(&next),
				Arc::clone(&failed),
				runtime.clone(),
			);
			tokio::task::spawn_blocking(move || {
				let mut read = Vec::new();
				// Each thread takes the next unread monitor, so a few large monitors do not
				// leave the other threads idle.
				while !failed.load(Ordering::Relaxed) {
					let index = next.fetch_add(1, Ordering::Relaxed);
					let Some(name) = names.get(index) else { break };
					let result = runtime.block_on(reader.read_channel_monitor_with_updates(name));
					failed.fetch_or(result.is_err(), Ordering::Relaxed);
					read.push((index, result));
				}
				read
			})
		})
		.collect();
	let mut read = Vec::with_capacity(names.len());
	for thread in threads {
		let part =
			thread.await.map_err(|e| NodeError::Internal(format!("monitor reader thread: {e}")))?;
		read.extend(part);
	}
	read.sort_unstable_by_key(|(index, _)| *index);
	let mut monitors = Vec::with_capacity(read.len());
	for (index, result) in read {
		let monitor = result.map_err(|e| {
			let name = names.get(index).map_or("?", String::as_str);
			NodeError::Persistence(format!("reading channel monitor {name}: {e}"))
		})?;
		monitors.push(monitor);
	}
	if monitors.len() != names.len() {
		return Err(NodeError::Internal(format!(
			"read {} of {} channel monitors",
			monitors.len(),
			names.len()
		)));
	}
	Ok(monitors)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn one_reader_per_core_within_bounds() {
		assert_eq!(reader_count(0, 8), 1);
		assert_eq!(reader_count(3, 8), 1);
		assert_eq!(reader_count(10_000, 2), 2);
		assert_eq!(reader_count(10_000, 64), MAX_READERS);
		assert_eq!(reader_count(20, 8), 3);
		assert_eq!(reader_count(10_000, 0), 1);
	}
}
