//! fulgur's own records (invoices, payments, peers), durable in the sled store and cached in
//! memory for reads.
//!
//! A record is written through LDK's async `KVStore` on our store: the sled insert happens when
//! `put` is called (so two updates of one record land in call order) and the returned future
//! completes once the group commit made it durable.

use std::sync::Arc;

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use lightning::util::persist::{KVStore, KVStoreSync};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::store::DynStore;
use crate::NodeError;

/// What [`RecordStore::insert_unless`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Insert<T> {
	/// The record was stored (durable).
	Written,
	/// A record was there and kept; here it is, unchanged.
	Kept(T),
}

/// A durable map from id to record.
pub struct RecordStore<T> {
	store: Arc<DynStore>,
	namespace: &'static str,
	cache: DashMap<String, T>,
	updates: tokio::sync::broadcast::Sender<String>,
}

impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> RecordStore<T> {
	/// Loads every record of `namespace`. Blocking: call at start-up.
	pub fn load(store: Arc<DynStore>, namespace: &'static str) -> Result<Arc<Self>, NodeError> {
		let cache = DashMap::new();
		let keys = KVStoreSync::list(&*store, namespace, "")
			.map_err(|e| NodeError::Persistence(format!("listing {namespace}: {e}")))?;
		for key in keys {
			let bytes = KVStoreSync::read(&*store, namespace, "", &key)
				.map_err(|e| NodeError::Persistence(format!("reading {namespace}/{key}: {e}")))?;
			let record = serde_json::from_slice(&bytes).map_err(|e| {
				NodeError::Persistence(format!("{namespace}/{key} is corrupt: {e}"))
			})?;
			cache.insert(key, record);
		}
		let (updates, _) = tokio::sync::broadcast::channel(1024);
		Ok(Arc::new(RecordStore { store, namespace, cache, updates }))
	}

	/// One record.
	pub fn get(&self, id: &str) -> Option<T> {
		self.cache.get(id).map(|r| r.value().clone())
	}

	/// All records, in no particular order.
	pub fn all(&self) -> Vec<T> {
		self.cache.iter().map(|r| r.value().clone()).collect()
	}

	/// All records with their ids, in no particular order.
	pub fn entries(&self) -> Vec<(String, T)> {
		self.cache.iter().map(|r| (r.key().clone(), r.value().clone())).collect()
	}

	/// Ids of records as they change.
	pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<String> {
		self.updates.subscribe()
	}

	/// Stores a record (new or replacing); durable when the future completes.
	pub async fn put(&self, id: &str, record: T) -> Result<(), NodeError> {
		let write = {
			let bytes = self.encode(&record)?;
			self.cache.insert(id.to_string(), record);
			KVStore::write(&*self.store, self.namespace, "", id, bytes)
		};
		self.finish(id, write).await
	}

	/// Stores `record` under `id` unless the record already there is one `keep` says to
	/// keep. The look and the write are one step under the entry's lock: of concurrent
	/// callers for one id, one writes and the others see its record (when their `keep` keeps
	/// it). Durable when the future completes with [`Insert::Written`].
	pub async fn insert_unless(
		&self, id: &str, record: T, keep: impl FnOnce(&T) -> bool,
	) -> Result<Insert<T>, NodeError> {
		let bytes = self.encode(&record)?;
		let write = {
			let entry = self.cache.entry(id.to_string());
			if let Entry::Occupied(existing) = &entry {
				if keep(existing.get()) {
					return Ok(Insert::Kept(existing.get().clone()));
				}
			}
			// Issued while the entry is locked, so concurrent writers reach sled in order.
			let _locked = entry.insert(record);
			KVStore::write(&*self.store, self.namespace, "", id, bytes)
		};
		self.finish(id, write).await.map(|()| Insert::Written)
	}

	/// Changes a record in place when `change` returns true; returns the record after the
	/// change, or `None` when there is no such record.
	pub async fn update(
		&self, id: &str, change: impl FnOnce(&mut T) -> bool,
	) -> Result<Option<T>, NodeError> {
		let (write, record) = {
			let Some(mut entry) = self.cache.get_mut(id) else { return Ok(None) };
			let mut candidate = entry.value().clone();
			if !change(&mut candidate) {
				return Ok(Some(candidate));
			}
			let bytes = self.encode(&candidate)?;
			*entry.value_mut() = candidate.clone();
			// Issued while the entry is locked, so concurrent updates reach sled in order.
			(KVStore::write(&*self.store, self.namespace, "", id, bytes), candidate)
		};
		self.finish(id, write).await.map(|()| Some(record))
	}

	/// Deletes a record; durable when the future completes.
	pub async fn remove(&self, id: &str) -> Result<(), NodeError> {
		let removal = {
			self.cache.remove(id);
			KVStore::remove(&*self.store, self.namespace, "", id, false)
		};
		self.finish(id, removal).await
	}

	fn encode(&self, record: &T) -> Result<Vec<u8>, NodeError> {
		serde_json::to_vec(record)
			.map_err(|e| NodeError::Internal(format!("encoding {} record: {e}", self.namespace)))
	}

	async fn finish(
		&self, id: &str,
		write: lightning::util::async_poll::AsyncResult<'static, (), lightning::io::Error>,
	) -> Result<(), NodeError> {
		write
			.await
			.map_err(|e| NodeError::Persistence(format!("writing {}/{id}: {e}", self.namespace)))?;
		// Nobody listening is fine.
		let _ = self.updates.send(id.to_string());
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::SledStore;

	#[tokio::test]
	async fn records_survive_reopen_and_updates_apply_in_order() {
		let dir = tempfile::tempdir().expect("tempdir");
		{
			let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("open"));
			let records = RecordStore::<u64>::load(store, "numbers").expect("load");
			records.put("a", 1).await.expect("put");
			records.put("b", 2).await.expect("put");
			let after = records.update("a", |v| {
				*v += 10;
				true
			});
			assert_eq!(after.await.expect("update"), Some(11));
			assert_eq!(records.update("zzz", |_| true).await.expect("update"), None);
		}
		let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("reopen"));
		let records = RecordStore::<u64>::load(store, "numbers").expect("load");
		assert_eq!(records.get("a"), Some(11));
		assert_eq!(records.get("b"), Some(2));
		assert_eq!(records.all().len(), 2);
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
	async fn of_concurrent_inserts_of_one_id_exactly_one_writes() {
		let dir = tempfile::tempdir().expect("tempdir");
		let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("open"));
		let records = RecordStore::<u64>::load(store, "numbers").expect("load");
		for round in 0..20u64 {
			let id = format!("id{round}");
			let barrier = Arc::new(tokio::sync::Barrier::new(8));
			let mut tasks = Vec::new();
			for n in 0..8u64 {
				let (records, barrier, id) =
					(Arc::clone(&records), Arc::clone(&barrier), id.clone());
				tasks.push(tokio::spawn(async move {
					barrier.wait().await;
					records.insert_unless(&id, n, |_| true).await.expect("insert")
				}));
			}
			let mut written = Vec::new();
			let mut kept = Vec::new();
			for (n, task) in tasks.into_iter().enumerate() {
				match task.await.expect("task") {
					Insert::Written => written.push(n as u64),
					Insert::Kept(value) => kept.push(value),
				}
			}
			assert_eq!(written.len(), 1, "round {round}: {written:?}");
			// Everyone else saw the winner's record.
			assert!(kept.iter().all(|v| *v == written[0]), "round {round}: {kept:?}");
			assert_eq!(records.get(&id), Some(written[0]));
		}
		// A record `keep` does not keep is replaced.
		let replaced = records.insert_unless("id0", 99, |old| *old == 1000);
		assert_eq!(replaced.await.expect("insert"), Insert::Written);
		assert_eq!(records.get("id0"), Some(99));
	}
}
