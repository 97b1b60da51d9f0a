//! Phoenixd's HTTP API over the node (see the crate documentation).
