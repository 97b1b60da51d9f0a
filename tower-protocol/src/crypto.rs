//! Blob encryption (ChaCha20-Poly1305 keyed by the commitment txid), LN message
//! signatures, and the user id.

use core::fmt;
use core::str::FromStr;

use bitcoin::consensus::encode;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::{DisplayHex, FromHex};
use bitcoin::secp256k1::{self, PublicKey, SecretKey};
use bitcoin::{Transaction, Txid};
use chacha20poly1305::aead::Aead;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};

use crate::errors::ParseError;

/// The cipher for a given commitment: key = SHA256(txid bytes, internal order).
fn cipher(commitment_txid: &Txid) -> ChaCha20Poly1305 {
	let key = sha256::Hash::hash(commitment_txid.as_byte_array()).to_byte_array();
	ChaCha20Poly1305::new(Key::from_slice(&key))
}

/// The nonce is always 12 zero bytes: each key (one per commitment) encrypts one plaintext.
fn nonce() -> Nonce {
	Nonce::default()
}

/// Encrypts a justice transaction for the tower: ChaCha20-Poly1305 (IETF, 12-byte zero
/// nonce) over its consensus serialization, keyed with SHA256 of the commitment txid.
/// The result is the plaintext length plus a 16-byte tag.
pub fn encrypt(justice_tx: &Transaction, commitment_txid: &Txid) -> Vec<u8> {
	let plaintext = encode::serialize(justice_tx);
	// The AEAD only fails for plaintexts over 2^32 blocks (256 GiB).
	cipher(commitment_txid)
		.encrypt(&nonce(), plaintext.as_slice())
		.expect("a transaction is far below ChaCha20-Poly1305's 256 GiB message limit")
}

/// Why a blob could not be turned back into a transaction.
#[derive(Debug)]
pub enum DecryptError {
	/// Authentication failed: wrong txid, or the blob was tampered with or truncated.
	Aead,
	/// The plaintext is not a consensus-encoded transaction.
	Decode(encode::Error),
}

impl fmt::Display for DecryptError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			DecryptError::Aead => f.write_str("blob authentication failed"),
			DecryptError::Decode(e) => write!(f, "decrypted blob is not a transaction: {e}"),
		}
	}
}

impl std::error::Error for DecryptError {}

/// Decrypts a blob made by [`encrypt`] with the txid of the commitment seen on chain.
pub fn decrypt(blob: &[u8], commitment_txid: &Txid) -> Result<Transaction, DecryptError> {
	let plaintext =
		cipher(commitment_txid).decrypt(&nonce(), blob).map_err(|_| DecryptError::Aead)?;
	encode::deserialize(&plaintext).map_err(DecryptError::Decode)
}

/// Signs a message with an LN message signature (zbase32, as `signmessage`).
pub fn sign(message: &[u8], sk: &SecretKey) -> String {
	message::sign(message, sk)
}

/// Recovers the public key that made an LN message signature over `message`.
pub fn recover_pk(message: &[u8], signature: &str) -> Result<PublicKey, secp256k1::Error> {
	message::recover_pk(message, signature)
}

/// Whether `signature` over `message` was made by `pk`.
pub fn verify(message: &[u8], signature: &str, pk: &PublicKey) -> bool {
	message::recover_pk(message, signature).is_ok_and(|signer| signer == *pk)
}

/// Length of a user id: a compressed public key.
pub const USER_ID_LEN: usize = 33;

/// A tower user, identified by the compressed public key it signs with.
/// Shown and serialized as 66 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub PublicKey);

impl UserId {
	/// The user id of a secret key's holder.
	pub fn from_secret_key(sk: &SecretKey) -> Self {
		UserId(PublicKey::from_secret_key(message::secp(), sk))
	}

	/// The 33-byte compressed encoding.
	pub fn to_bytes(&self) -> [u8; USER_ID_LEN] {
		self.0.serialize()
	}
}

impl From<PublicKey> for UserId {
	fn from(pk: PublicKey) -> Self {
		UserId(pk)
	}
}

impl fmt::Display for UserId {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		fmt::Display::fmt(&self.to_bytes().as_hex(), f)
	}
}

impl fmt::Debug for UserId {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "UserId({self})")
	}
}

impl FromStr for UserId {
	type Err = ParseError;

	fn from_str(s: &str) -> Result<Self, ParseError> {
		let bytes = Vec::<u8>::from_hex(s).map_err(|_| ParseError::InvalidHex)?;
		if bytes.len() != USER_ID_LEN {
			return Err(ParseError::WrongLength { expected: USER_ID_LEN, actual: bytes.len() });
		}
		PublicKey::from_slice(&bytes).map(UserId).map_err(|_| ParseError::InvalidPublicKey)
	}
}

crate::ser::serde_as_str!(UserId, "user id");

mod message;

#[cfg(test)]
pub(crate) mod tests;
