//! fulgur's own records (invoices, payments, peers, webhooks, API keys), durable in the node's
//! store and cached in memory for reads.
//!
//! A record is written through LDK's async `KVStore` on our store: the store applies the write
//! when `put` is called (so two updates of one record land in call order) and the returned
//! future completes once the group commit made it durable.
//!
//! What is on disk is a record's stored form (`stored`), not the domain type the node hands
//! out: each [`Record`] converts to and from its stored form, tagged with its version
//! (`version`). Loading is the migration: a record stored at an older version is read in that
//! version's layout and written back in the current one before the node uses the store
//! (eagerly, at start). Each such rewrite replaces one record in place with one write of its
//! whole new form, nothing is removed or renamed, so a node killed half-way leaves every
//! record readable in its old or its new version, and the next start rewrites the rest. A
//! record of a newer version than this binary knows stops the load with an error.

pub(crate) mod stored;
pub(crate) mod version;

use std::sync::Arc;

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use lightning::util::persist::{KVStore, KVStoreSync};

use crate::store::DynStore;
use crate::NodeError;
use version::StoredRecord;

/// Records an older version rewrites are issued together, at most, before waiting for them to
/// be durable (they share a flush): the writes waiting are bounded, however many records are.
const REWRITE_BATCH: usize = 1024;

/// A domain type kept in a [`RecordStore`]: how it converts to and from its stored form.
pub(crate) trait Record: Clone + Send + Sync + 'static {
	/// The stored form, in the layout of the version this binary writes.
	type Stored: StoredRecord;
	/// The record as it is to be stored.
	fn to_stored(&self) -> Self::Stored;
	/// The record as read from the store.
	fn from_stored(stored: Self::Stored) -> Self;
}

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

impl<T: Record> RecordStore<T> {
	/// Loads every record of `namespace`, rewriting those of an older version in the current
	/// one (durable when this returns). Fails on a record it cannot read, of a newer version
	/// among them. Blocking (store reads): call at start-up.
	pub async fn load(
		store: Arc<DynStore>, namespace: &'static str,
	) -> Result<Arc<Self>, NodeError> {
		let cache = DashMap::new();
		let mut older = Vec::new();
		let keys = KVStoreSync::list(&*store, namespace, "")
			.map_err(|e| NodeError::Persistence(format!("listing {namespace}: {e}")))?;
		for key in keys {
			let bytes = KVStoreSync::read(&*store, namespace, "", &key)
				.map_err(|e| NodeError::Persistence(format!("reading {namespace}/{key}: {e}")))?;
			let read = version::decode::<T::Stored>(&bytes)
				.map_err(|e| NodeError::Persistence(format!("{namespace}/{key}: {e}")))?;
			if read.version < T::Stored::VERSION {
				older.push(key.clone());
			}
			cache.insert(key, T::from_stored(read.record));
		}
		let (updates, _) = tokio::sync::broadcast::channel(1024);
		let records = RecordStore { store, namespace, cache, updates };
		records.rewrite(&older).await?;
		Ok(Arc::new(records))
	}

	/// Writes the records `keys` in the current version: the migration of a store written by
	/// an older fulgur. One write per record, replacing it in place.
	async fn rewrite(&self, keys: &[String]) -> Result<(), NodeError> {
		for batch in keys.chunks(REWRITE_BATCH) {
			let mut writes = Vec::with_capacity(batch.len());
			for key in batch {
				let Some(record) = self.get(key) else { continue };
				let bytes = self.encode(&record)?;
				writes.push((key, KVStore::write(&*self.store, self.namespace, "", key, bytes)));
			}
			for (key, write) in writes {
				write.await.map_err(|e| {
					NodeError::Persistence(format!("migrating {}/{key}: {e}", self.namespace))
				})?;
			}
		}
		Ok(())
	}

	/// One record.
	pub fn get(&self, id: &str) -> Option<T> {
		self.cache.get(id).map(|r| r.value().clone())
	}

	/// All records, in no particular order.
	pub fn all(&self) -> Vec<T> {
		self.cache.iter().map(|r| r.value().clone()).collect()
	}

	/// The records `keep` keeps, in no particular order (only those are copied).
	pub fn matching(&self, keep: impl Fn(&T) -> bool) -> Vec<T> {
		self.cache.iter().filter(|r| keep(r.value())).map(|r| r.value().clone()).collect()
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

	/// [`RecordStore::put`] for callers that cannot wait on a future (a chain listener):
	/// blocks until the record is durable. Call it off the async workers.
	pub fn put_blocking(&self, id: &str, record: T) -> Result<(), NodeError> {
		let bytes = self.encode(&record)?;
		self.cache.insert(id.to_string(), record);
		KVStoreSync::write(&*self.store, self.namespace, "", id, bytes)
			.map_err(|e| NodeError::Persistence(format!("writing {}/{id}: {e}", self.namespace)))?;
		// Nobody listening is fine.
		let _ = self.updates.send(id.to_string());
		Ok(())
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

	/// Stores `records` (new or replacing), issued together in batches (one flush for each,
	/// not one per record), in the order given; durable when the future completes.
	pub async fn put_all(&self, records: Vec<(String, T)>) -> Result<(), NodeError> {
		for batch in records.chunks(REWRITE_BATCH) {
			let mut writes = Vec::with_capacity(batch.len());
			for (id, record) in batch {
				let bytes = self.encode(record)?;
				self.cache.insert(id.clone(), record.clone());
				writes.push((id, KVStore::write(&*self.store, self.namespace, "", id, bytes)));
			}
			for (id, write) in writes {
				self.finish(id, write).await?;
			}
		}
		Ok(())
	}

	/// Stores a new record made from a value taken under `lock` (a counter): the lock is held
	/// from `make` until the write is issued, so the store applies such writes in the order
	/// the lock handed the values out (and a flush that covers one covers those before it).
	/// `make` returns the id and the record; durable when the future completes.
	pub async fn put_ordered<L>(
		&self, lock: &std::sync::Mutex<L>, make: impl FnOnce(&mut L) -> (String, T),
	) -> Result<T, NodeError> {
		let (id, record, write) = {
			let mut locked = lock
				.lock()
				.map_err(|_| NodeError::Internal(format!("{} lock poisoned", self.namespace)))?;
			let (id, record) = make(&mut locked);
			let bytes = self.encode(&record)?;
			self.cache.insert(id.clone(), record.clone());
			let write = KVStore::write(&*self.store, self.namespace, "", &id, bytes);
			(id, record, write)
		};
		self.finish(&id, write).await.map(|()| record)
	}

	/// [`RecordStore::update`] under `lock` (taken before the record's entry, as in
	/// [`RecordStore::put_ordered`], so the two never wait on each other in turn): `change`
	/// may take a value from it, and the lock is held until the write is issued.
	pub async fn update_ordered<L>(
		&self, lock: &std::sync::Mutex<L>, id: &str, change: impl FnOnce(&mut T, &mut L) -> bool,
	) -> Result<Option<T>, NodeError> {
		let (write, record) = {
			let mut locked = lock
				.lock()
				.map_err(|_| NodeError::Internal(format!("{} lock poisoned", self.namespace)))?;
			let Some(mut entry) = self.cache.get_mut(id) else { return Ok(None) };
			let mut candidate = entry.value().clone();
			if !change(&mut candidate, &mut locked) {
				return Ok(Some(candidate));
			}
			let bytes = self.encode(&candidate)?;
			*entry.value_mut() = candidate.clone();
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
		version::encode(&record.to_stored())
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
mod tests;
