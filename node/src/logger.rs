//! The node's log: everything at `Debug` and up to `DATA_DIR/fulgur.log`, warnings and errors
//! also to stderr prefixed with the node's name. The logger and its line format are fulgur's
//! one logger, [`fulgur_base::log`]; the macros (`crate::info!` and its siblings) are its too.

pub use fulgur_base::log::{format_utc, utc_now, FulgurLogger};
