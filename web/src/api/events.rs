//! `GET /v1/events`, `GET /v1/events/stream`.
//!
//! Both read the node's event log from the store, after the index the client names, so a
//! client that was away (or slow) gets exactly what it missed, of the kinds its key's scope
//! may read (`fulgur_node::kind_readable_by`: an `invoice` key reads invoice events only).
//! The stream is Server-Sent Events: `id:` is the event's index and `data:` the event record
//! as JSON; it resumes after the `Last-Event-ID` header (what browsers send when they
//! reconnect) or else `?after=`, and without either starts with the next event. A comment
//! line keeps idle connections open. A stream ends when its key is revoked: the key is asked
//! for before every event and every second while waiting. An open stream is registered with
//! the log, so the retention policy keeps what it has not sent yet; at most
//! `fulgur_node::journal::MAX_READERS` are open at once (503 `busy` beyond).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use fulgur_node::{EventReader, EventRecord, Node};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use warp::reply::Response;
use warp::sse::Event;
use warp::{Reply, Stream};

use super::{Validate, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
use crate::auth::Caller;
use crate::error::ApiError;

/// How often an idle stream sends a keep-alive comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often a stream asks again whether its key is still good (it also asks before each
/// event): a revoked key's stream ends within this.
const KEY_RECHECK: Duration = Duration::from_secs(1);
/// Events read from the log at a time for a stream.
const STREAM_BATCH: usize = 100;
/// Events buffered per stream beyond which the reader waits for the client (it reads from
/// the log again, so a slow client only slows its own stream).
const STREAM_BUFFER: usize = 16;

/// `GET /v1/events` query: `?after=&limit=` (`cursor` is `after` under its list name).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
	/// Return events with a greater index; 0 (the default) is from the start.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub after: Option<u64>,
	/// `next_cursor` of the previous page: the same as `after`.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub cursor: Option<String>,
	/// Events per page, 1 to 1000; 100 by default.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub limit: Option<usize>,
}

impl EventsQuery {
	/// (after, limit) asked for.
	fn bounds(&self) -> Result<(u64, usize), ApiError> {
		let limit = self.limit.unwrap_or(DEFAULT_PAGE_LIMIT);
		if limit == 0 || limit > MAX_PAGE_LIMIT {
			return Err(ApiError::invalid_request(format!(
				"limit must be between 1 and {MAX_PAGE_LIMIT}"
			)));
		}
		let cursor = match self.cursor.as_deref() {
			None => None,
			Some(c) => Some(
				c.parse::<u64>()
					.map_err(|_| ApiError::invalid_request(format!("invalid cursor {c:?}")))?,
			),
		};
		match (self.after, cursor) {
			(Some(a), Some(c)) if a != c => {
				Err(ApiError::invalid_request("give after or cursor, not both"))
			}
			(after, cursor) => Ok((after.or(cursor).unwrap_or(0), limit)),
		}
	}
}

impl Validate for EventsQuery {
	fn validate(&self) -> Result<(), ApiError> {
		self.bounds().map(|_| ())
	}
}

/// `GET /v1/events` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListEventsResponse {
	/// This page, oldest first: the events the key's scope may read (an `invoice` key reads
	/// invoice events only). May hold fewer than `limit` events, even none, while
	/// `next_cursor` says there is more to look at.
	pub events: Vec<EventRecord>,
	/// Events in the log, of every kind.
	pub total: u64,
	/// Index of the oldest event still in the log (0 when there is none): events before it
	/// were removed by the retention policy. A client resuming after `after` missed removed
	/// events when `first_index > after + 1`.
	pub first_index: u64,
	/// Index of the newest event (0 when there is none).
	pub latest_index: u64,
	/// Pass as `cursor` (or `after`) for the next page; `null` when this page reaches the
	/// newest event.
	pub next_cursor: Option<String>,
}

/// `GET /v1/events/stream` request: where to resume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventStreamRequest {
	/// Send events with a greater index; `None`: from the next event on.
	pub after: Option<u64>,
}

/// `?after=` of the stream.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct StreamQuery {
	#[serde(default)]
	pub after: Option<u64>,
}

impl Validate for StreamQuery {}

/// `GET /v1/events?after=&limit=`: one page of what the caller's key may read.
pub(crate) async fn handle_list_events(
	node: Node, caller: Caller, req: EventsQuery,
) -> Result<ListEventsResponse, ApiError> {
	let (after, limit) = req.bounds()?;
	let page = node.events_for(caller.scope, after, limit).await?;
	let next_cursor = (page.scanned_to < page.latest).then(|| page.scanned_to.to_string());
	Ok(ListEventsResponse {
		events: page.events,
		total: node.event_count(),
		first_index: node.oldest_event_index(),
		latest_index: page.latest,
		next_cursor,
	})
}

