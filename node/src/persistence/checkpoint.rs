//! On a clean stop, every channel monitor is written whole, as of the chain tip.
//!
//! LDK writes a monitor on a new block only for one block in fifty (spread over the channels),
//! so on start-up each monitor replays the blocks since its own last write before the node can
//! run; with thousands of channels that replay is most of the start-up time. A monitor written
//! at the tip replays nothing. This runs after the last manager write, when no channel can
//! change any more: the whole monitor holds exactly the updates already on disk, so it never
//! gets ahead of the manager, and the update entries it supersedes are skipped on reading
//! (LDK reads only updates newer than the monitor).

use lightning::util::persist::{
	KVStore, CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
	CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE, MONITOR_UPDATING_PERSISTER_PREPEND_SENTINEL,
};
use std::ops::Deref;

use lightning::chain::channelmonitor::ChannelMonitor;
use lightning::sign::InMemorySigner;
use lightning::util::ser::Writeable;

use crate::logger::FulgurLogger;
use crate::store::DynStore;

/// Writes every monitor `monitors` yields (each one locked only while it is serialised) to
/// `store`; returns how many were written durably.
pub async fn checkpoint_monitors<M: Deref<Target = ChannelMonitor<InMemorySigner>>>(
	monitors: impl IntoIterator<Item = M>, store: &DynStore, logger: &FulgurLogger,
) -> usize {
	let mut writes = Vec::new();
	for monitor in monitors {
		let mut bytes = MONITOR_UPDATING_PERSISTER_PREPEND_SENTINEL.to_vec();
		if monitor.write(&mut bytes).is_err() {
			continue;
		}
		let key = monitor.persistence_key().to_string();
		writes.push(KVStore::write(
			store,
			CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
			CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
			&key,
			bytes,
		));
	}
	// Every write is already applied in issue order; these wait for the shared flush.
	let mut results = Vec::with_capacity(writes.len());
	for write in writes {
		results.push(write.await);
	}
	let failed = results.iter().filter(|r| r.is_err()).count();
	if failed > 0 {
		crate::warn!(logger, "{failed} monitors not checkpointed (they replay blocks on start)");
	}
	results.len() - failed
}
