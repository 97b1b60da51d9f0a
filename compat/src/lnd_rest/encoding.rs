//! LND's JSON conventions (grpc-gateway's marshalling with every field emitted), in one place:
//! int64/uint64 go out as JSON strings and come in as strings or numbers; booleans come in as
//! JSON booleans or strings in any letter case; bytes go out as standard base64 and come in as
//! standard or URL-safe base64 (with or without padding); errors are
//! `{"code","message","details":[]}`; a stream is one compact JSON object per line,
//! `{"result":..}` or `{"error":..}`. Every decoder here refuses bad input with an
//! [`LndError`], never a panic.

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// An int64 on the wire: written as a JSON string, read from a string or a number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct I64(pub i64);

/// A uint64 on the wire: written as a JSON string, read from a string or a number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct U64(pub u64);

/// A bool in a request: a JSON boolean, or a string such as `"true"` or `"False"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flag(pub bool);

/// Bytes on the wire: standard base64 out; standard or URL-safe base64 in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for I64 {
	fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
		s.serialize_str(&self.0.to_string())
	}
}

impl Serialize for U64 {
	fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
		s.serialize_str(&self.0.to_string())
	}
}

impl Serialize for Bytes {
	fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
		s.serialize_str(&STANDARD.encode(&self.0))
	}
}

impl Serialize for Flag {
	fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
		s.serialize_bool(self.0)
	}
}

impl From<u64> for U64 {
	fn from(v: u64) -> U64 {
		U64(v)
	}
}

impl From<u64> for I64 {
	/// Saturates: no amount or time the node handles comes near `i64::MAX`.
	fn from(v: u64) -> I64 {
		I64(i64::try_from(v).unwrap_or(i64::MAX))
	}
}

struct IntVisitor;

impl<'de> Visitor<'de> for IntVisitor {
	type Value = i128;
	fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
		f.write_str("an integer, as a number or a string")
	}
	fn visit_i64<E: de::Error>(self, v: i64) -> Result<i128, E> {
		Ok(v.into())
	}
	fn visit_u64<E: de::Error>(self, v: u64) -> Result<i128, E> {
		Ok(v.into())
	}
	fn visit_f64<E: de::Error>(self, v: f64) -> Result<i128, E> {
		if v.fract() == 0.0 && v.abs() < 9.0e18 {
			Ok(v as i128)
		} else {
			Err(E::custom("not an integer"))
		}
	}
	fn visit_str<E: de::Error>(self, v: &str) -> Result<i128, E> {
		let v = v.trim();
		if v.is_empty() {
			return Ok(0);
		}
		v.parse::<i128>().map_err(|_| E::custom(format!("{v:?} is not an integer")))
	}
}

impl<'de> Deserialize<'de> for I64 {
	fn deserialize<D: Deserializer<'de>>(d: D) -> Result<I64, D::Error> {
		let v = d.deserialize_any(IntVisitor)?;
		i64::try_from(v).map(I64).map_err(|_| de::Error::custom("out of range for int64"))
	}
}

impl<'de> Deserialize<'de> for U64 {
	fn deserialize<D: Deserializer<'de>>(d: D) -> Result<U64, D::Error> {
		let v = d.deserialize_any(IntVisitor)?;
		u64::try_from(v).map(U64).map_err(|_| de::Error::custom("out of range for uint64"))
	}
}

impl<'de> Deserialize<'de> for Flag {
	fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Flag, D::Error> {
		struct FlagVisitor;
		impl Visitor<'_> for FlagVisitor {
			type Value = Flag;
			fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
				f.write_str("a boolean, or \"true\"/\"false\" in any letter case")
			}
			fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
				Ok(Flag(v))
			}
			fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
				parse_flag(v).map(Flag).ok_or_else(|| E::custom(format!("{v:?} is not a boolean")))
			}
		}
		d.deserialize_any(FlagVisitor)
	}
}

impl<'de> Deserialize<'de> for Bytes {
	fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
		let text = String::deserialize(d)?;
		decode_base64(&text).map(Bytes).ok_or_else(|| de::Error::custom("not base64"))
	}
}

/// `true`/`false` (and `1`/`0`) in any letter case, as grpc-gateway reads query booleans.
pub fn parse_flag(text: &str) -> Option<bool> {
	match text.trim().to_ascii_lowercase().as_str() {
		"true" | "1" => Some(true),
		"false" | "0" | "" => Some(false),
		_ => None,
	}
}