/// `GET /v1/events/stream`: what the caller's key may read, as Server-Sent Events, until the
/// client goes away, the API shuts down (`closing`) or the node stops.
pub(crate) fn handle_event_stream(
	node: Node, caller: Caller, req: EventStreamRequest, closing: watch::Receiver<bool>,
) -> Response {
	let after = req.after.unwrap_or_else(|| node.latest_event_index());
	// Registered, the retention policy keeps what the stream has not sent yet.
	let reader = match node.register_event_reader(after) {
		Ok(reader) => reader,
		Err(e) => return ApiError::from(e).into_response(),
	};
	let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
	tokio::spawn(feed(node, caller, reader, after, sender, closing));
	let stream = warp::sse::keep_alive().interval(KEEP_ALIVE).stream(Events(receiver));
	warp::sse::reply(stream).into_response()
}

type Item = Result<Event, Infallible>;

/// Reads the log after `after` and hands each event to the stream, waiting for the client
/// when it is slow and for the log when it is caught up.
async fn feed(
	node: Node, caller: Caller, reader: EventReader, mut after: u64, sender: mpsc::Sender<Item>,
	mut closing: watch::Receiver<bool>,
) {
	let mut appended = node.subscribe_events();
	let mut recheck = tokio::time::interval(KEY_RECHECK);
	recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
	loop {
		if !caller.still_valid(&node) {
			return;
		}
		let page = match node.events_for(caller.scope, after, STREAM_BATCH).await {
			Ok(page) => page,
			Err(e) => {
				log_error!("event stream: {e}");
				return;
			}
		};
		let batch = page.events;
		if batch.is_empty() {
			// Nothing this key may read up to there.
			after = page.scanned_to;
			reader.advance(after);
			if page.scanned_to < page.latest {
				continue;
			}
			loop {
				tokio::select! {
					_ = appended.changed() => break,
					_ = recheck.tick() => {
						if !caller.still_valid(&node) {
							return;
						}
					}
					_ = sender.closed() => return,
					_ = closing.wait_for(|closing| *closing) => return,
					_ = node.stopped() => return,
				}
			}
			continue;
		}
		for record in batch {
			let index = record.index;
			let event = match serde_json::to_string(&record) {
				Ok(data) => Event::default().id(index.to_string()).data(data),
				Err(e) => {
					log_error!("event stream: encoding event {index}: {e}");
					return;
				}
			};
			// Asked before every event: a revoked key gets nothing more.
			if !caller.still_valid(&node) {
				return;
			}
			let send = sender.send(Ok(event));
			tokio::pin!(send);
			loop {
				tokio::select! {
					sent = &mut send => {
						if sent.is_err() {
							return;
						}
						break;
					}
					_ = recheck.tick() => {
						if !caller.still_valid(&node) {
							return;
						}
					}
					_ = closing.wait_for(|closing| *closing) => return,
				}
			}
			after = index;
			reader.advance(after);
		}
		// Past what the key may not read after its last event, too.
		after = after.max(page.scanned_to);
		reader.advance(after);
	}
}

/// The receiving end as a stream.
struct Events(mpsc::Receiver<Item>);

impl Stream for Events {
	type Item = Item;
	fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
		self.0.poll_recv(cx)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn query(after: Option<u64>, cursor: Option<&str>, limit: Option<usize>) -> EventsQuery {
		EventsQuery { after, cursor: cursor.map(str::to_owned), limit }
	}

	#[test]
	fn cursor_is_after() {
		assert_eq!(query(None, None, None).bounds().unwrap(), (0, DEFAULT_PAGE_LIMIT));
		assert_eq!(query(Some(7), None, Some(5)).bounds().unwrap(), (7, 5));
		assert_eq!(query(None, Some("7"), None).bounds().unwrap().0, 7);
		assert_eq!(query(Some(7), Some("7"), None).bounds().unwrap().0, 7);
		for bad in [
			query(Some(7), Some("8"), None),
			query(None, Some("x"), None),
			query(None, None, Some(0)),
			query(None, None, Some(1001)),
		] {
			assert_eq!(bad.validate().unwrap_err().code(), "invalid_request", "{bad:?}");
		}
	}
}
