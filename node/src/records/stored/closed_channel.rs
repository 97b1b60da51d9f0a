//! Closed channels as stored: the close as LDK reported it in `fulgur_closed_channels`, and
//! the transaction that spent the funding output in `fulgur_closing_spends`, both keyed by
//! channel id.
//!
//! Invariant: both families are new in version 1, written with `"v":1`; their field names
//! and the closing types' spellings are the disk format (the golden test in
//! `records/tests/closed_channels.rs` pins the bytes).

use serde::{Deserialize, Serialize};

use crate::model::{ClosedChannelRecord, ClosingSpend, ClosingType};
use crate::records::version::StoredRecord;
use crate::records::Record;

/// A stored closed channel, version 1.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredClosedChannel {
	pub(crate) channel_id: String,
	pub(crate) counterparty_node_id: Option<String>,
	pub(crate) funding_txo: Option<String>,
	pub(crate) capacity_sat: u64,
	pub(crate) closing_type: StoredClosingType,
	pub(crate) reason: String,
	pub(crate) settled_balance_sat: u64,
	pub(crate) closed_at: u64,
}

/// How a stored channel closed.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StoredClosingType {
	Cooperative,
	LocalForce,
	RemoteForce,
	Breach,
	FundingFailed,
	Other,
}

/// A stored closing spend, version 1.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredClosingSpend {
	pub(crate) txid: String,
	pub(crate) height: u32,
}

impl StoredRecord for StoredClosedChannel {
	const VERSION: u32 = 1;
}

impl StoredRecord for StoredClosingSpend {
	const VERSION: u32 = 1;
}

impl Record for ClosedChannelRecord {
	type Stored = StoredClosedChannel;

	fn to_stored(&self) -> StoredClosedChannel {
		let ClosedChannelRecord {
			channel_id,
			counterparty_node_id,
			funding_txo,
			capacity_sat,
			closing_type,
			reason,
			settled_balance_sat,
			closed_at,
		} = self.clone();
		StoredClosedChannel {
			channel_id,
			counterparty_node_id,
			funding_txo,
			capacity_sat,
			closing_type: match closing_type {
				ClosingType::Cooperative => StoredClosingType::Cooperative,
				ClosingType::LocalForce => StoredClosingType::LocalForce,
				ClosingType::RemoteForce => StoredClosingType::RemoteForce,
				ClosingType::Breach => StoredClosingType::Breach,
				ClosingType::FundingFailed => StoredClosingType::FundingFailed,
				ClosingType::Other => StoredClosingType::Other,
			},
			reason,
			settled_balance_sat,
			closed_at,
		}
	}

	fn from_stored(stored: StoredClosedChannel) -> ClosedChannelRecord {
		let StoredClosedChannel {
			channel_id,
			counterparty_node_id,
			funding_txo,
			capacity_sat,
			closing_type,
			reason,
			settled_balance_sat,
			closed_at,
		} = stored;
		ClosedChannelRecord {
			channel_id,
			counterparty_node_id,
			funding_txo,
			capacity_sat,
			closing_type: match closing_type {
				StoredClosingType::Cooperative => ClosingType::Cooperative,
				StoredClosingType::LocalForce => ClosingType::LocalForce,
				StoredClosingType::RemoteForce => ClosingType::RemoteForce,
				StoredClosingType::Breach => ClosingType::Breach,
				StoredClosingType::FundingFailed => ClosingType::FundingFailed,
				StoredClosingType::Other => ClosingType::Other,
			},
			reason,
			settled_balance_sat,
			closed_at,
		}
	}
}

impl Record for ClosingSpend {
	type Stored = StoredClosingSpend;

	fn to_stored(&self) -> StoredClosingSpend {
		let ClosingSpend { txid, height } = self.clone();
		StoredClosingSpend { txid, height }
	}

	fn from_stored(stored: StoredClosingSpend) -> ClosingSpend {
		let StoredClosingSpend { txid, height } = stored;
		ClosingSpend { txid, height }
	}
}