/// Standard or URL-safe base64, padded or not.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
	let text = text.trim();
	if text.contains(['-', '_']) {
		URL_SAFE.decode(text).ok().or_else(|| URL_SAFE_NO_PAD.decode(text).ok())
	} else {
		let padded_len = text.len().div_ceil(4) * 4;
		let mut padded = text.to_string();
		padded.extend(std::iter::repeat_n('=', padded_len - text.len()));
		STANDARD.decode(padded).ok()
	}
}

/// Standard base64, as LND writes bytes in bodies.
pub fn base64(bytes: &[u8]) -> String {
	STANDARD.encode(bytes)
}

/// URL-safe base64, as LND takes bytes in paths and queries.
pub fn base64_url(bytes: &[u8]) -> String {
	URL_SAFE.encode(bytes)
}

/// A 32-byte hash from base64 (body, path or query); `what` names it in the error.
pub fn hash_from_base64(text: &str, what: &str) -> Result<[u8; 32], LndError> {
	let bytes = decode_base64(text)
		.ok_or_else(|| LndError::invalid(format!("{what}: not base64 ({text:?})")))?;
	<[u8; 32]>::try_from(bytes.as_slice())
		.map_err(|_| LndError::invalid(format!("{what}: {} bytes, not 32", bytes.len())))
}

/// A 32-byte hash from hex (`/v1/invoice/{r_hash_str}`); `what` names it in the error.
pub fn hash_from_hex(text: &str, what: &str) -> Result<[u8; 32], LndError> {
	use bitcoin::hex::FromHex;
	<[u8; 32]>::from_hex(text.trim())
		.map_err(|_| LndError::invalid(format!("{what}: not 32 bytes of hex ({text:?})")))
}

/// The gRPC status codes LND's errors carry, with the HTTP status grpc-gateway gives each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
	/// 2: what LND answers for most refusals (HTTP 500).
	Unknown = 2,
	/// 3: a malformed request (HTTP 400).
	InvalidArgument = 3,
	/// 5: no such thing (HTTP 404).
	NotFound = 5,
	/// 6: exists already (HTTP 409).
	AlreadyExists = 6,
	/// 7: the macaroon does not allow it (HTTP 403).
	PermissionDenied = 7,
	/// 8: a limit was reached (HTTP 429).
	ResourceExhausted = 8,
	/// 9: not in a state for it (HTTP 400).
	FailedPrecondition = 9,
	/// 12: not served here (HTTP 501).
	Unimplemented = 12,
	/// 13: our fault (HTTP 500).
	Internal = 13,
	/// 14: try again later (HTTP 503).
	Unavailable = 14,
	/// 16: no or unknown macaroon (HTTP 401).
	Unauthenticated = 16,
}

impl Code {
	/// The HTTP status grpc-gateway maps this code to.
	pub fn http_status(self) -> u16 {
		match self {
			Code::Unknown | Code::Internal => 500,
			Code::InvalidArgument | Code::FailedPrecondition => 400,
			Code::NotFound => 404,
			Code::AlreadyExists => 409,
			Code::PermissionDenied => 403,
			Code::ResourceExhausted => 429,
			Code::Unimplemented => 501,
			Code::Unavailable => 503,
			Code::Unauthenticated => 401,
		}
	}
}

/// An error in LND's shape: `{"code": <gRPC code>, "message": "...", "details": []}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LndError {
	/// The gRPC code.
	pub code: Code,
	/// What went wrong, in LND's phrases where clients match on them.
	pub message: String,
}

/// The body of an error, field for field.
#[derive(Serialize)]
struct ErrorBody<'a> {
	code: i32,
	message: &'a str,
	details: [(); 0],
}

impl LndError {
	/// An error with `code`.
	pub fn new(code: Code, message: impl Into<String>) -> LndError {
		LndError { code, message: message.into() }
	}
	/// A malformed request.
	pub fn invalid(message: impl Into<String>) -> LndError {
		LndError::new(Code::InvalidArgument, message)
	}
	/// The error's JSON body.
	pub fn body(&self) -> serde_json::Value {
		serde_json::to_value(ErrorBody {
			code: self.code as i32,
			message: &self.message,
			details: [],
		})
		.unwrap_or_default()
	}
}

