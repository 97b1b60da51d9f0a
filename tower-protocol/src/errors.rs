//! Errors: the teos numeric wire codes, the `{error, error_code}` body, parse errors.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A required field is missing from the request.
pub const MISSING_FIELD: u8 = 1;
/// A field is present but empty.
pub const EMPTY_FIELD: u8 = 2;
/// A field has the wrong JSON type.
pub const WRONG_FIELD_TYPE: u8 = 3;
/// A field has the wrong size (e.g. a 15-byte locator).
pub const WRONG_FIELD_SIZE: u8 = 4;
/// A field is malformed (e.g. bad hex).
pub const WRONG_FIELD_FORMAT: u8 = 5;
/// The request body is not a valid request.
pub const INVALID_REQUEST_FORMAT: u8 = 6;
/// Bad signature, unknown user, or subscription expired / out of slots.
pub const INVALID_SIGNATURE_OR_SUBSCRIPTION_ERROR: u8 = 7;
/// The tower cannot serve right now (e.g. bitcoind unreachable).
pub const SERVICE_UNAVAILABLE: u8 = 32;
/// An appointment field is below its minimum size.
pub const APPOINTMENT_FIELD_TOO_SMALL: u8 = 33;
/// An appointment field is above its maximum size.
pub const APPOINTMENT_FIELD_TOO_BIG: u8 = 34;
/// The appointment's dispute has already been seen and responded to.
pub const APPOINTMENT_ALREADY_TRIGGERED: u8 = 35;
/// No appointment with that locator for this user.
pub const APPOINTMENT_NOT_FOUND: u8 = 36;
/// The registration would exceed the tower's limits (e.g. maximum slots).
pub const REGISTRATION_RESOURCE_EXHAUSTED: u8 = 65;
/// Anything else.
pub const UNEXPECTED_ERROR: u8 = 255;

/// A teos wire error code. Codes are grouped: general 1–32, appointment 33–64,
/// registration 65–96, 255 unexpected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // Each variant is the constant of the same name above.
pub enum ErrorCode {
	MissingField,
	EmptyField,
	WrongFieldType,
	WrongFieldSize,
	WrongFieldFormat,
	InvalidRequestFormat,
	InvalidSignatureOrSubscription,
	ServiceUnavailable,
	AppointmentFieldTooSmall,
	AppointmentFieldTooBig,
	AppointmentAlreadyTriggered,
	AppointmentNotFound,
	RegistrationResourceExhausted,
	Unexpected,
	/// A code this version does not know; kept so it roundtrips.
	Unknown(u8),
}

const CODES: [(ErrorCode, u8); 14] = [
	(ErrorCode::MissingField, MISSING_FIELD),
	(ErrorCode::EmptyField, EMPTY_FIELD),
	(ErrorCode::WrongFieldType, WRONG_FIELD_TYPE),
	(ErrorCode::WrongFieldSize, WRONG_FIELD_SIZE),
	(ErrorCode::WrongFieldFormat, WRONG_FIELD_FORMAT),
	(ErrorCode::InvalidRequestFormat, INVALID_REQUEST_FORMAT),
	(ErrorCode::InvalidSignatureOrSubscription, INVALID_SIGNATURE_OR_SUBSCRIPTION_ERROR),
	(ErrorCode::ServiceUnavailable, SERVICE_UNAVAILABLE),
	(ErrorCode::AppointmentFieldTooSmall, APPOINTMENT_FIELD_TOO_SMALL),
	(ErrorCode::AppointmentFieldTooBig, APPOINTMENT_FIELD_TOO_BIG),
	(ErrorCode::AppointmentAlreadyTriggered, APPOINTMENT_ALREADY_TRIGGERED),
	(ErrorCode::AppointmentNotFound, APPOINTMENT_NOT_FOUND),
	(ErrorCode::RegistrationResourceExhausted, REGISTRATION_RESOURCE_EXHAUSTED),
	(ErrorCode::Unexpected, UNEXPECTED_ERROR),
];

