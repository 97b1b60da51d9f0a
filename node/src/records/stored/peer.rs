//! A peer we reconnect to, as stored in `fulgur_peers` (keyed by node id).
//!
//! Invariant: field for field what fulgur before record versions wrote for a
//! `peers::PeerRecord` (version 1), so both versions read with this struct. The conversion
//! lives with `PeerRecord`, in `peers` (a layer above storage).

use serde::{Deserialize, Serialize};

use crate::records::version::StoredRecord;

/// The stored peer, version 2.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredPeer {
	pub(crate) node_id: String,
	pub(crate) address: String,
}

impl StoredRecord for StoredPeer {
	const VERSION: u32 = 2;
}
