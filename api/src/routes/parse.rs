//! The request parser's pieces the route table's generated `Call::parse` uses: path
//! parameters, and the input as a JSON body or a query string, validated.
//!
//! Invariant: nothing here reads more than it is given (the server bounds the body before), and
//! every failure is a 400 `invalid_request` (or the input's own validation error), never a panic.

use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::wire::Validate;

/// The next path parameter. The table's parameters and path template agree (the table's
/// tests check it), so a missing one is a bug of the table, answered as `internal`.
pub(super) fn param(
	params: &mut impl Iterator<Item = String>, name: &str,
) -> Result<String, ApiError> {
	params.next().ok_or_else(|| {
		ApiError::new(crate::ErrorCode::Internal, format!("path parameter {name} missing"))
	})
}

/// The input of a request: the JSON body of a `POST` (empty means `{}`), the query string
/// (absent means empty; unknown parameters are refused by `T`'s `deny_unknown_fields`)
/// otherwise; then validated.
pub(super) fn input<T: DeserializeOwned + Validate>(
	method: &str, query: &str, body: &[u8],
) -> Result<T, ApiError> {
	let value: T = if method == "POST" {
		let body = if body.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { body };
		serde_json::from_slice(body).map_err(|e| ApiError::invalid_request(e.to_string()))?
	} else {
		serde_urlencoded::from_str(query)
			.map_err(|e| ApiError::invalid_request(format!("invalid query string: {e}")))?
	};
	value.validate()?;
	Ok(value)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::wire::onchain::SendOnchainRequest;
	use crate::wire::PageQuery;

	#[test]
	fn inputs_parse_and_validate() {
		let q: PageQuery = input("GET", "limit=5", b"ignored").unwrap();
		assert_eq!(q.limit, Some(5));
		let e = input::<PageQuery>("GET", "page=2", b"").unwrap_err();
		assert!(e.message().starts_with("invalid query string: "), "{e}");
		let e = input::<SendOnchainRequest>("POST", "", b" ").unwrap_err();
		assert!(e.message().contains("missing field"), "{e}");
		let e = input::<SendOnchainRequest>("POST", "", br#"{"address":"a","amount_sat":0}"#)
			.unwrap_err();
		assert_eq!(e.code().as_str(), "invalid_amount");
	}
}