impl From<fulgur_node::NodeError> for LndError {
	fn from(e: fulgur_node::NodeError) -> LndError {
		use fulgur_node::NodeError as E;
		let code = match &e {
			E::NotFound(_) => Code::NotFound,
			E::InvalidRequest(_)
			| E::InvalidAmount(_)
			| E::InvalidInvoice(_)
			| E::InvalidAddress(_) => Code::InvalidArgument,
			E::InvoiceConflict(_) | E::InvoiceExpired(_) => Code::FailedPrecondition,
			E::DuplicatePayment(_) => Code::AlreadyExists,
			E::Busy(_) => Code::ResourceExhausted,
			E::NotSynced(_) | E::ChainSource(_) => Code::Unavailable,
			_ => Code::Unknown,
		};
		LndError::new(code, e.message().to_string())
	}
}

/// One line of a stream: `{"result":<value>}` and a newline.
pub fn result_line<T: Serialize>(value: &T) -> String {
	let mut line = serde_json::json!({ "result": value }).to_string();
	line.push('\n');
	line
}

/// One line of a stream that ends in error: `{"error":{"code","message","details":[]}}`.
pub fn error_line(error: &LndError) -> String {
	let mut line = serde_json::json!({ "error": error.body() }).to_string();
	line.push('\n');
	line
}

/// Reads a JSON request body into `T` (an empty body reads as `{}`).
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, LndError> {
	let body = if body.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { body };
	serde_json::from_slice(body).map_err(|e| LndError::invalid(format!("bad request body: {e}")))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[derive(Deserialize, Serialize, Debug, Default)]
	#[serde(default)]
	struct Sample {
		value: I64,
		index: U64,
		private: Flag,
		hash: Bytes,
	}

	#[test]
	fn int64_go_out_as_strings_and_come_in_either_way() {
		let out = serde_json::to_value(Sample {
			value: I64(-5),
			index: U64(u64::MAX),
			..Default::default()
		})
		.unwrap();
		assert_eq!(out["value"], "-5");
		assert_eq!(out["index"], "18446744073709551615");
		for body in [r#"{"value": 42}"#, r#"{"value": "42"}"#, r#"{"value": 42.0}"#] {
			let read: Sample = serde_json::from_str(body).expect(body);
			assert_eq!(read.value, I64(42), "{body}");
		}
		for bad in [r#"{"index": -1}"#, r#"{"value": "4x"}"#, r#"{"value": 1.5}"#] {
			assert!(serde_json::from_str::<Sample>(bad).is_err(), "{bad}");
		}
	}

	#[test]
	fn booleans_come_in_any_letter_case() {
		for (body, want) in [
			(r#"{"private": true}"#, true),
			(r#"{"private": "True"}"#, true),
			(r#"{"private": "FALSE"}"#, false),
			(r#"{"private": "False"}"#, false),
		] {
			let read: Sample = serde_json::from_str(body).expect(body);
			assert_eq!(read.private, Flag(want), "{body}");
		}
		assert!(serde_json::from_str::<Sample>(r#"{"private": "maybe"}"#).is_err());
		assert_eq!(parse_flag("tRuE"), Some(true));
	}

	#[test]
	fn bytes_go_out_standard_and_come_in_standard_or_url_safe() {
		let bytes = vec![0xfb, 0xff, 0xfe, 0x01];
		let out = serde_json::to_value(Sample { hash: Bytes(bytes.clone()), ..Default::default() })
			.unwrap();
		assert_eq!(out["hash"], "+//+AQ==");
		assert_eq!(base64_url(&bytes), "-__-AQ==");
		for text in ["+//+AQ==", "+//+AQ", "-__-AQ==", "-__-AQ"] {
			assert_eq!(decode_base64(text), Some(bytes.clone()), "{text}");
		}
		assert_eq!(decode_base64("not base64!"), None);
		assert!(hash_from_base64("AQID", "r_hash").unwrap_err().message.contains("3 bytes"));
		assert_eq!(hash_from_hex(&"ab".repeat(32), "r_hash").unwrap(), [0xab; 32]);
		assert!(hash_from_hex("abc", "r_hash").is_err());
	}

	#[test]
	fn errors_and_stream_lines_have_lnds_shape() {
		let error = LndError::new(Code::PermissionDenied, "permission denied");
		assert_eq!(
			error.body().to_string(),
			r#"{"code":7,"details":[],"message":"permission denied"}"#
		);
		assert_eq!(error.code.http_status(), 403);
		assert_eq!(result_line(&serde_json::json!({"a": "1"})), "{\"result\":{\"a\":\"1\"}}\n");
		assert_eq!(
			error_line(&error),
			"{\"error\":{\"code\":7,\"details\":[],\"message\":\"permission denied\"}}\n"
		);
		assert!(parse_body::<Sample>(b"").is_ok());
		assert_eq!(parse_body::<Sample>(b"{").unwrap_err().code, Code::InvalidArgument);
	}
}
