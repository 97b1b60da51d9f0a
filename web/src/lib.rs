//! fulgur-web: fulgur's HTTP JSON API ([`serve`]) and its client ([`ApiClient`]).
//!
//! Conventions (see DESIGN.md, "HTTP API conventions"):
//! - JSON in and out; every answer that is not a success is
//!   `{"code": "...", "message": "..."}` with a fitting HTTP status ([`ErrorBody`]);
//! - every endpoint requires `Authorization: Bearer <key>` ([`load_or_create_api_key`]);
//! - list endpoints paginate with an opaque `cursor` and return a `total`;
//! - amounts are in msat (or sat) with the unit in the field name;
//! - the server binds 127.0.0.1 by default ([`DEFAULT_API_BIND`]).
//!
//! Layout: `api/` holds one file per resource group, each endpoint one
//! `async fn handle_x(node: Node, req: XRequest) -> Result<XResponse, ApiError>`;
//! `server.rs` holds the single router and the server; `auth.rs` the API key;
//! `error.rs` the error type; `client.rs` the client the CLI uses.
#![deny(missing_docs)]

#[macro_use]
mod logging;

pub mod api;
mod auth;
pub mod client;
pub mod error;
mod server;

pub use auth::load_or_create_api_key;
pub use client::{ApiClient, ClientError};
pub use error::{ApiError, ErrorBody};
pub use server::{serve, ApiConfig, ApiServer, BODY_LIMIT_BYTES, DEFAULT_API_BIND};
