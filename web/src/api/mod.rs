//! The endpoints: one file per resource group, each endpoint one handler of the shape
//! `async fn handle_x(node: Node, req: XRequest) -> Result<XResponse, ApiError>`.
//!
//! The request and response types are the wire types of `fulgur_api::wire`, which also
//! validates requests ([`Validate`]) before the node is called; the handlers parse the ids a
//! request names to the node's types (`crate::convert::parse`) and convert the node's answers
//! to wire types (`crate::convert`). A lookup the node answers with nothing is a `not_found`
//! the handler words.

use fulgur_api::wire::PageCursor;
pub use fulgur_api::wire::{PageQuery, Validate, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};

use crate::error::ApiError;

pub mod channels;
pub mod events;
pub mod forwards;
pub mod info;
pub mod invoices;
pub mod keys;
pub mod metrics;
pub mod offers;
pub mod onchain;
pub mod payments;
pub mod peers;
pub mod policy;
pub mod routing;
pub mod towers;
pub mod utilities;
pub mod webhooks;

/// An item of a paginated list.
pub(crate) trait Listed {
	/// Its place in the list.
	fn list_key(&self) -> PageCursor;
}

impl Listed for fulgur_node::InvoiceRecord {
	fn list_key(&self) -> PageCursor {
		PageCursor { created_at: self.created_at, id: self.payment_hash.clone() }
	}
}

impl Listed for fulgur_node::PaymentRecord {
	fn list_key(&self) -> PageCursor {
		PageCursor { created_at: self.created_at, id: self.payment_id.clone() }
	}
}

impl Listed for fulgur_node::ApiKeyInfo {
	fn list_key(&self) -> PageCursor {
		PageCursor { created_at: self.created_at, id: self.id.clone() }
	}
}

impl Listed for fulgur_node::WebhookInfo {
	fn list_key(&self) -> PageCursor {
		PageCursor { created_at: self.created_at, id: self.id.clone() }
	}
}

impl Listed for fulgur_node::ClosedChannelInfo {
	fn list_key(&self) -> PageCursor {
		PageCursor { created_at: self.record.closed_at, id: self.record.channel_id.clone() }
	}
}

/// Lists without a creation time (channels, peers) are ordered by id alone: every item's
/// time is 0, so the cursor is `0.<id>`.
impl Listed for fulgur_node::ChannelInfo {
	fn list_key(&self) -> PageCursor {
		PageCursor { created_at: 0, id: self.channel_id.clone() }
	}
}

impl Listed for fulgur_node::PeerInfo {
	fn list_key(&self) -> PageCursor {
		PageCursor { created_at: 0, id: self.node_id.clone() }
	}
}

/// One page of a list.
pub(crate) struct Page<T> {
	pub items: Vec<T>,
	pub total: usize,
	pub next_cursor: Option<String>,
}

/// Cuts the page `query` asks for out of the full list, which the node gives newest first
/// (creation time descending, then id ascending).
pub(crate) fn paginate<T: Listed>(all: Vec<T>, query: &PageQuery) -> Result<Page<T>, ApiError> {
	let (cursor, limit) = query.page_bounds()?;
	let total = all.len();
	let start = match &cursor {
		None => 0,
		Some(cursor) => {
			all.iter().position(|item| item.list_key().is_after(cursor)).unwrap_or(total)
		}
	};
	let end = start.saturating_add(limit).min(total);
	let items: Vec<T> = all.into_iter().skip(start).take(limit).collect();
	let next_cursor = match items.last() {
		Some(last) if end < total => Some(last.list_key().render()),
		_ => None,
	};
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

	#[derive(Clone, Debug, PartialEq)]
	struct Item(u64, &'static str);

	impl Listed for Item {
		fn list_key(&self) -> PageCursor {
			PageCursor { created_at: self.0, id: self.1.to_string() }
		}
	}

	fn query(limit: Option<usize>, cursor: Option<&str>) -> PageQuery {
		PageQuery { limit, cursor: cursor.map(str::to_owned) }
	}

	fn newest_first(n: u64) -> Vec<Item> {
		// Pairs of items share a creation time, ordered by id within it.
		(0..n).map(|i| Item(1000 - i / 2, if i % 2 == 0 { "aa" } else { "bb" })).collect()
	}

	#[test]
	fn pages_follow_each_other_without_gaps_or_repeats() {
		let all = newest_first(250);
		let mut seen = Vec::new();
		let mut cursor: Option<String> = None;
		loop {
			let page = paginate(all.clone(), &query(Some(33), cursor.as_deref())).unwrap();
			assert_eq!(page.total, 250);
			seen.extend(page.items);
			match page.next_cursor {
				Some(next) => cursor = Some(next),
				None => break,
			}
		}
		assert_eq!(seen, all);
	}

	#[test]
	fn new_items_do_not_shift_later_pages() {
		let all = newest_first(10);
		let first = paginate(all.clone(), &query(Some(4), None)).unwrap();
		let mut grown = vec![Item(5000, "cc"), Item(4000, "dd")];
		grown.extend(all.clone());
		let second = paginate(grown, &query(Some(4), first.next_cursor.as_deref())).unwrap();
		assert_eq!(second.items, all[4..8].to_vec());
		assert_eq!(second.total, 12);
	}

	#[test]
	fn empty_and_past_the_end() {
		let page = paginate(Vec::<Item>::new(), &query(None, None)).unwrap();
		assert_eq!((page.items.len(), page.total, page.next_cursor), (0, 0, None));
		let page = paginate(newest_first(4), &query(None, Some("1.aa"))).unwrap();
		assert!(page.items.is_empty());
		assert_eq!(page.next_cursor, None);
	}

	#[test]
	fn rejects_bad_page_queries() {
		for q in [
			query(Some(0), None),
			query(Some(1001), None),
			query(None, Some("x")),
			query(None, Some("12.")),
			query(None, Some("x.ab")),
			query(None, Some("12.zz")),
		] {
			let result = paginate(vec![Item(1, "aa")], &q);
			assert_eq!(result.err().map(|e| e.code()), Some("invalid_request"));
		}
	}
}
