//! Reading a request body within [`BODY_LIMIT_BYTES`]: the request parser (`dispatch.rs`)
//! hands the bytes to the route table's `Call::parse`, which parses and validates them.

use std::future::poll_fn;
use std::pin::pin;

use warp::hyper::body::Bytes;
use warp::{Buf, Rejection, Stream};

use crate::error::ApiError;
use crate::server::BODY_LIMIT_BYTES;
use fulgur_api::ErrorCode;

/// Reads the body, refusing it as soon as it is known to be larger than the limit
/// (announced length or bytes received), so an oversized body is never buffered.
pub(crate) async fn read_body<S, B>(length: Option<u64>, body: S) -> Result<Bytes, Rejection>
where
	S: Stream<Item = Result<B, warp::Error>>,
	B: Buf,
{
	if length.is_some_and(|n| n > BODY_LIMIT_BYTES as u64) {
		return Err(warp::reject::custom(payload_too_large()));
	}
	let mut body = pin!(body);
	let mut bytes = Vec::new();
	while let Some(chunk) = poll_fn(|cx| body.as_mut().poll_next(cx)).await {
		let mut chunk = chunk.map_err(|e| {
			warp::reject::custom(ApiError::invalid_request(format!("cannot read the body: {e}")))
		})?;
		if bytes.len() + chunk.remaining() > BODY_LIMIT_BYTES {
			return Err(warp::reject::custom(payload_too_large()));
		}
		while chunk.has_remaining() {
			let part = chunk.chunk();
			bytes.extend_from_slice(part);
			let n = part.len();
			chunk.advance(n);
		}
	}
	Ok(Bytes::from(bytes))
}

pub(crate) fn payload_too_large() -> ApiError {
	ApiError::new(
		ErrorCode::PayloadTooLarge,
		format!("the request body is larger than {BODY_LIMIT_BYTES} bytes"),
	)
}
