//! fulgur-base: the infrastructure fulgur's node and watchtower share, written once.
//!
//! - [`store`] and [`group_commit`]: a sled database whose changes are acknowledged only once
//!   a flush that started after them has completed, with concurrent writers sharing flushes;
//! - [`bitcoind`]: the JSON-RPC connection to bitcoind (`host:port`, user and password or a
//!   cookie file) and the check that bitcoind is on the configured network;
//! - [`log`]: one logger ([`FulgurLogger`]) and one line format for every part of fulgur;
//! - [`clock`]: the wall clock as UNIX timestamps;
//! - [`net`]: which source addresses count as one for per-address limits.
//!
//! It knows nothing of the node or the tower: both depend on it, never the other way.
#![deny(missing_docs)]

pub mod bitcoind;
pub mod clock;
pub mod group_commit;
pub mod log;
pub mod net;
pub mod store;

pub use log::FulgurLogger;
