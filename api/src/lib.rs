//! fulgur-api: the HTTP contract of a fulgur node, with no Lightning, wallet or storage code.
//!
//! - [`wire`]: every request and answer body, one module per area, and their validation;
//! - [`error`]: the stable error codes with their HTTP statuses, and the error body;
//! - [`routes`]: the table of every endpoint (method, path, scope, input and answer types),
//!   from which the server's scope check and OpenAPI document and the client's typed methods
//!   are made;
//! - [`client`]: [`ApiClient`], the Rust client the CLI and the end-to-end tests use.
//!
//! Conventions (see DESIGN.md, "HTTP API conventions"): JSON in and out; every answer that is
//! not a success is `{"code": "...", "message": "..."}` ([`ErrorBody`]) with the status of its
//! code; every endpoint requires `Authorization: Bearer <key>`; list endpoints paginate with an
//! opaque `cursor` and return a `total`; amounts carry their unit in the field name.
#![deny(missing_docs)]

pub mod client;
pub mod error;
pub mod routes;
pub mod wire;

pub use client::{ApiClient, ClientError, EventStream};
pub use error::{ApiError, ErrorBody, ErrorCode};
pub use routes::{Access, BodySpec, Endpoint, Reply, RouteSpec};
