//! fulgur: the binary's parts as a library, so the end-to-end tests drive exactly what the
//! `fulgur` command runs.
#![deny(missing_docs)]

pub mod bench;
pub mod bitcoind;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod packages;
pub mod progress;
pub mod regtest;
pub mod tower;
