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

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use lightning::util::persist::KVStore;

use crate::store::DynStore;
use crate::NodeError;

pub use files::{entry_name, restore_files};

/// The store namespace of sealed secrets.
pub const SECRETS_NAMESPACE: &str = "fulgur_secrets";
/// The seed's entry in [`SECRETS_NAMESPACE`].
pub const SEED_ENTRY: &str = "seed";
/// The first byte of a sealed entry: its format.
const SEALED_V1: u8 = 1;
const NONCE_LEN: usize = 12;
/// What the associated data starts with: a sealed entry opens only under its own name.
const AAD_PREFIX: &[u8] = b"fulgur sealed secret v1: ";

/// The operator's key that seals the node's secrets in the store: 32 bytes, given to the leader
/// and every standby alike (`--secrets-key-file`, or `FULGUR_SECRETS_KEY` as 64 hex digits).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretsKey([u8; 32]);

impl std::fmt::Debug for SecretsKey {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str("SecretsKey(..)")
	}
}

impl SecretsKey {
	/// A key from its 32 bytes.
	pub fn from_bytes(bytes: [u8; 32]) -> SecretsKey {
		SecretsKey(bytes)
	}

	/// A key from 64 hex digits (surrounding whitespace ignored).
	pub fn from_hex(text: &str) -> Result<SecretsKey, String> {
		let text = text.trim();
		if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
			return Err("a secrets key is 64 hex digits (32 bytes), e.g. from \
				`openssl rand -hex 32`"
				.into());
		}
		let mut bytes = [0u8; 32];
		for (i, byte) in bytes.iter_mut().enumerate() {
			*byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
				.map_err(|e| format!("a secrets key is 64 hex digits: {e}"))?;
		}
		Ok(SecretsKey(bytes))
	}

	/// A key from a file holding its 64 hex digits.
	pub fn read_file(path: &Path) -> Result<SecretsKey, String> {
		let text = std::fs::read_to_string(path)
			.map_err(|e| format!("reading the secrets key {}: {e}", path.display()))?;
		SecretsKey::from_hex(&text).map_err(|e| format!("{}: {e}", path.display()))
	}

	fn cipher(&self) -> ChaCha20Poly1305 {
		ChaCha20Poly1305::new(Key::from_slice(&self.0))
	}
}

fn associated_data(name: &str) -> Vec<u8> {
	[AAD_PREFIX, name.as_bytes()].concat()
}

/// `secret` sealed under `key` for the entry `name`: format byte, nonce, ciphertext with tag.
pub fn seal(key: &SecretsKey, name: &str, secret: &[u8]) -> Result<Vec<u8>, NodeError> {
	let nonce: [u8; NONCE_LEN] = rand::random();
	let aad = associated_data(name);
	let sealed = key
		.cipher()
		.encrypt(Nonce::from_slice(&nonce), Payload { msg: secret, aad: &aad })
		.map_err(|_| NodeError::Internal(format!("sealing the secret {name}")))?;
	Ok([&[SEALED_V1][..], &nonce, &sealed].concat())
}

/// The secret of entry `name` sealed by [`seal`]; an error when `key` is not the one that
/// sealed it (or the bytes were changed).
pub fn open(key: &SecretsKey, name: &str, sealed: &[u8]) -> Result<Vec<u8>, NodeError> {
	let (format, rest) = sealed
		.split_first()
		.ok_or_else(|| NodeError::Persistence(format!("the stored secret {name} is empty")))?;
	if *format != SEALED_V1 || rest.len() < NONCE_LEN {
		return Err(NodeError::Persistence(format!(
			"the stored secret {name} has format {format}, which this fulgur does not know"
		)));
	}
	let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
	let aad = associated_data(name);
	key.cipher().decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: &aad }).map_err(
		|_| {
			NodeError::Persistence(format!(
				"the secrets key does not open the database's {name}: is it the key the node \
				 that created this database was given?"
			))
		},
	)
}

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
	use lightning::util::persist::{
		CHANNEL_MANAGER_PERSISTENCE_KEY as KEY,
		CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE as PRIMARY,
		CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE as SECONDARY,
	};
	match KVStore::read(store, PRIMARY, SECONDARY, KEY).await {
		Ok(_) => Err(NodeError::Persistence(
			"the store holds a node whose seed is neither in this data directory nor sealed in \
			 the store: give this directory that node's seed file, or start that node once with \
			 its secrets key (it seals its seed in the database); a new seed here would lose \
			 that node's channels"
				.into(),
		)),
		Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => Ok(()),
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

	#[test]
	fn a_sealed_secret_opens_only_under_its_key_and_name() {
		let sealed = seal(&key(1), "seed", b"thirty-two bytes of secret seed!").unwrap();
		assert!(
			!sealed.windows(8).any(|w| w == b"thirty-t"),
			"the secret shows in the sealed bytes"
		);
		assert_eq!(open(&key(1), "seed", &sealed).unwrap(), b"thirty-two bytes of secret seed!");
		let wrong_key = open(&key(2), "seed", &sealed).unwrap_err().to_string();
		assert!(wrong_key.contains("does not open"), "{wrong_key}");
		assert!(open(&key(1), "other", &sealed).is_err(), "opened under another entry's name");
		let mut changed = sealed.clone();
		*changed.last_mut().unwrap() ^= 1;
		assert!(open(&key(1), "seed", &changed).is_err(), "a changed byte went unnoticed");
		assert!(open(&key(1), "seed", &[]).is_err());
		assert!(open(&key(1), "seed", &[9, 0, 0]).is_err());
	}

	#[test]
	fn a_key_is_64_hex_digits() {
		let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n";
		let parsed = SecretsKey::from_hex(hex).unwrap();
		assert_eq!(parsed.0[1], 0x11);
		assert_eq!(parsed.0[31], 0xff);
		assert!(SecretsKey::from_hex("0011").is_err());
		assert!(SecretsKey::from_hex(&"zz".repeat(32)).is_err());
		assert_eq!(format!("{parsed:?}"), "SecretsKey(..)");
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
