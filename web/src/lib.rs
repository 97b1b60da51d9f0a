//! fulgur-web: fulgur's HTTP JSON API ([`serve`]), speaking the contract of `fulgur-api`.
//!
//! Conventions (see DESIGN.md, "HTTP API conventions"):
//! - JSON in and out; every answer that is not a success is
//!   `{"code": "...", "message": "..."}` with a fitting HTTP status ([`ErrorBody`]);
//! - every endpoint requires `Authorization: Bearer <key>`: the admin key of the key file
//!   ([`load_or_create_api_key`]) or a scoped key (`admin`, `invoice`, `readonly`) made with
//!   `POST /v1/keys`; 401 for a missing or unknown key, 403 for a key without the scope;
//! - list endpoints paginate with an opaque `cursor` and return a `total`;
//! - events: `GET /v1/events` and the Server-Sent Events stream `GET /v1/events/stream`
//!   read the node's durable event log by index; webhooks deliver it signed;
//! - amounts are in msat (or sat) with the unit in the field name;
//! - the server binds 127.0.0.1 by default ([`DEFAULT_API_BIND`]).
//!
//! Layout: the HTTP contract (wire types, error codes, the route table, the client) is the
//! `fulgur-api` crate; here, `api/` holds one file per resource group, each endpoint one
//! `async fn handle_x(node: Node, req: XRequest) -> Result<XResponse, ApiError>`;
//! `convert/` turns the node's types into wire types (the one place they meet); `dispatch.rs`
//! the scope check, the request parser (into the table's `Call`) and dispatch; `extract.rs` the
//! bounded body reader; `server.rs` the server; `auth.rs` the keys; `error.rs` the error type;
//! `openapi/` the OpenAPI document built from the table.
#![deny(missing_docs)]

#[macro_use]
mod logging;

pub mod api;
mod auth;
mod convert;
mod dashboard;
mod dispatch;
pub mod error;
mod extract;
pub mod openapi;
mod server;

pub use auth::load_or_create_api_key;
pub use error::{ApiError, ErrorBody};
/// The route table moved to `fulgur_api::routes`.
pub use fulgur_api::routes as endpoints;
/// The client moved to `fulgur_api`; these names stay for older callers.
pub use fulgur_api::{client, ApiClient, ClientError};
pub use server::{
	serve, serve_while_starting, ApiConfig, ApiServer, BODY_LIMIT_BYTES, DEFAULT_API_BIND,
};
