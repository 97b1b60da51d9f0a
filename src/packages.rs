//! Missing system packages are installed, or named: never silently skipped. The logic lives in
//! [`fulgur_base::packages`] (so the node's tests can install PostgreSQL too); this is its
//! name in the binary's crate, where the bitcoind provisioning and the tests' harness use it.

pub use fulgur_base::packages::*;
