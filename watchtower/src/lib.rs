//! fulgur's watchtower server, compatible with The Eye of Satoshi (rust-teos) and the BOLT 13
//! draft: [`server`], the tower itself.
//!
//! The protocol it speaks (appointments, locators, crypto, the HTTP API types and a client)
//! is `fulgur-tower-protocol`, which the node uses alone; it is re-exported here under the
//! same paths, so a user of the server has one crate to name.
#![deny(missing_docs)]

pub use fulgur_tower_protocol::{api, appointment, body, client, crypto, errors, locator};
pub use fulgur_tower_protocol::{
	decrypt, encrypt, recover_pk, sign, verify, ApiError, Appointment, AppointmentStatus,
	DecryptError, ErrorCode, Locator, ParseError, UserId,
};

pub mod server;
