//! A tiny stderr logger: `2024-11-21T13:35:02.123Z INFO  fulgur_web: message`.
//!
//! Enough for request lines and server events without a logging crate; swap the body of
//! [`log`] when the project picks one.

use std::fmt;
use std::io::Write;

use fulgur_node::logger::utc_now;

/// Severity of a log line.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Level {
	Info,
	Warn,
	Error,
}

impl Level {
	fn as_str(self) -> &'static str {
		match self {
			Level::Info => "INFO ",
			Level::Warn => "WARN ",
			Level::Error => "ERROR",
		}
	}
}

/// Writes one line to stderr.
pub(crate) fn log(level: Level, args: fmt::Arguments<'_>) {
	// One string, one write: lines from concurrent requests do not interleave.
	let line = format!("{} {} fulgur_web: {}\n", utc_now(), level.as_str(), args);
	let _ = std::io::stderr().write_all(line.as_bytes());
}

macro_rules! log_info {
	($($arg:tt)*) => { $crate::logging::log($crate::logging::Level::Info, format_args!($($arg)*)) };
}
macro_rules! log_warn {
	($($arg:tt)*) => { $crate::logging::log($crate::logging::Level::Warn, format_args!($($arg)*)) };
}
macro_rules! log_error {
	($($arg:tt)*) => { $crate::logging::log($crate::logging::Level::Error, format_args!($($arg)*)) };
}
