//! The closed-channel families' layouts, pinned byte for byte: what version 1 writes, and
//! bytes of version 1 read back field for field after a restart, every closing type among
//! them.

use std::sync::Arc;

use lightning::util::persist::KVStoreSync;

use crate::model::{ClosedChannelRecord, ClosingSpend, ClosingType};
use crate::records::RecordStore;
use crate::store::{DynStore, SledStore};

const CLOSED: &str = "fulgur_closed_channels";
const SPENDS: &str = "fulgur_closing_spends";

fn closed(closing_type: ClosingType, id: &str) -> ClosedChannelRecord {
	ClosedChannelRecord {
		channel_id: id.into(),
		counterparty_node_id: Some(format!("02{}", "8b".repeat(32))),
		funding_txo: Some(format!("{}:1", "12".repeat(32))),
		capacity_sat: 100_000,
		closing_type,
		reason: "closed by the node operator".into(),
		settled_balance_sat: 49_000,
		closed_at: 1_796_128_398,
	}
}

fn pinned(closing_type: &str, id: &str) -> String {
	format!(
		"{{\"v\":1,\"channel_id\":\"{id}\",\"counterparty_node_id\":\"02{}\",\"funding_txo\":\
		 \"{}:1\",\"capacity_sat\":100000,\"closing_type\":\"{closing_type}\",\"reason\":\"closed \
		 by the node operator\",\"settled_balance_sat\":49000,\"closed_at\":1796128398}}",
		"8b".repeat(32),
		"12".repeat(32)
	)
}

const TYPES: [(ClosingType, &str); 6] = [
	(ClosingType::Cooperative, "cooperative"),
	(ClosingType::LocalForce, "local_force"),
	(ClosingType::RemoteForce, "remote_force"),
	(ClosingType::Breach, "breach"),
	(ClosingType::FundingFailed, "funding_failed"),
	(ClosingType::Other, "other"),
];

#[tokio::test]
async fn closed_channels_and_closing_spends_are_version_1_pinned_byte_for_byte() {
	let dir = tempfile::tempdir().expect("tempdir");
	let sled = SledStore::open(dir.path()).expect("open");
	let store: Arc<DynStore> = Arc::new(sled.clone());
	let records =
		RecordStore::<ClosedChannelRecord>::load(Arc::clone(&store), CLOSED).await.expect("load");
	let spends = RecordStore::<ClosingSpend>::load(Arc::clone(&store), SPENDS).await.expect("load");
	for (i, (closing_type, _)) in TYPES.iter().enumerate() {
		let id = format!("{i:064}");
		records.put(&id, closed(*closing_type, &id)).await.expect("put");
	}
	let spend = ClosingSpend { txid: "34".repeat(32), height: 211 };
	spends.put_blocking(&"0".repeat(64), spend.clone()).expect("put");
	for (i, (_, spelled)) in TYPES.iter().enumerate() {
		let id = format!("{i:064}");
		let bytes = KVStoreSync::read(&sled, CLOSED, "", &id).expect("read");
		assert_eq!(String::from_utf8(bytes).expect("utf8"), pinned(spelled, &id));
	}
	let bytes = KVStoreSync::read(&sled, SPENDS, "", &"0".repeat(64)).expect("read");
	let expected = format!("{{\"v\":1,\"txid\":\"{}\",\"height\":211}}", "34".repeat(32));
	assert_eq!(String::from_utf8(bytes).expect("utf8"), expected);
	drop((records, spends, store));

	// Version 1's bytes, as a later fulgur finds them: read back field for field, not
	// rewritten.
	let dir = tempfile::tempdir().expect("tempdir");
	let sled = SledStore::open(dir.path()).expect("open");
	for (i, (_, spelled)) in TYPES.iter().enumerate() {
		let id = format!("{i:064}");
		KVStoreSync::write(&sled, CLOSED, "", &id, pinned(spelled, &id).into_bytes())
			.expect("write");
	}
	KVStoreSync::write(&sled, SPENDS, "", "ab", expected.into_bytes()).expect("write");
	let writes = sled.stats().writes;
	let store: Arc<DynStore> = Arc::new(sled.clone());
	let records =
		RecordStore::<ClosedChannelRecord>::load(Arc::clone(&store), CLOSED).await.expect("load");
	for (i, (closing_type, _)) in TYPES.iter().enumerate() {
		let id = format!("{i:064}");
		assert_eq!(records.get(&id), Some(closed(*closing_type, &id)));
	}
	let spends = RecordStore::<ClosingSpend>::load(Arc::clone(&store), SPENDS).await.expect("load");
	assert_eq!(spends.get("ab"), Some(spend));
	assert_eq!(sled.stats().writes, writes);
}
