//! fulgur's watchtower protocol, compatible with The Eye of Satoshi (rust-teos) and the
//! BOLT 13 draft: what the node's tower client and the tower server (`fulgur-watchtower`)
//! share, so that the client compiles without the server (as teos-common does for teos).
//!
//! - [`Locator`]: the first 16 bytes of a commitment txid (internal byte order). The tower
//!   learns which channel an appointment belongs to only when that commitment is mined.
//! - [`encrypt`]/[`decrypt`]: the justice transaction, sealed with ChaCha20-Poly1305
//!   under SHA256(commitment txid) and a zero nonce.
//! - [`Appointment`]: `{locator, encrypted_blob, to_self_delay}`, signed by the user with
//!   an LN message signature over [`Appointment::to_vec`].
//! - [`api`]: the JSON bodies of `/register`, `/add_appointment`, `/get_appointment`,
//!   `/get_subscription_info` and `/ping`; [`errors`]: the teos numeric error codes.
//! - [`client`]: a client of a tower's API; [`body`] reads answers from peers the node does
//!   not control within a cap.
#![deny(missing_docs)]

mod ser;

pub mod api;
pub mod appointment;
pub mod body;
pub mod client;
pub mod crypto;
pub mod errors;
pub mod locator;

pub use appointment::{Appointment, AppointmentStatus};
pub use crypto::{decrypt, encrypt, recover_pk, sign, verify, DecryptError, UserId};
pub use errors::{ApiError, ErrorCode, ParseError};
pub use locator::Locator;
