//! Where payment records live: our outbound payments by payment id, and payments we received
//! by payment hash, in two keyspaces. A payment hash is no secret once a payment settles (the
//! payee and every hop know its preimage), so anyone could keysend us a msat under the hash
//! that is also the id of a payment we made; in one keyspace that would replace our record.
//!
//! Nodes before the split kept both directions in [`OUTBOUND_NAMESPACE`];
//! [`separate_inbound`] moves the inbound ones out at start, once: a record is first written
//! durably where it belongs and only then removed from the old place, so a crash half-way
//! leaves it in both and the next start finishes the move.

use crate::model::{PaymentDirection, PaymentRecord};
use crate::records::RecordStore;
use crate::NodeError;

/// Our outbound payments, keyed by payment id (for BOLT11, the payment hash).
pub const OUTBOUND_NAMESPACE: &str = "fulgur_payments";
/// Payments we received without an invoice record of ours (keysend, BOLT12, invoices issued
/// outside fulgur), keyed by payment hash.
pub const INBOUND_NAMESPACE: &str = "fulgur_payments_inbound";

/// Moves the inbound records found among the outbound ones to the inbound keyspace; returns
/// how many moved. An inbound record already in the inbound keyspace is kept there.
pub(crate) async fn separate_inbound(
	outbound: &RecordStore<PaymentRecord>, inbound: &RecordStore<PaymentRecord>,
) -> Result<usize, NodeError> {
	let misplaced: Vec<(String, PaymentRecord)> = outbound
		.entries()
		.into_iter()
		.filter(|(_, record)| record.direction == PaymentDirection::Inbound)
		.collect();
	for (key, record) in &misplaced {
		if inbound.get(key).is_none() {
			inbound.put(key, record.clone()).await?;
		}
		outbound.remove(key).await?;
	}
	Ok(misplaced.len())
}

#[cfg(test)]
mod tests {
	use std::sync::Arc;

	use lightning::util::persist::KVStoreSync;

	use super::*;
	use crate::model::{PaymentKind, PaymentStatus};
	use crate::store::{DynStore, SledStore};

	fn record(id: &str, kind: PaymentKind, direction: PaymentDirection) -> PaymentRecord {
		PaymentRecord {
			payment_id: id.to_string(),
			payment_hash: Some(id.to_string()),
			kind,
			direction,
			destination: None,
			invoice: None,
			description: None,
			amount_msat: Some(1000),
			fee_msat: Some(0),
			max_fee_msat: None,
			preimage: None,
			status: PaymentStatus::Succeeded,
			failure_reason: None,
			created_at: 1,
			completed_at: Some(2),
		}
	}

	fn write_raw(store: &SledStore, namespace: &str, record: &PaymentRecord) {
		let bytes = serde_json::to_vec(record).expect("json");
		KVStoreSync::write(store, namespace, "", &record.payment_id, bytes).expect("write");
	}

	fn keys(store: &SledStore, namespace: &str) -> Vec<String> {
		let mut keys = KVStoreSync::list(store, namespace, "").expect("list");
		keys.sort();
		keys
	}

	async fn open(
		dir: &std::path::Path,
	) -> (SledStore, Arc<RecordStore<PaymentRecord>>, Arc<RecordStore<PaymentRecord>>) {
		let store = SledStore::open(dir).expect("open");
		let shared: Arc<DynStore> = Arc::new(store.clone());
		let outbound =
			RecordStore::load(Arc::clone(&shared), OUTBOUND_NAMESPACE).await.expect("load");
		let inbound = RecordStore::load(shared, INBOUND_NAMESPACE).await.expect("load");
		(store, outbound, inbound)
	}

	#[tokio::test]
	async fn a_store_written_before_the_split_is_separated_once() {
		let dir = tempfile::tempdir().expect("tempdir");
		let paid = record(&"aa".repeat(32), PaymentKind::Bolt11, PaymentDirection::Outbound);
		let sent = record(&"bb".repeat(32), PaymentKind::Keysend, PaymentDirection::Outbound);
		let received = record(&"cc".repeat(32), PaymentKind::Keysend, PaymentDirection::Inbound);
		let offer = record(&"dd".repeat(32), PaymentKind::Bolt12, PaymentDirection::Inbound);
		{
			// The layout of a node before the split: every record in one keyspace.
			let store = SledStore::open(dir.path()).expect("open");
			for r in [&paid, &sent, &received, &offer] {
				write_raw(&store, OUTBOUND_NAMESPACE, r);
			}
		}
		{
			let (store, outbound, inbound) = open(dir.path()).await;
			assert_eq!(separate_inbound(&outbound, &inbound).await.expect("migrate"), 2);
			assert_eq!(outbound.get(&paid.payment_id), Some(paid.clone()));
			assert_eq!(outbound.get(&sent.payment_id), Some(sent.clone()));
			assert_eq!(outbound.all().len(), 2);
			assert_eq!(inbound.get(&received.payment_id), Some(received.clone()));
			assert_eq!(inbound.get(&offer.payment_id), Some(offer.clone()));
			assert_eq!(keys(&store, OUTBOUND_NAMESPACE), vec!["aa".repeat(32), "bb".repeat(32)]);
			assert_eq!(keys(&store, INBOUND_NAMESPACE), vec!["cc".repeat(32), "dd".repeat(32)]);
		}
		// Durable, and done: a second start moves nothing.
		let (store, outbound, inbound) = open(dir.path()).await;
		assert_eq!(separate_inbound(&outbound, &inbound).await.expect("migrate"), 0);
		assert_eq!(keys(&store, OUTBOUND_NAMESPACE), vec!["aa".repeat(32), "bb".repeat(32)]);
		assert_eq!(inbound.get(&offer.payment_id), Some(offer));
	}

	#[tokio::test]
	async fn a_move_interrupted_after_the_copy_is_finished_keeping_the_copy() {
		let dir = tempfile::tempdir().expect("tempdir");
		let hash = "ee".repeat(32);
		let old = record(&hash, PaymentKind::Keysend, PaymentDirection::Inbound);
		let copied = PaymentRecord { amount_msat: Some(5000), ..old.clone() };
		{
			let store = SledStore::open(dir.path()).expect("open");
			write_raw(&store, OUTBOUND_NAMESPACE, &old);
			write_raw(&store, INBOUND_NAMESPACE, &copied);
		}
		let (store, outbound, inbound) = open(dir.path()).await;
		assert_eq!(separate_inbound(&outbound, &inbound).await.expect("migrate"), 1);
		assert!(keys(&store, OUTBOUND_NAMESPACE).is_empty());
		assert_eq!(inbound.get(&hash), Some(copied));
	}
}
