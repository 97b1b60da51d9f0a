//! What a node can say about itself while it starts: the daemon's API answers `GET /v1/info`
//! from here until the node runs, so an operator sees *why* a start takes long (bitcoind
//! behind the node's best block, thousands of monitors to read) instead of a closed port.
//!
//! The builder publishes a snapshot once the channel manager is read (node id, best block,
//! channels, graph) and updates the sync status while it waits; nothing here is invented:
//! before the snapshot there is no info at all.

use std::sync::{Arc, Mutex};

use crate::chain::SyncStatus;
use crate::model::NodeInfo;

/// A starting node's status, shared with whoever serves it.
#[derive(Default)]
pub struct Startup {
	sync: Arc<SyncStatus>,
	info: Mutex<Option<NodeInfo>>,
}

impl Startup {
	/// Nothing known yet.
	pub fn new() -> Arc<Startup> {
		Arc::default()
	}

	/// The node's info as of the last snapshot, with the current sync status; `None` until
	/// the channel manager has been read.
	pub fn info(&self) -> Option<NodeInfo> {
		let mut info = self.info.lock().unwrap_or_else(|e| e.into_inner()).clone()?;
		info.synced = false;
		info.sync_status = self.sync.get();
		Some(info)
	}

	/// What the start is doing or waiting for.
	pub fn status(&self) -> String {
		self.sync.get()
	}

	pub(crate) fn sync_status(&self) -> &Arc<SyncStatus> {
		&self.sync
	}

	pub(crate) fn publish(&self, info: NodeInfo) {
		*self.info.lock().unwrap_or_else(|e| e.into_inner()) = Some(info);
	}
}
