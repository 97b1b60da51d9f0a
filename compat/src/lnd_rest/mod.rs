//! LND's REST API over the node (see the crate documentation).
