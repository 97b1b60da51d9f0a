//! The wire's text forms to the node's typed ids: node ids, channel ids, payment hashes,
//! preimages, payment ids and short channel ids, and the requests that carry them.
//!
//! Invariant: this is the one place an id handed to the API is parsed. Each parser trims the
//! text, accepts either case of hex, and refuses anything else with the code and message the
//! API has always answered with (`invalid_node_id` for a node id, `invalid_request` for the
//! others); a lookup by an id that cannot be one answers `not_found`, as an unknown id does
//! (the handlers say so where they look up).

use bitcoin::hex::FromHex;
use fulgur_api::ErrorCode;
use fulgur_node::{ChannelId, PaymentHash, PaymentId, PaymentPreimage, PublicKey};

use crate::error::ApiError;

/// A node id: a public key in hex.
pub(crate) fn node_id(text: &str) -> Result<PublicKey, ApiError> {
	text.trim()
		.parse::<PublicKey>()
		.map_err(|_| ApiError::new(ErrorCode::InvalidNodeId, format!("{text:?} is not a node id")))
}

/// A channel id: 32 bytes in hex.
pub(crate) fn channel_id(text: &str) -> Result<ChannelId, ApiError> {
	<[u8; 32]>::from_hex(text.trim())
		.map(ChannelId)
		.map_err(|_| ApiError::invalid_request(format!("{text:?} is not a channel id")))
}

/// A payment hash (the field `payment_hash`): 32 bytes in hex.
pub(crate) fn payment_hash(text: &str) -> Result<PaymentHash, ApiError> {
	hex_32(text, "payment_hash").map(PaymentHash)
}

/// A preimage (the field `preimage`): 32 bytes in hex.
pub(crate) fn preimage(text: &str) -> Result<PaymentPreimage, ApiError> {
	hex_32(text, "preimage").map(PaymentPreimage)
}

/// A payment id (the field `payment_id`): 32 bytes in hex. A payment we received is named by
/// its payment hash, which reads the same.
pub(crate) fn payment_id(text: &str) -> Result<PaymentId, ApiError> {
	hex_32(text, "payment_id").map(PaymentId)
}

/// A short channel id: `BLOCKxTXxOUTPUT` or the plain number BOLT 7 sends.
pub(crate) fn short_channel_id(text: &str) -> Result<u64, ApiError> {
	let bad = || {
		ApiError::invalid_request(format!(
			"short_channel_id {text:?} is neither BLOCKxTXxOUTPUT nor a number"
		))
	};
	let parts: Vec<&str> = text.split('x').collect();
	match parts.as_slice() {
		[number] => number.parse::<u64>().map_err(|_| bad()),
		[block, tx, output] => {
			let block: u64 = block.parse().map_err(|_| bad())?;
			let tx: u64 = tx.parse().map_err(|_| bad())?;
			let output: u64 = output.parse().map_err(|_| bad())?;
			if block > 0xff_ffff || tx > 0xff_ffff || output > 0xffff {
				return Err(bad());
			}
			Ok(block << 40 | tx << 16 | output)
		}
		_ => Err(bad()),
	}
}

/// 32 bytes in hex, the field named `what`.
fn hex_32(text: &str, what: &str) -> Result<[u8; 32], ApiError> {
	<[u8; 32]>::from_hex(text.trim())
		.map_err(|_| ApiError::invalid_request(format!("{what} must be 64 hex characters")))
}

#[cfg(test)]
mod tests {
	use super::*;

	const KEY: &str = "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619";

	#[test]
	fn parses_32_byte_hex_only() {
		assert_eq!(preimage(&"ab".repeat(32)).expect("hex").0, [0xab; 32]);
		assert_eq!(preimage(&format!(" {} ", "AB".repeat(32))).expect("hex").0, [0xab; 32]);
		assert_eq!(payment_hash(&"01".repeat(32)).expect("hex").0, [1; 32]);
		assert_eq!(payment_id(&"02".repeat(32)).expect("hex").0, [2; 32]);
		for bad in ["", "ab", "zz".repeat(32).as_str(), "ab".repeat(33).as_str()] {
			for (err, what) in [
				(preimage(bad).expect_err(bad), "preimage"),
				(payment_hash(bad).expect_err(bad), "payment_hash"),
				(payment_id(bad).expect_err(bad), "payment_id"),
			] {
				assert_eq!((err.code(), err.status().as_u16()), ("invalid_request", 400));
				assert_eq!(err.message(), format!("{what} must be 64 hex characters"));
			}
		}
	}

	#[test]
	fn node_ids_are_public_keys() {
		assert_eq!(node_id(&format!(" {KEY}\n")).expect("key").to_string(), KEY);
		assert_eq!(node_id(&KEY.to_uppercase()).expect("key").to_string(), KEY);
		for bad in ["", "02ab", &KEY[..64], &format!("04{}", &KEY[2..])] {
			let err = node_id(bad).expect_err(bad);
			assert_eq!((err.code(), err.status().as_u16()), ("invalid_node_id", 400));
			assert_eq!(err.message(), format!("{bad:?} is not a node id"));
		}
	}

	#[test]
	fn channel_ids_are_32_bytes() {
		assert_eq!(channel_id(&"cd".repeat(32)).expect("id"), ChannelId([0xcd; 32]));
		for bad in ["", "ab12", "xy".repeat(32).as_str()] {
			let err = channel_id(bad).expect_err(bad);
			assert_eq!((err.code(), err.status().as_u16()), ("invalid_request", 400));
			assert_eq!(err.message(), format!("{bad:?} is not a channel id"));
		}
	}

	#[test]
	fn short_channel_ids_parse_in_both_forms() {
		let scid = 103u64 << 40 | 1 << 16;
		assert_eq!(short_channel_id("103x1x0").ok(), Some(scid));
		assert_eq!(short_channel_id(&scid.to_string()).ok(), Some(scid));
		for bad in ["", "1x2", "axbxc", "16777216x0x0", "1x2x65536", "1x2x3x4", "-1"] {
			let err = short_channel_id(bad).expect_err(bad);
			assert_eq!(err.code(), "invalid_request", "{bad}");
		}
	}
}
