//! Request extractors shared by the routes: JSON bodies (size-limited, validated) and query
//! strings.

use std::future::poll_fn;
use std::pin::pin;

use serde::de::DeserializeOwned;
use warp::hyper::body::Bytes;
use warp::{Buf, Filter, Rejection, Stream};

use crate::error::ApiError;
use crate::server::BODY_LIMIT_BYTES;
use fulgur_api::wire::{PageQuery, Validate};
use fulgur_api::ErrorCode;

/// A JSON body of at most [`BODY_LIMIT_BYTES`], parsed into `T` and validated. An empty
/// body counts as `{}`.
pub(crate) fn json_body<T>() -> impl Filter<Extract = (T,), Error = Rejection> + Clone
where
	T: DeserializeOwned + Validate + Send + 'static,
{
	warp::header::optional::<u64>("content-length").and(warp::body::stream()).and_then(
		|length: Option<u64>, body| async move {
			let bytes = read_body(length, body).await?;
			parse_json::<T>(&bytes).map_err(warp::reject::custom)
		},
	)
}

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

/// Parses a JSON body (empty means `{}`) and validates it.
fn parse_json<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, ApiError> {
	let body = if body.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { body };
	let value: T =
		serde_json::from_slice(body).map_err(|e| ApiError::invalid_request(e.to_string()))?;
	value.validate()?;
	Ok(value)
}

/// A query string (absent means empty) parsed into `T` and validated; unknown parameters
/// are refused by `T`'s `deny_unknown_fields`.
pub(crate) fn query<T>() -> impl Filter<Extract = (T,), Error = Rejection> + Clone
where
	T: DeserializeOwned + Validate + Send + 'static,
{
	warp::query::raw().or(warp::any().map(String::new)).unify().and_then(|raw: String| async move {
		let query: T = serde_urlencoded::from_str(&raw).map_err(|e| {
			warp::reject::custom(ApiError::invalid_request(format!("invalid query string: {e}")))
		})?;
		query.validate().map_err(|e| warp::reject::custom(ApiError::from(e)))?;
		Ok::<_, Rejection>(query)
	})
}

/// The `?limit=&cursor=` of list endpoints (all optional), validated.
pub(crate) fn page_query() -> impl Filter<Extract = (PageQuery,), Error = Rejection> + Clone {
	query::<PageQuery>()
}
