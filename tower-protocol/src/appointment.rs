//! The appointment a user hands to a tower, and how it is signed.

use core::fmt;

use bitcoin::secp256k1::{self, SecretKey};
use bitcoin::{Transaction, Txid};
use serde::{Deserialize, Serialize};

use crate::crypto::{self, UserId};
use crate::locator::Locator;

/// "If a transaction with this locator appears, decrypt this blob with its txid and
/// broadcast the result." JSON: `{"locator": hex, "encrypted_blob": hex, "to_self_delay": n}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Appointment {
	/// Locator of the commitment transaction this appointment reacts to.
	pub locator: Locator,
	/// The justice transaction, encrypted with [`crypto::encrypt`].
	#[serde(with = "crate::ser::hex_bytes")]
	pub encrypted_blob: Vec<u8>,
	/// CSV delay of the `to_local` output the justice tx spends; informational for towers.
	pub to_self_delay: u32,
}

impl Appointment {
	/// An appointment from its parts.
	pub fn new(locator: Locator, encrypted_blob: Vec<u8>, to_self_delay: u32) -> Self {
		Appointment { locator, encrypted_blob, to_self_delay }
	}

	/// The appointment for a revoked commitment: locator and blob derived from its txid.
	pub fn for_justice_tx(
		commitment_txid: &Txid, justice_tx: &Transaction, to_self_delay: u32,
	) -> Self {
		Appointment {
			locator: Locator::from_txid(commitment_txid),
			encrypted_blob: crypto::encrypt(justice_tx, commitment_txid),
			to_self_delay,
		}
	}

	/// The bytes the user signs: `locator || encrypted_blob || to_self_delay` (u32 big-endian).
	pub fn to_vec(&self) -> Vec<u8> {
		let mut out =
			Vec::with_capacity(self.locator.as_bytes().len() + self.encrypted_blob.len() + 4);
		out.extend_from_slice(self.locator.as_bytes());
		out.extend_from_slice(&self.encrypted_blob);
		out.extend_from_slice(&self.to_self_delay.to_be_bytes());
		out
	}

	/// The user's signature over [`Appointment::to_vec`], as sent in `add_appointment`.
	pub fn sign(&self, sk: &SecretKey) -> String {
		crypto::sign(&self.to_vec(), sk)
	}

	/// Who signed this appointment (the tower authenticates users this way).
	pub fn recover_signer(&self, signature: &str) -> Result<UserId, secp256k1::Error> {
		crypto::recover_pk(&self.to_vec(), signature).map(UserId)
	}

	/// Whether `signature` is `user`'s signature over this appointment.
	pub fn verify(&self, signature: &str, user: &UserId) -> bool {
		crypto::verify(&self.to_vec(), signature, &user.0)
	}
}

/// Where an appointment is in the tower. JSON: `"not_found"`, `"being_watched"`,
/// `"dispute_responded"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
	/// The tower has no such appointment for this user.
	NotFound,
	/// The tower is watching for the commitment.
	BeingWatched,
	/// The commitment was seen and the justice tx broadcast; the tower now tracks it.
	DisputeResponded,
}

impl fmt::Display for AppointmentStatus {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str(match self {
			AppointmentStatus::NotFound => "not_found",
			AppointmentStatus::BeingWatched => "being_watched",
			AppointmentStatus::DisputeResponded => "dispute_responded",
		})
	}
}

#[cfg(test)]
mod tests {
	use bitcoin::secp256k1::SecretKey;

	use super::*;
	use crate::crypto::tests::{commitment_txid, justice_tx};

	fn appointment() -> Appointment {
		let txid = commitment_txid(9);
		Appointment::for_justice_tx(&txid, &justice_tx(txid), 144)
	}

	#[test]
	fn to_vec_layout() {
		let a = Appointment::new(Locator::from([0xab; 16]), vec![1, 2, 3], 0x0102_0304);
		let mut expected = vec![0xab; 16];
		expected.extend_from_slice(&[1, 2, 3, 1, 2, 3, 4]);
		assert_eq!(a.to_vec(), expected);
	}

	#[test]
	fn for_justice_tx_decrypts() {
		let txid = commitment_txid(9);
		let a = appointment();
		assert_eq!(a.locator, Locator::from_txid(&txid));
		assert_eq!(crypto::decrypt(&a.encrypted_blob, &txid).unwrap(), justice_tx(txid));
	}

	#[test]
	fn signature_recovers_signer_and_binds_every_field() {
		let sk = SecretKey::from_slice(&[0x33; 32]).unwrap();
		let user = UserId::from_secret_key(&sk);
		let a = appointment();
		let sig = a.sign(&sk);
		assert_eq!(a.recover_signer(&sig).unwrap(), user);
		assert!(a.verify(&sig, &user));

		let mut other = a.clone();
		other.to_self_delay += 1;
		assert!(!other.verify(&sig, &user));
		let mut other = a.clone();
		other.encrypted_blob[0] ^= 1;
		assert!(!other.verify(&sig, &user));
		let mut other = a.clone();
		other.locator = Locator::from([0; 16]);
		assert!(!other.verify(&sig, &user));
		assert_ne!(other.recover_signer(&sig).ok(), Some(user));
	}

	#[test]
	fn json_matches_teos() {
		let a = Appointment::new(Locator::from([0x0f; 16]), vec![0xde, 0xad], 42);
		let json = serde_json::to_string(&a).unwrap();
		assert_eq!(
			json,
			r#"{"locator":"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f","encrypted_blob":"dead","to_self_delay":42}"#
		);
		assert_eq!(serde_json::from_str::<Appointment>(&json).unwrap(), a);
		let a = appointment();
		assert_eq!(
			serde_json::from_str::<Appointment>(&serde_json::to_string(&a).unwrap()).unwrap(),
			a
		);
	}

	#[test]
	fn status_json() {
		for (s, json) in [
			(AppointmentStatus::NotFound, "\"not_found\""),
			(AppointmentStatus::BeingWatched, "\"being_watched\""),
			(AppointmentStatus::DisputeResponded, "\"dispute_responded\""),
		] {
			assert_eq!(serde_json::to_string(&s).unwrap(), json);
			assert_eq!(serde_json::from_str::<AppointmentStatus>(json).unwrap(), s);
			assert_eq!(format!("\"{s}\""), json);
		}
	}
}
