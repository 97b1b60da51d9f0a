//! Reading `GET /v1/events/stream`: Server-Sent Events parsed into event records.

use std::time::Duration;

use crate::wire::events::EventRecord;
use hyper::body::HttpBody;
use hyper::header::{ACCEPT, AUTHORIZATION};
use hyper::{Body, Request};

use super::{api_error, ApiClient, ClientError, Method};

/// Largest event the reader accepts; a longer line means the server is not what we think.
const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// An open event stream. [`EventStream::next`] yields events as the node records them;
/// reconnect with [`ApiClient::event_stream`] and [`EventStream::last_event_id`] to resume
/// without missing any.
pub struct EventStream {
	body: Body,
	buffer: Vec<u8>,
	last_event_id: Option<u64>,
}

impl std::fmt::Debug for EventStream {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("EventStream").field("last_event_id", &self.last_event_id).finish()
	}
}

impl ApiClient {
	/// Opens `GET /v1/events/stream` with `Last-Event-ID: after` (events with a greater
	/// index), or from the next event on when `after` is `None`.
	pub async fn event_stream(&self, after: Option<u64>) -> Result<EventStream, ClientError> {
		let uri = format!("{}/v1/events/stream", self.base);
		let mut builder = Request::builder()
			.method(Method::GET)
			.uri(&uri)
			.header(AUTHORIZATION, self.authorization.clone())
			.header(ACCEPT, "text/event-stream");
		if let Some(after) = after {
			builder = builder.header("last-event-id", after.to_string());
		}
		let request = builder
			.body(Body::empty())
			.map_err(|e| ClientError::InvalidInput(format!("invalid request {uri}: {e}")))?;
		let response = tokio::time::timeout(self.timeout, self.http.request(request))
			.await
			.map_err(|_| ClientError::Timeout(self.timeout))?
			.map_err(|e| ClientError::Connection(format!("{}: {e}", self.base)))?;
		let status = response.status();
		if !status.is_success() {
			let bytes = super::read_capped(response.into_body(), super::MAX_RESPONSE_BYTES)
				.await
				.unwrap_or_default();
			return Err(api_error(status.as_u16(), &bytes));
		}
		Ok(EventStream { body: response.into_body(), buffer: Vec::new(), last_event_id: after })
	}
}

impl EventStream {
	/// The next event; `None` once the server closed the stream.
	pub async fn next(&mut self) -> Option<Result<EventRecord, ClientError>> {
		loop {
			if let Some(block) = self.take_block() {
				match parse_block(&block) {
					Ok(Some(record)) => {
						self.last_event_id = Some(record.index);
						return Some(Ok(record));
					}
					// A keep-alive comment.
					Ok(None) => continue,
					Err(e) => return Some(Err(e)),
				}
			}
			match self.body.data().await? {
				Ok(chunk) => {
					self.buffer.extend_from_slice(&chunk);
					if self.buffer.len() > MAX_EVENT_BYTES {
						return Some(Err(ClientError::InvalidResponse(
							"event larger than 1 MiB".into(),
						)));
					}
				}
				Err(e) => return Some(Err(ClientError::Connection(e.to_string()))),
			}
		}
	}

	/// [`EventStream::next`], giving up after `wait` (`None` then too).
	pub async fn next_within(
		&mut self, wait: Duration,
	) -> Option<Result<EventRecord, ClientError>> {
		tokio::time::timeout(wait, self.next()).await.ok().flatten()
	}

	/// Index of the last event read (or the one the stream was opened after).
	pub fn last_event_id(&self) -> Option<u64> {
		self.last_event_id
	}

	/// One complete event block (up to a blank line), if buffered. Works on bytes, so a
	/// character split across chunks is only decoded once whole.
	fn take_block(&mut self) -> Option<String> {
		let (end, separator) = [&b"\n\n"[..], b"\r\n\r\n"]
			.iter()
			.filter_map(|sep| {
				self.buffer.windows(sep.len()).position(|w| w == *sep).map(|at| (at, sep.len()))
			})
			.min()?;
		let block = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
		self.buffer.drain(..end + separator);
		Some(block)
	}
}

/// The record in an event block, `None` for a comment-only block.
fn parse_block(block: &str) -> Result<Option<EventRecord>, ClientError> {
	let mut data = Vec::new();
	for line in block.lines() {
		if let Some(value) = line.strip_prefix("data:") {
			data.push(value.strip_prefix(' ').unwrap_or(value));
		}
	}
	if data.is_empty() {
		return Ok(None);
	}
	serde_json::from_str(&data.join("\n"))
		.map(Some)
		.map_err(|e| ClientError::InvalidResponse(format!("event is not an event record: {e}")))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn parses_blocks() {
		assert_eq!(parse_block(":keep-alive").unwrap(), None);
		let block = "id:3\ndata:{\"index\":3,\"timestamp\":1,\"type\":\"peer_disconnected\",\ndata:\"node_id\":\"02ab\"}";
		let record = parse_block(block).unwrap().unwrap();
		assert_eq!(record.index, 3);
		assert_eq!(record.event.kind(), "peer_disconnected");
		assert!(parse_block("data: nope").is_err());
	}
}
