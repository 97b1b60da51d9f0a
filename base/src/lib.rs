//! fulgur-base: the infrastructure fulgur's node and watchtower share, written once.
//!
//! - [`store`] and [`group_commit`]: a sled database whose changes are acknowledged only once
//!   a flush that started after them has completed, with concurrent writers sharing flushes;
//! - [`bitcoind`]: the JSON-RPC connection to bitcoind (`host:port`, user and password or a
//!   cookie file) and the check that bitcoind is on the configured network;
//! - [`log`]: one logger ([`FulgurLogger`]) and one line format for every part of fulgur;
//! - [`clock`]: the wall clock as UNIX timestamps;
//! - [`net`]: which source addresses count as one for per-address limits;
//! - `forking_chain` (tests only: this crate's, and others' through the `test-support`
//!   feature): an in-memory chain that forks, served as `lightning-block-sync`'s
//!   `BlockSource`;
//! - [`packages`]: missing Debian packages installed (as root) or named, never skipped;
//! - [`throwaway_postgres`] (for tests and benchmarks): a PostgreSQL server in a temporary
//!   directory, removed after use.
//!
//! It knows nothing of the node or the tower: both depend on it, never the other way.
#![deny(missing_docs)]

pub mod bitcoind;
pub mod clock;
#[cfg(any(test, feature = "test-support"))]
pub mod forking_chain;
pub mod group_commit;
pub mod log;
pub mod net;
pub mod packages;
pub mod store;
pub mod throwaway_postgres;

pub use log::FulgurLogger;