impl ErrorCode {
	/// The numeric wire code.
	pub fn code(self) -> u8 {
		match self {
			ErrorCode::Unknown(c) => c,
			known => CODES.iter().find(|(k, _)| *k == known).map_or(UNEXPECTED_ERROR, |(_, c)| *c),
		}
	}

	/// The variant for a numeric wire code (`Unknown` if not a teos code).
	pub fn from_code(code: u8) -> Self {
		CODES.iter().find(|(_, c)| *c == code).map_or(ErrorCode::Unknown(code), |(k, _)| *k)
	}

	/// The HTTP status teos answers with for this code.
	pub fn http_status(self) -> u16 {
		match self {
			ErrorCode::InvalidSignatureOrSubscription => 401,
			ErrorCode::AppointmentNotFound => 404,
			ErrorCode::ServiceUnavailable => 503,
			_ => 400,
		}
	}
}

impl Serialize for ErrorCode {
	fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
		s.serialize_u8(self.code())
	}
}

impl<'de> Deserialize<'de> for ErrorCode {
	fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
		u8::deserialize(d).map(ErrorCode::from_code)
	}
}

/// The body of every error response: `{"error": "...", "error_code": 7}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
	/// Human-readable message.
	pub error: String,
	/// The wire code.
	pub error_code: ErrorCode,
}

impl ApiError {
	/// An error with the given code and message.
	pub fn new(error_code: ErrorCode, error: impl Into<String>) -> Self {
		ApiError { error: error.into(), error_code }
	}
}

impl fmt::Display for ApiError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "{} (error_code {})", self.error, self.error_code.code())
	}
}

impl std::error::Error for ApiError {}

/// Why a hex field (locator, user id) could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
	/// Not valid hex.
	InvalidHex,
	/// Valid hex of the wrong length, in bytes.
	WrongLength {
		/// Bytes required.
		expected: usize,
		/// Bytes given.
		actual: usize,
	},
	/// 33 bytes that are not a valid compressed public key.
	InvalidPublicKey,
}

impl ParseError {
	/// The wire code a tower answers with for this error.
	pub fn error_code(self) -> ErrorCode {
		match self {
			ParseError::WrongLength { .. } => ErrorCode::WrongFieldSize,
			ParseError::InvalidHex | ParseError::InvalidPublicKey => ErrorCode::WrongFieldFormat,
		}
	}
}

impl fmt::Display for ParseError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			ParseError::InvalidHex => f.write_str("invalid hex"),
			ParseError::WrongLength { expected, actual } => {
				write!(f, "wrong size: expected {expected} bytes, got {actual}")
			}
			ParseError::InvalidPublicKey => f.write_str("invalid public key"),
		}
	}
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn codes_roundtrip_and_match_teos() {
		for (kind, code) in CODES {
			assert_eq!(kind.code(), code);
			assert_eq!(ErrorCode::from_code(code), kind);
		}
		assert_eq!(ErrorCode::InvalidSignatureOrSubscription.code(), 7);
		assert_eq!(ErrorCode::AppointmentFieldTooSmall.code(), 33);
		assert_eq!(ErrorCode::RegistrationResourceExhausted.code(), 65);
		assert_eq!(ErrorCode::from_code(200), ErrorCode::Unknown(200));
		assert_eq!(ErrorCode::Unknown(200).code(), 200);
	}

	#[test]
	fn api_error_json() {
		let e = ApiError::new(ErrorCode::AppointmentNotFound, "Appointment not found");
		let json = serde_json::to_string(&e).unwrap();
		assert_eq!(json, r#"{"error":"Appointment not found","error_code":36}"#);
		assert_eq!(serde_json::from_str::<ApiError>(&json).unwrap(), e);
		assert_eq!(e.error_code.http_status(), 404);
	}
}
