//! The endpoints: one file per resource group, each endpoint one handler of the shape
//! `async fn handle_x(node: Node, req: XRequest) -> Result<XResponse, ApiError>`.
//!
//! The request and response types here are the wire format, shared by the server and
//! [`crate::ApiClient`]. Request bodies reject unknown fields; amounts that cannot be meant
//! (zero where zero means nothing) are refused with `invalid_amount` before the node is
//! called ([`Validate`]).

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub mod channels;
pub mod info;
pub mod invoices;
pub mod offers;
pub mod onchain;
pub mod payments;
pub mod peers;

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
	/// (first index, page size) this query asks for.
	fn page_bounds(&self) -> Result<(usize, usize), ApiError> {
		let limit = self.limit.unwrap_or(DEFAULT_PAGE_LIMIT);
		if limit == 0 || limit > MAX_PAGE_LIMIT {
			return Err(ApiError::invalid_request(format!(
				"limit must be between 1 and {MAX_PAGE_LIMIT}"
			)));
		}
		let start = match self.cursor.as_deref() {
			None => 0,
			Some(cursor) => cursor
				.parse::<usize>()
				.map_err(|_| ApiError::invalid_request(format!("invalid cursor {cursor:?}")))?,
		};
		Ok((start, limit))
	}
}

/// One page of a list.
pub(crate) struct Page<T> {
	pub items: Vec<T>,
	pub total: usize,
	pub next_cursor: Option<String>,
}

/// Cuts the page `query` asks for out of the full list. The cursor is the index of the next
/// item, as a string; it is opaque to clients.
pub(crate) fn paginate<T>(all: Vec<T>, query: &PageQuery) -> Result<Page<T>, ApiError> {
	let (start, limit) = query.page_bounds()?;
	let total = all.len();
	let end = start.saturating_add(limit).min(total);
	let items: Vec<T> = all.into_iter().skip(start).take(limit).collect();
	let next_cursor = (end < total).then(|| end.to_string());
	Ok(Page { items, total, next_cursor })
}

/// Runs a synchronous node call off the async workers: those calls may write to disk
/// and wait for the flush.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
	F: FnOnce() -> Result<T, ApiError> + Send + 'static,
	T: Send + 'static,
{
	tokio::task::spawn_blocking(f).await.map_err(|e| {
		log_error!("node call failed: {e}");
		ApiError::internal("internal error")
	})?
}

#[cfg(test)]
mod tests {
	use super::*;

	fn query(limit: Option<usize>, cursor: Option<&str>) -> PageQuery {
		PageQuery { limit, cursor: cursor.map(str::to_owned) }
	}

	#[test]
	fn paginates_with_cursor() {
		let all: Vec<u32> = (0..250).collect();
		let page = paginate(all.clone(), &query(None, None)).unwrap();
		assert_eq!((page.items.len(), page.total), (100, 250));
		assert_eq!(page.next_cursor.as_deref(), Some("100"));
		let page = paginate(all.clone(), &query(None, Some("200"))).unwrap();
		assert_eq!(page.items, (200..250).collect::<Vec<_>>());
		assert_eq!(page.next_cursor, None);
		let page = paginate(all.clone(), &query(Some(50), Some("200"))).unwrap();
		assert_eq!(page.next_cursor, None);
		let page = paginate(all.clone(), &query(Some(10), Some("5"))).unwrap();
		assert_eq!(page.items, (5..15).collect::<Vec<_>>());
		assert_eq!(page.next_cursor.as_deref(), Some("15"));
		let page = paginate(all.clone(), &query(Some(1000), Some("999999"))).unwrap();
		assert!(page.items.is_empty());
		assert_eq!((page.total, page.next_cursor), (250, None));
		let page = paginate(Vec::<u32>::new(), &query(None, None)).unwrap();
		assert_eq!((page.items.len(), page.total, page.next_cursor), (0, 0, None));
	}

	#[test]
	fn rejects_bad_page_queries() {
		for q in [query(Some(0), None), query(Some(1001), None), query(None, Some("x"))] {
			assert_eq!(paginate(vec![1], &q).err().map(|e| e.code()), Some("invalid_request"));
		}
	}
}
