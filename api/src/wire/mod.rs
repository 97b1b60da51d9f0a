//! The wire types: every request and answer body of the HTTP API, one module per area.
//!
//! Invariant: these types are the JSON contract, byte for byte (keys, enum spellings, which
//! optional fields are omitted or `null`); the node's own types are converted to and from them
//! at the server's edge and never appear on the wire. Request types refuse unknown fields, and
//! [`Validate`] refuses what cannot be meant (zero amounts, bad page bounds) before the node is
//! called: the one place a request is checked beyond its type.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub mod channels;
pub mod events;
pub mod forwards;
pub mod info;
pub mod invoices;
pub mod keys;
pub mod offers;
pub mod onchain;
pub mod payments;
pub mod peers;
pub mod policy;
pub mod routing;
pub mod towers;
pub mod utilities;
pub mod webhooks;

/// Default page size of list endpoints.
pub const DEFAULT_PAGE_LIMIT: usize = 100;
/// Largest page size of list endpoints.
pub const MAX_PAGE_LIMIT: usize = 1000;

/// Checks a request beyond what its type says, before the node sees it.
pub trait Validate {
	/// `Err` with a 400 error when the request cannot be meant.
	fn validate(&self) -> Result<(), ApiError> {
		Ok(())
	}
}

/// A request without body or query (`GET /v1/info`): nothing to check.
impl Validate for () {}

/// The query string of list endpoints: `?limit=&cursor=`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
	/// Items per page, 1 to [`MAX_PAGE_LIMIT`]; [`DEFAULT_PAGE_LIMIT`] when absent.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub limit: Option<usize>,
	/// `next_cursor` of the previous page; absent for the first page.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub cursor: Option<String>,
}

impl Validate for PageQuery {
	fn validate(&self) -> Result<(), ApiError> {
		self.page_bounds().map(|_| ())
	}
}

impl PageQuery {
	/// (cursor, page size) this query asks for.
	pub fn page_bounds(&self) -> Result<(Option<PageCursor>, usize), ApiError> {
		let limit = self.limit.unwrap_or(DEFAULT_PAGE_LIMIT);
		if limit == 0 || limit > MAX_PAGE_LIMIT {
			return Err(ApiError::invalid_request(format!(
				"limit must be between 1 and {MAX_PAGE_LIMIT}"
			)));
		}
		let cursor =
			match self.cursor.as_deref() {
				None => None,
				Some(cursor) => Some(PageCursor::parse(cursor).ok_or_else(|| {
					ApiError::invalid_request(format!("invalid cursor {cursor:?}"))
				})?),
			};
		Ok((cursor, limit))
	}
}

/// Where an item sits in a newest-first list: creation time, then id, written
/// `<created_at>.<hex id>`. A cursor is the key of the last item of a page, so items created
/// meanwhile (which sort first) never shift or repeat later pages. Lists without a creation
/// time (channels, peers) use 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageCursor {
	/// Creation time of the item (UNIX seconds), 0 for lists ordered by id alone.
	pub created_at: u64,
	/// The item's id (hex).
	pub id: String,
}

impl PageCursor {
	/// Reads `<created_at>.<hex id>`.
	pub fn parse(cursor: &str) -> Option<PageCursor> {
		let (time, id) = cursor.split_once('.')?;
		let valid_id = !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit());
		valid_id
			.then(|| time.parse().ok())
			.flatten()
			.map(|created_at| PageCursor { created_at, id: id.to_string() })
	}

	/// Writes `<created_at>.<hex id>`.
	pub fn render(&self) -> String {
		format!("{}.{}", self.created_at, self.id)
	}

	/// Whether an item with this key comes after `cursor` in newest-first order.
	pub fn is_after(&self, cursor: &PageCursor) -> bool {
		self.created_at < cursor.created_at
			|| (self.created_at == cursor.created_at && self.id > cursor.id)
	}
}

/// Refuses a zero amount with `invalid_amount` and this message.
fn nonzero(amount: Option<u64>, message: &str) -> Result<(), ApiError> {
	match amount {
		Some(0) => Err(ApiError::invalid_amount(message)),
		_ => Ok(()),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn cursors_read_back() {
		let cursor = PageCursor { created_at: 12, id: "ab".into() };
		assert_eq!(PageCursor::parse(&cursor.render()), Some(cursor));
		for bad in ["x", "12.", "x.ab", "12.zz", ""] {
			assert_eq!(PageCursor::parse(bad), None, "{bad}");
		}
		let page = PageQuery { limit: Some(1001), cursor: None };
		assert_eq!(page.validate().unwrap_err().code().as_str(), "invalid_request");
	}
}
