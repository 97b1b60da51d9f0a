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

pub use fulgur_api::wire::events::{
	EventRecord, EventStreamRequest, EventsQuery, ListEventsResponse, StreamQuery,
};
use fulgur_node::{EventReader, Node};
use tokio::sync::{mpsc, watch};
use warp::reply::Response;
use warp::sse::Event;
use warp::{Reply, Stream};

use crate::auth::Caller;
use crate::convert::ToWire;
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

/// `GET /v1/events?after=&limit=`: one page of what the caller's key may read.
pub(crate) async fn handle_list_events(
	node: Node, caller: Caller, req: EventsQuery,
) -> Result<ListEventsResponse, ApiError> {
	let (after, limit) = req.bounds()?;
	let page = node.events_for(caller.scope, after, limit).await?;
	let next_cursor = (page.scanned_to < page.latest).then(|| page.scanned_to.to_string());
	Ok(ListEventsResponse {
		events: page.events.into_wire(),
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
			let event = match serde_json::to_string(&record.into_wire()) {
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
