//! The API's log: fulgur's one logger ([`fulgur_base::log`]) writing to stderr with the name
//! `api`, from info up (one line per request, and the server's events).

use std::sync::LazyLock;

use fulgur_base::log::Level;
use fulgur_base::FulgurLogger;

static LOGGER: LazyLock<FulgurLogger> = LazyLock::new(|| FulgurLogger::stderr("api", Level::Info));

/// The API's logger.
pub(crate) fn logger() -> &'static FulgurLogger {
	&LOGGER
}

macro_rules! log_info {
	($($arg:tt)*) => { fulgur_base::info!($crate::logging::logger(), $($arg)*) };
}
macro_rules! log_warn {
	($($arg:tt)*) => { fulgur_base::warn!($crate::logging::logger(), $($arg)*) };
}
macro_rules! log_error {
	($($arg:tt)*) => { fulgur_base::error!($crate::logging::logger(), $($arg)*) };
}
