//! LN message signatures (`signmessage`: zbase32 of a recoverable signature over
//! SHA256d("Lightning Signed Message:" || message)), the same as LDK's `message_signing`
//! but on one secp256k1 context made once: building a context per call costs more than the
//! signature itself, and the tower checks one signature per request.

use std::sync::OnceLock;

use bitcoin::hashes::{sha256d, Hash};
use bitcoin::secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use bitcoin::secp256k1::{self, All, Message, PublicKey, Secp256k1, SecretKey};

const PREFIX: &[u8] = b"Lightning Signed Message:";
const ZBASE32: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";

/// The process's secp256k1 context, randomized once (side-channel blinding for signing).
pub(crate) fn secp() -> &'static Secp256k1<All> {
	static SECP: OnceLock<Secp256k1<All>> = OnceLock::new();
	SECP.get_or_init(|| {
		let mut secp = Secp256k1::new();
		secp.seeded_randomize(&rand::random());
		secp
	})
}

fn digest(message: &[u8]) -> Message {
	let mut engine = sha256d::Hash::engine();
	bitcoin::hashes::HashEngine::input(&mut engine, PREFIX);
	bitcoin::hashes::HashEngine::input(&mut engine, message);
	Message::from_digest(sha256d::Hash::from_engine(engine).to_byte_array())
}

fn zbase32_encode(data: &[u8]) -> String {
	let mut out = String::with_capacity(data.len() * 8 / 5 + 1);
	let (mut buffer, mut bits) = (0u32, 0u32);
	for byte in data {
		buffer = (buffer << 8) | u32::from(*byte);
		bits += 8;
		while bits >= 5 {
			bits -= 5;
			out.push(char::from(ZBASE32[((buffer >> bits) & 31) as usize]));
		}
	}
	if bits > 0 {
		out.push(char::from(ZBASE32[((buffer << (5 - bits)) & 31) as usize]));
	}
	out
}

fn zbase32_decode(text: &str) -> Option<Vec<u8>> {
	let mut out = Vec::with_capacity(text.len() * 5 / 8);
	let (mut buffer, mut bits) = (0u32, 0u32);
	for c in text.bytes() {
		let value = ZBASE32.iter().position(|z| *z == c)? as u32;
		buffer = (buffer << 5) | value;
		bits += 5;
		if bits >= 8 {
			bits -= 8;
			out.push((buffer >> bits) as u8);
		}
		buffer &= (1 << bits) - 1;
	}
	Some(out)
}

/// Signs like `signmessage`.
pub fn sign(message: &[u8], sk: &SecretKey) -> String {
	let sig = secp().sign_ecdsa_recoverable(&digest(message), sk);
	let (id, compact) = sig.serialize_compact();
	let mut bytes = [0u8; 65];
	bytes[0] = id.to_i32() as u8 + 31;
	bytes[1..].copy_from_slice(&compact);
	zbase32_encode(&bytes)
}

/// The key that signed `message`.
pub fn recover_pk(message: &[u8], signature: &str) -> Result<PublicKey, secp256k1::Error> {
	let bytes = zbase32_decode(signature).ok_or(secp256k1::Error::InvalidSignature)?;
	if bytes.len() != 65 {
		return Err(secp256k1::Error::InvalidSignature);
	}
	let id = RecoveryId::from_i32(i32::from(bytes[0]) - 31)?;
	let sig = RecoverableSignature::from_compact(&bytes[1..], id)?;
	secp().recover_ecdsa(&digest(message), &sig)
}

#[cfg(test)]
mod tests {
	use super::*;
	use lightning::util::message_signing;

	#[test]
	fn matches_ldk() {
		for n in 1..20u8 {
			let sk = SecretKey::from_slice(&[n; 32]).unwrap();
			let message = vec![n; usize::from(n) * 7];
			let ours = sign(&message, &sk);
			assert_eq!(ours, message_signing::sign(&message, &sk));
			assert_eq!(
				recover_pk(&message, &ours).unwrap(),
				message_signing::recover_pk(&message, &ours).unwrap()
			);
		}
		assert!(recover_pk(b"x", "").is_err());
		assert!(recover_pk(b"x", "yy").is_err());
		assert!(recover_pk(b"x", &"y".repeat(104)).is_err());
	}
}
