//! Serde helpers for the JSON wire format, where every byte string is hex.

/// Implements `Serialize`/`Deserialize` as a string through `Display`/`FromStr`.
macro_rules! serde_as_str {
	($t:ty, $expecting:literal) => {
		impl serde::Serialize for $t {
			fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
				s.collect_str(self)
			}
		}

		impl<'de> serde::Deserialize<'de> for $t {
			fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
				let s = <String as serde::Deserialize>::deserialize(d)?;
				s.parse().map_err(|e| {
					serde::de::Error::custom(format_args!("invalid {}: {}", $expecting, e))
				})
			}
		}
	};
}
pub(crate) use serde_as_str;

/// `#[serde(with = "crate::ser::hex_bytes")]`: `Vec<u8>` as a hex string.
pub(crate) mod hex_bytes {
	use bitcoin::hex::{DisplayHex, FromHex};
	use serde::{Deserialize, Deserializer, Serializer};

	pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
		s.collect_str(&bytes.as_hex())
	}

	pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
		let s = String::deserialize(d)?;
		Vec::from_hex(&s).map_err(serde::de::Error::custom)
	}
}

/// `#[serde(with = "crate::ser::txid")]`: a txid as hex in display (RPC) order, like teos.
pub(crate) mod txid {
	use bitcoin::Txid;
	use serde::{Deserialize, Deserializer, Serializer};

	pub(crate) fn serialize<S: Serializer>(txid: &Txid, s: S) -> Result<S::Ok, S::Error> {
		s.collect_str(txid)
	}

	pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Txid, D::Error> {
		let s = String::deserialize(d)?;
		s.parse().map_err(serde::de::Error::custom)
	}
}
