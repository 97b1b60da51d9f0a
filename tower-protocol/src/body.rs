//! Reading an HTTP body sent by someone we do not control (a tower, a webhook receiver): at
//! most a fixed number of bytes, taken as they arrive. A body announced or found to be larger
//! is refused at that point, so a huge or endless body costs no more memory than the cap.

use core::fmt;

use hyper::body::HttpBody;

/// Largest answer body the node reads from a tower or a webhook receiver: every answer the
/// tower protocol defines is under 2 KiB, and a webhook's body is not even looked at.
pub const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// Why a body was not read.
#[derive(Debug)]
pub enum BodyError {
	/// The body is over the limit (announced by its `content-length`, or received).
	TooLarge {
		/// The limit, in bytes.
		limit: usize,
	},
	/// The connection failed while reading.
	Read(hyper::Error),
}

impl fmt::Display for BodyError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			BodyError::TooLarge { limit } => write!(f, "answer body over {limit} bytes"),
			BodyError::Read(e) => write!(f, "reading the answer: {e}"),
		}
	}
}

impl std::error::Error for BodyError {}

/// The whole of `body` if it is at most `limit` bytes. Stops reading (and so drops the
/// connection with the body) as soon as it is known to be larger.
pub async fn read_limited(mut body: hyper::Body, limit: usize) -> Result<Vec<u8>, BodyError> {
	let too_large = BodyError::TooLarge { limit };
	if body.size_hint().lower() > limit as u64 {
		return Err(too_large);
	}
	let mut bytes = Vec::new();
	while let Some(chunk) = body.data().await {
		let chunk = chunk.map_err(BodyError::Read)?;
		if bytes.len().saturating_add(chunk.len()) > limit {
			return Err(too_large);
		}
		bytes.extend_from_slice(&chunk);
	}
	Ok(bytes)
}

/// An HTTP peer that does not stop talking, for the tests of whoever reads its answers through
/// [`read_limited`] (the tower client here, the node's webhook deliveries).
#[cfg(any(test, feature = "test-support"))]
pub mod flood {
	use std::net::SocketAddr;

	use tokio::io::{AsyncReadExt, AsyncWriteExt};
	use tokio::net::TcpListener;
	use tokio::sync::oneshot;

	/// Bytes the peer tries to send: far more than any answer a reader should take.
	pub const FLOOD: u64 = 64 * 1024 * 1024;

	/// A peer that answers one request with 200 and a body of [`FLOOD`] bytes, announced with
	/// a `content-length` or not (then it ends when the connection does); reports how many
	/// bytes it got to write before the reader closed the connection (or all of them).
	pub async fn flooding_peer(
		announced: bool,
	) -> std::io::Result<(SocketAddr, oneshot::Receiver<u64>)> {
		let listener = TcpListener::bind("127.0.0.1:0").await?;
		let addr = listener.local_addr()?;
		let (done, written) = oneshot::channel();
		tokio::spawn(async move {
			let Ok((mut socket, _)) = listener.accept().await else { return };
			let mut request = [0u8; 8192];
			let _ = socket.read(&mut request).await;
			let head = match announced {
				true => format!("HTTP/1.1 200 OK\r\ncontent-length: {FLOOD}\r\n\r\n"),
				false => "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_string(),
			};
			let mut sent = 0;
			if socket.write_all(head.as_bytes()).await.is_ok() {
				let chunk = vec![b' '; 64 * 1024];
				while sent < FLOOD && socket.write_all(&chunk).await.is_ok() {
					sent += chunk.len() as u64;
				}
			}
			let _ = done.send(sent);
		});
		Ok((addr, written))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[tokio::test]
	async fn small_bodies_pass_and_large_ones_stop_at_the_cap() {
		let body = read_limited(hyper::Body::from(vec![7u8; 100]), 100).await.unwrap();
		assert_eq!(body, vec![7u8; 100]);

		// A streamed body (no length known up front): the reader stops at the chunk that
		// crosses the limit and drops the body, which the sender sees.
		let (mut sender, body) = hyper::Body::channel();
		let feeding = tokio::spawn(async move {
			let mut sent = 0usize;
			while sender.send_data(vec![1u8; 1000].into()).await.is_ok() {
				sent += 1000;
			}
			sent
		});
		let e = read_limited(body, 10_000).await.unwrap_err();
		assert!(matches!(e, BodyError::TooLarge { limit: 10_000 }), "{e}");
		assert_eq!(e.to_string(), "answer body over 10000 bytes");
		let sent = feeding.await.unwrap();
		assert!(sent <= 12_000, "the reader went on after the cap: {sent} bytes");
	}
}
