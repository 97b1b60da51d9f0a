//! fulgur-compat: the APIs existing merchant software already speaks, served by fulgur.
//!
//! - [`lnd_rest`]: LND's REST API (what LNbits' `LndRestWallet`, BTCPay Server's `lnd-rest`
//!   connection, Zeus and Ride The Lightning use), over TLS, authenticated by macaroon files;
//! - [`phoenixd`]: Phoenixd's HTTP API (LNbits' `PhoenixdWallet`, BTCPay's Phoenixd plugin).
//!
//! Both are thin adapters: their own wire types and encoding rules, mapped onto the node's own
//! operations (`fulgur_node::Node`); no payment logic lives here. Each surface has its own port
//! and binds 127.0.0.1 unless configured otherwise.
#![deny(missing_docs)]

pub mod lnd_rest;
pub mod phoenixd;
