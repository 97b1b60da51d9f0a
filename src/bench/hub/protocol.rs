//! What the benchmark and its hub process say to each other: one JSON object a line, requests
//! on the child's stdin, answers (tagged with the request's id, in any order) on its stdout.
//!
//! Invariant: a line longer than [`MAX_LINE_BYTES`] is refused, not buffered, on either side;
//! a line that does not parse is an error for that line only.

use serde::{Deserialize, Serialize};
use std::io::BufRead;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use fulgur_node::store::StoreStats;
use fulgur_node::tower::TowerStatus;

/// Longest line either side reads (a batch of a few hundred opens is well under it).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The child's first line, once its node runs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ready {
	/// The hub's node id, hex.
	pub node_id: String,
	/// Where it accepts peers.
	pub listen_addr: String,
}

/// One request to the hub process.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Request {
	/// Echoed in the answer.
	pub id: u64,
	/// What to do.
	pub call: Call,
}

/// What the benchmark asks of its hub.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Call {
	/// A fresh on-chain address: [`Answer::Text`].
	NewAddress,
	/// Syncs the wallet and gives its confirmed balance: [`Answer::Count`] (sat).
	ConfirmedBalance,
	/// Opens one channel to each peer (already connected) in one funding transaction:
	/// [`Answer::Done`] once every channel is pending.
	OpenBatch(Vec<ChannelOpen>),
	/// Channels usable now: [`Answer::Count`].
	UsableChannels,
	/// The best block the hub processed: [`Answer::Count`].
	BlockHeight,
	/// The store's counters: [`Answer::Stats`].
	StoreStats,
	/// An invoice for this many msat: [`Answer::Text`] (BOLT 11).
	Invoice(u64),
	/// The towers' delivery state: [`Answer::Towers`].
	Towers,
	/// Stops the node; the process exits after answering [`Answer::Done`].
	Stop,
}

/// One channel of an [`Call::OpenBatch`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChannelOpen {
	/// The peer, hex.
	pub node_id: String,
	/// Capacity.
	pub amount_sat: u64,
	/// Given to the peer at opening.
	pub push_msat: u64,
}

/// The answer to one request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Response {
	/// The request's id.
	pub id: u64,
	/// What came of it.
	pub result: Result<Answer, String>,
}

/// A successful answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
	/// Nothing to say.
	Done,
	/// A number.
	Count(u64),
	/// A string.
	Text(String),
	/// The store's counters.
	Stats(WireStats),
	/// The towers.
	Towers(Vec<TowerStatus>),
}

/// [`StoreStats`] on the wire.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct WireStats {
	/// Writes.
	pub writes: u64,
	/// Removes.
	pub removes: u64,
	/// Flushes (fsyncs, group commits).
	pub flushes: u64,
	/// Payload bytes written.
	pub bytes_written: u64,
}

impl From<StoreStats> for WireStats {
	fn from(s: StoreStats) -> WireStats {
		WireStats {
			writes: s.writes,
			removes: s.removes,
			flushes: s.flushes,
			bytes_written: s.bytes_written,
		}
	}
}

impl From<WireStats> for StoreStats {
	fn from(s: WireStats) -> StoreStats {
		StoreStats {
			writes: s.writes,
			removes: s.removes,
			flushes: s.flushes,
			bytes_written: s.bytes_written,
		}
	}
}

/// `value` as one line (JSON never holds a raw newline).
pub fn to_line(value: &impl Serialize) -> String {
	let mut line = serde_json::to_string(value).unwrap_or_else(|e| format!("\"{e}\""));
	line.push('\n');
	line
}

/// Reads one line of at most [`MAX_LINE_BYTES`]: `Ok(None)` at the end of the stream, an error
/// for a longer line (the rest of it is skipped, so the next read starts on the next line).
pub async fn read_line(
	reader: &mut (impl AsyncBufRead + Unpin),
) -> std::io::Result<Option<String>> {
	let mut line = Line::default();
	loop {
		let buf = reader.fill_buf().await?;
		let (consumed, ended) = line.take(buf);
		reader.consume(consumed);
		if ended {
			return line.finish();
		}
	}
}

