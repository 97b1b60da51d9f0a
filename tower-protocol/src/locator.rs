//! The appointment locator: what a tower indexes appointments by.

use core::fmt;
use core::str::FromStr;

use bitcoin::hashes::Hash;
use bitcoin::hex::{DisplayHex, FromHex};
use bitcoin::Txid;

use crate::errors::ParseError;

/// Length of a locator in bytes.
pub const LOCATOR_LEN: usize = 16;

/// The first 16 bytes of a commitment txid, in rust-bitcoin's internal byte order
/// (`txid.as_byte_array()[..16]`, i.e. the *last* 16 bytes of the usual hex txid, reversed).
///
/// The tower computes it for every transaction in every block; a match means the
/// commitment of an appointment was broadcast, and the full txid decrypts the blob.
/// Shown and serialized as 32 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Locator([u8; LOCATOR_LEN]);

impl Locator {
	/// The locator of a commitment transaction.
	pub fn from_txid(txid: &Txid) -> Self {
		let mut bytes = [0; LOCATOR_LEN];
		bytes.copy_from_slice(&txid.as_byte_array()[..LOCATOR_LEN]);
		Locator(bytes)
	}

	/// From raw bytes, which must be exactly 16.
	pub fn from_slice(bytes: &[u8]) -> Result<Self, ParseError> {
		<[u8; LOCATOR_LEN]>::try_from(bytes)
			.map(Locator)
			.map_err(|_| ParseError::WrongLength { expected: LOCATOR_LEN, actual: bytes.len() })
	}

	/// The raw bytes.
	pub fn as_bytes(&self) -> &[u8; LOCATOR_LEN] {
		&self.0
	}
}

impl From<[u8; LOCATOR_LEN]> for Locator {
	fn from(bytes: [u8; LOCATOR_LEN]) -> Self {
		Locator(bytes)
	}
}

impl fmt::Display for Locator {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		fmt::Display::fmt(&self.0.as_hex(), f)
	}
}

impl fmt::Debug for Locator {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "Locator({self})")
	}
}

impl FromStr for Locator {
	type Err = ParseError;

	fn from_str(s: &str) -> Result<Self, ParseError> {
		let bytes = Vec::<u8>::from_hex(s).map_err(|_| ParseError::InvalidHex)?;
		Locator::from_slice(&bytes)
	}
}

crate::ser::serde_as_str!(Locator, "locator");

#[cfg(test)]
mod tests {
	use super::*;

	// Txid as bitcoind prints it; internal order is the reverse.
	const TXID: &str = "d6ac4a5e61657c4c604dcde855a1db74ec6b3e54f32695d72c5e11c7761ea1b4";

	#[test]
	fn from_txid_takes_internal_order_prefix() {
		let txid: Txid = TXID.parse().unwrap();
		let locator = Locator::from_txid(&txid);
		// Internal order = display hex reversed: b4a11e76c7115e2cd79526f3543e6bec...
		assert_eq!(locator.to_string(), "b4a11e76c7115e2cd79526f3543e6bec");
		assert_eq!(&locator.as_bytes()[..], &txid.as_byte_array()[..16]);
	}

	#[test]
	fn parse_display_serde() {
		let locator: Locator = "b4a11e76c7115e2cd79526f3543e6bec".parse().unwrap();
		assert_eq!(locator.to_string().parse::<Locator>().unwrap(), locator);
		let json = serde_json::to_string(&locator).unwrap();
		assert_eq!(json, "\"b4a11e76c7115e2cd79526f3543e6bec\"");
		assert_eq!(serde_json::from_str::<Locator>(&json).unwrap(), locator);

		assert_eq!("zz".parse::<Locator>(), Err(ParseError::InvalidHex));
		assert_eq!(
			"aa".parse::<Locator>(),
			Err(ParseError::WrongLength { expected: 16, actual: 1 })
		);
		assert!(serde_json::from_str::<Locator>("\"aabb\"").is_err());
		assert!(serde_json::from_str::<Locator>("12").is_err());
	}
}
