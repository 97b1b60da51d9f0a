//! BDK's change sets, kept in the node's sled store.

use bdk_wallet::chain::Merge;
use bdk_wallet::{ChangeSet, WalletPersister};
use lightning::util::persist::KVStoreSync;

use std::sync::Arc;

use crate::store::DynStore;

const NAMESPACE: &str = "bdk_wallet";
const KEY: &str = "changeset";

/// Stores the wallet's aggregated change set as one JSON value; each persist merges the new
/// changes in and is durable before it returns.
pub struct WalletStore {
	store: Arc<DynStore>,
}

impl WalletStore {
	/// A persister over the node's store.
	pub fn new(store: Arc<DynStore>) -> WalletStore {
		WalletStore { store }
	}

	fn read(&self) -> Result<ChangeSet, std::io::Error> {
		match KVStoreSync::read(&*self.store, NAMESPACE, "", KEY) {
			Ok(bytes) => serde_json::from_slice(&bytes)
				.map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
			Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => Ok(ChangeSet::default()),
			Err(e) => Err(std::io::Error::other(e.to_string())),
		}
	}
}

impl WalletPersister for WalletStore {
	type Error = std::io::Error;

	fn initialize(persister: &mut Self) -> Result<ChangeSet, Self::Error> {
		persister.read()
	}

	fn persist(persister: &mut Self, changeset: &ChangeSet) -> Result<(), Self::Error> {
		if changeset.is_empty() {
			return Ok(());
		}
		let mut all = persister.read()?;
		all.merge(changeset.clone());
		let bytes = serde_json::to_vec(&all)
			.map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
		KVStoreSync::write(&*persister.store, NAMESPACE, "", KEY, bytes)
			.map_err(|e| std::io::Error::other(e.to_string()))
	}
}