/// [`read_line`] on a blocking reader (the hub process's stdin, read on a thread of its own).
pub fn read_line_blocking(reader: &mut impl BufRead) -> std::io::Result<Option<String>> {
	let mut line = Line::default();
	loop {
		let buf = reader.fill_buf()?;
		let (consumed, ended) = line.take(buf);
		reader.consume(consumed);
		if ended {
			return line.finish();
		}
	}
}

/// A line being read.
#[derive(Default)]
struct Line {
	bytes: Vec<u8>,
	too_long: bool,
	empty_stream: bool,
}

impl Line {
	/// Takes what of `buf` belongs to this line: how many bytes, and whether the line ended
	/// (a newline, or the end of the stream when `buf` is empty).
	fn take(&mut self, buf: &[u8]) -> (usize, bool) {
		if buf.is_empty() {
			self.empty_stream = self.bytes.is_empty() && !self.too_long;
			return (0, true);
		}
		let (chunk, consumed, ended) = match buf.iter().position(|&b| b == b'\n') {
			Some(end) => (&buf[..end], end + 1, true),
			None => (buf, buf.len(), false),
		};
		if !self.too_long && self.bytes.len() + chunk.len() <= MAX_LINE_BYTES {
			self.bytes.extend_from_slice(chunk);
		} else {
			self.too_long = true;
			self.bytes = Vec::new();
		}
		(consumed, ended)
	}

	fn finish(self) -> std::io::Result<Option<String>> {
		match (self.empty_stream, self.too_long) {
			(true, _) => Ok(None),
			(false, true) => Err(too_long_error()),
			(false, false) => Ok(Some(String::from_utf8_lossy(&self.bytes).into_owned())),
		}
	}
}

fn too_long_error() -> std::io::Error {
	std::io::Error::new(
		std::io::ErrorKind::InvalidData,
		format!("a line longer than {MAX_LINE_BYTES} bytes"),
	)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn requests_and_answers_round_trip_as_lines() {
		let request = Request {
			id: 7,
			call: Call::OpenBatch(vec![ChannelOpen {
				node_id: "02ab".into(),
				amount_sat: 200_000,
				push_msat: 1_000,
			}]),
		};
		let line = to_line(&request);
		assert!(line.ends_with('\n') && !line.trim_end().contains('\n'));
		assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), request);
		for result in [Ok(Answer::Count(3)), Ok(Answer::Done), Err("no route".to_string())] {
			let response = Response { id: 1, result };
			assert_eq!(serde_json::from_str::<Response>(&to_line(&response)).unwrap(), response);
		}
		let stats = StoreStats { writes: 1, removes: 2, flushes: 3, bytes_written: 4 };
		assert_eq!(StoreStats::from(WireStats::from(stats)), stats);
	}

	#[tokio::test]
	async fn lines_are_bounded() {
		let long = "x".repeat(MAX_LINE_BYTES + 1);
		let input = format!("first\n{long}\nthird\nlast");
		let mut reader = tokio::io::BufReader::with_capacity(64, input.as_bytes());
		assert_eq!(read_line(&mut reader).await.unwrap().as_deref(), Some("first"));
		assert!(read_line(&mut reader).await.is_err());
		assert_eq!(read_line(&mut reader).await.unwrap().as_deref(), Some("third"));
		assert_eq!(read_line(&mut reader).await.unwrap().as_deref(), Some("last"));
		assert_eq!(read_line(&mut reader).await.unwrap(), None);
		let mut blocking = std::io::BufReader::with_capacity(64, input.as_bytes());
		assert_eq!(read_line_blocking(&mut blocking).unwrap().as_deref(), Some("first"));
		assert!(read_line_blocking(&mut blocking).is_err());
		assert_eq!(read_line_blocking(&mut blocking).unwrap().as_deref(), Some("third"));
		assert_eq!(read_line_blocking(&mut blocking).unwrap().as_deref(), Some("last"));
		assert_eq!(read_line_blocking(&mut blocking).unwrap(), None);
	}
}
