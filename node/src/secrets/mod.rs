//! The node's seed kept in its store, encrypted, so that a standby reading the same database
//! is the same node (issue 15: "the seed and every key the node needs live in the database").
//!
//! Invariant: the seed is in the store only sealed (ChaCha20-Poly1305 under the operator's
//! 32-byte key, a fresh nonce, the entry's name bound as associated data); a seed is used only
//! after its sealed copy is durable (the write acknowledged), so a node never pays out to keys
//! a crash could forget; a key that does not open the stored seed is an error, never a new
//! seed; an existing `DATA_DIR/seed` is taken into the store once and must agree with it after.
//! Everything else the node derives (wallet, LDK keys, tower key) comes from the seed; scoped
//! API keys and webhook secrets are in the store already; the credentials clients hold as
//! files are mirrored by `files`.

mod files;

use std::path::Path;

use lightning::util::persist::KVStore;

pub use crate::sealing::{open, seal, SecretsKey};
use crate::store::DynStore;
use crate::NodeError;

pub use files::{entry_name, restore_files};

/// The store namespace of sealed secrets.
pub const SECRETS_NAMESPACE: &str = "fulgur_secrets";
/// The seed's entry in [`SECRETS_NAMESPACE`].
pub const SEED_ENTRY: &str = "seed";

/// The node's seed from the store, sealed under `key`: the stored one, else `seed_file`'s
/// (taken in once), else a new one; durable in the store before it is answered.
pub async fn load_or_create_seed(
	store: &DynStore, key: &SecretsKey, seed_file: &Path,
) -> Result<[u8; 32], NodeError> {
	let from_file = match std::fs::read(seed_file) {
		Ok(bytes) => Some(<[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
			NodeError::Persistence(format!("{} is not a 32-byte seed", seed_file.display()))
		})?),
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
		Err(e) => return Err(NodeError::Persistence(format!("reading the seed file: {e}"))),
	};
	match KVStore::read(store, SECRETS_NAMESPACE, "", SEED_ENTRY).await {
		Ok(sealed) => {
			let seed = open(key, SEED_ENTRY, &sealed)?;
			let seed = <[u8; 32]>::try_from(seed.as_slice()).map_err(|_| {
				NodeError::Persistence("the database's seed is not 32 bytes".into())
			})?;
			if from_file.is_some_and(|file| file != seed) {
				return Err(NodeError::Persistence(format!(
					"{} is not the database's seed: this data directory belongs to another node \
					 (move it away to run this database's node here)",
					seed_file.display()
				)));
			}
			Ok(seed)
		}
		Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => {
			let seed = match from_file {
				Some(seed) => seed,
				None => {
					refuse_new_seed_on_a_node(store).await?;
					rand::random()
				}
			};
			let sealed = seal(key, SEED_ENTRY, &seed)?;
			KVStore::write(store, SECRETS_NAMESPACE, "", SEED_ENTRY, sealed)
				.await
				.map_err(|e| NodeError::Persistence(format!("storing the sealed seed: {e}")))?;
			Ok(seed)
		}
		Err(e) => Err(NodeError::Persistence(format!("reading the sealed seed: {e}"))),
	}
}

/// An error when `store` already holds a node (its channel manager): a new seed there would
/// be another node's keys over that node's channels. Asked before any new seed is made.
pub async fn refuse_new_seed_on_a_node(store: &DynStore) -> Result<(), NodeError> {
	match crate::persistence::manager_chunks::exists(store).await {
		Ok(true) => Err(NodeError::Persistence(
			"the store holds a node whose seed is neither in this data directory nor sealed in \
			 the store: give this directory that node's seed file, or start that node once with \
			 its secrets key (it seals its seed in the database); a new seed here would lose \
			 that node's channels"
				.into(),
		)),
		Ok(false) => Ok(()),
		Err(e) => Err(NodeError::Persistence(format!("reading the channel manager: {e}"))),
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::MemoryStore;

	fn key(byte: u8) -> SecretsKey {
		SecretsKey::from_bytes([byte; 32])
	}

	#[tokio::test]
	async fn the_seed_is_created_once_taken_from_a_file_once_and_refused_under_another_key() {
		let dir = tempfile::tempdir().unwrap();
		let store = MemoryStore::new();
		let seed_file = dir.path().join("seed");
		let created = load_or_create_seed(&store, &key(1), &seed_file).await.unwrap();
		assert!(!seed_file.exists(), "the seed was written outside the store");
		assert_eq!(load_or_create_seed(&store, &key(1), &seed_file).await.unwrap(), created);
		let refused = load_or_create_seed(&store, &key(2), &seed_file).await.unwrap_err();
		assert!(refused.to_string().contains("does not open"), "{refused}");

		// An existing node's seed file moves into an empty database, and must agree after.
		let empty = MemoryStore::new();
		std::fs::write(&seed_file, [7u8; 32]).unwrap();
		assert_eq!(load_or_create_seed(&empty, &key(1), &seed_file).await.unwrap(), [7u8; 32]);
		std::fs::remove_file(&seed_file).unwrap();
		assert_eq!(load_or_create_seed(&empty, &key(1), &seed_file).await.unwrap(), [7u8; 32]);
		std::fs::write(&seed_file, [8u8; 32]).unwrap();
		let other = load_or_create_seed(&empty, &key(1), &seed_file).await.unwrap_err();
		assert!(other.to_string().contains("belongs to another node"), "{other}");
	}
}
