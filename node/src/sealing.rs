//! Sealing: a secret stored only encrypted under the operator's key (ChaCha20-Poly1305, a
//! fresh random nonce per sealing, the entry's name bound as associated data), so the store
//! holding it learns nothing of it and an entry cannot be passed off as another.
//!
//! Invariant: [`open`] answers the secret only for the key and name it was sealed under;
//! anything else (another key, another name, a changed byte, an unknown format) is an error.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use crate::NodeError;

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

#[cfg(test)]
mod tests {
	use super::*;

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
}
