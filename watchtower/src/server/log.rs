//! The tower's log: fulgur's one logger ([`fulgur_base::log`]) writing to stderr with the
//! name `tower`, from a process-wide level up (info unless [`set_level`] says otherwise).

use std::sync::LazyLock;

use fulgur_base::FulgurLogger;

pub use fulgur_base::log::Level;

static LOGGER: LazyLock<FulgurLogger> =
	LazyLock::new(|| FulgurLogger::stderr("tower", Level::Info));

/// The tower's logger.
pub fn logger() -> &'static FulgurLogger {
	&LOGGER
}

/// Sets the level for the whole process.
pub fn set_level(level: Level) {
	LOGGER.set_stderr_level(level);
}

/// Logs at error level: `log::error!("format", args...)`.
macro_rules! tower_error {
	($($arg:tt)*) => { fulgur_base::error!($crate::server::log::logger(), $($arg)*) };
}

/// Logs at warn level.
macro_rules! tower_warn {
	($($arg:tt)*) => { fulgur_base::warn!($crate::server::log::logger(), $($arg)*) };
}

/// Logs at info level.
macro_rules! tower_info {
	($($arg:tt)*) => { fulgur_base::info!($crate::server::log::logger(), $($arg)*) };
}

/// Logs at debug level.
macro_rules! tower_debug {
	($($arg:tt)*) => { fulgur_base::debug!($crate::server::log::logger(), $($arg)*) };
}

// Renamed on export: `warn` alone would be ambiguous with the built-in attribute.
pub(crate) use {
	tower_debug as debug, tower_error as error, tower_info as info, tower_warn as warn,
};
