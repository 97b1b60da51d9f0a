//! A forward, as stored in `fulgur_forwards` (by its id) and inside the journal's
//! `payment_forwarded` and `forward_failed` events.
//!
//! Invariant: version 2 from its first day (the family is newer than record versions, so
//! there is no version 1 to read); field names and enum spellings are the disk format.

use serde::{Deserialize, Serialize};

use crate::model::{ForwardRecord, ForwardStatus};
use crate::records::version::StoredRecord;
use crate::records::Record;

/// The stored forward, version 2.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredForward {
	pub(crate) id: String,
	pub(crate) timestamp: u64,
	pub(crate) in_channel_id: Option<String>,
	pub(crate) out_channel_id: Option<String>,
	pub(crate) in_peer_node_id: Option<String>,
	pub(crate) out_peer_node_id: Option<String>,
	pub(crate) in_amount_msat: Option<u64>,
	pub(crate) out_amount_msat: Option<u64>,
	pub(crate) fee_msat: Option<u64>,
	pub(crate) status: StoredForwardStatus,
	pub(crate) failure_reason: Option<String>,
}

/// The stored forward status.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StoredForwardStatus {
	Settled,
	Failed,
}

impl StoredRecord for StoredForward {
	const VERSION: u32 = 2;
}

impl From<&ForwardRecord> for StoredForward {
	fn from(forward: &ForwardRecord) -> StoredForward {
		let ForwardRecord {
			id,
			timestamp,
			in_channel_id,
			out_channel_id,
			in_peer_node_id,
			out_peer_node_id,
			in_amount_msat,
			out_amount_msat,
			fee_msat,
			status,
			failure_reason,
		} = forward.clone();
		StoredForward {
			id,
			timestamp,
			in_channel_id,
			out_channel_id,
			in_peer_node_id,
			out_peer_node_id,
			in_amount_msat,
			out_amount_msat,
			fee_msat,
			status: match status {
				ForwardStatus::Settled => StoredForwardStatus::Settled,
				ForwardStatus::Failed => StoredForwardStatus::Failed,
			},
			failure_reason,
		}
	}
}

impl From<StoredForward> for ForwardRecord {
	fn from(stored: StoredForward) -> ForwardRecord {
		let StoredForward {
			id,
			timestamp,
			in_channel_id,
			out_channel_id,
			in_peer_node_id,
			out_peer_node_id,
			in_amount_msat,
			out_amount_msat,
			fee_msat,
			status,
			failure_reason,
		} = stored;
		ForwardRecord {
			id,
			timestamp,
			in_channel_id,
			out_channel_id,
			in_peer_node_id,
			out_peer_node_id,
			in_amount_msat,
			out_amount_msat,
			fee_msat,
			status: match status {
				StoredForwardStatus::Settled => ForwardStatus::Settled,
				StoredForwardStatus::Failed => ForwardStatus::Failed,
			},
			failure_reason,
		}
	}
}

impl Record for ForwardRecord {
	type Stored = StoredForward;

	fn to_stored(&self) -> StoredForward {
		self.into()
	}

	fn from_stored(stored: StoredForward) -> ForwardRecord {
		stored.into()
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::records::version;

	/// The layout on disk, byte for byte: a change here is a new version.
	#[test]
	fn the_stored_layout_is_pinned() {
		let forward = ForwardRecord {
			id: "000001700000000_00aa".into(),
			timestamp: 1_700_000_000,
			in_channel_id: Some("11".into()),
			out_channel_id: Some("22".into()),
			in_peer_node_id: Some("02aa".into()),
			out_peer_node_id: None,
			in_amount_msat: Some(1_001_000),
			out_amount_msat: Some(1_000_000),
			fee_msat: Some(1_000),
			status: ForwardStatus::Settled,
			failure_reason: None,
		};
		let bytes = version::encode(&forward.to_stored()).expect("encode");
		assert_eq!(
			String::from_utf8(bytes.clone()).expect("utf8"),
			r#"{"v":2,"id":"000001700000000_00aa","timestamp":1700000000,"in_channel_id":"11","out_channel_id":"22","in_peer_node_id":"02aa","out_peer_node_id":null,"in_amount_msat":1001000,"out_amount_msat":1000000,"fee_msat":1000,"status":"settled","failure_reason":null}"#
		);
		let read = version::decode::<StoredForward>(&bytes).expect("decode");
		assert_eq!(ForwardRecord::from_stored(read.record), forward);
		let failed = br#"{"v":2,"id":"x","timestamp":1,"in_channel_id":null,"out_channel_id":null,"in_peer_node_id":null,"out_peer_node_id":null,"in_amount_msat":null,"out_amount_msat":null,"fee_msat":null,"status":"failed","failure_reason":"r"}"#;
		let read = version::decode::<StoredForward>(failed).expect("failed");
		assert_eq!(ForwardRecord::from_stored(read.record).status, ForwardStatus::Failed);
	}
}
