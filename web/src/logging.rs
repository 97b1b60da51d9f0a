//! A tiny stderr logger: `2024-11-21T13:35:02.123Z INFO  fulgur_web: message`.
//!
//! Enough for request lines and server events without a logging crate; swap the body of
//! [`log`] when the project picks one.

use std::fmt;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

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

/// The current time as RFC 3339 UTC with milliseconds.
fn utc_now() -> String {
	let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
	format_utc(since_epoch.as_secs(), since_epoch.subsec_millis())
}

/// Formats UNIX seconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (proleptic Gregorian calendar).
fn format_utc(secs: u64, millis: u32) -> String {
	let days = secs / 86_400;
	let rem = secs % 86_400;
	let (year, month, day) = civil_from_days(days);
	format!(
		"{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
		rem / 3600,
		rem % 3600 / 60,
		rem % 60
	)
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
	let z = days + 719_468;
	let era = z / 146_097;
	let doe = z - era * 146_097;
	let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
	let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	let mp = (5 * doy + 2) / 153;
	let day = doy - (153 * mp + 2) / 5 + 1;
	let month = if mp < 10 { mp + 3 } else { mp - 9 };
	let year = yoe + era * 400 + u64::from(month <= 2);
	(year, month, day)
}

#[cfg(test)]
mod tests {
	use super::format_utc;

	#[test]
	fn formats_utc() {
		assert_eq!(format_utc(0, 0), "1970-01-01T00:00:00.000Z");
		assert_eq!(format_utc(951_782_400, 7), "2000-02-29T00:00:00.007Z");
		assert_eq!(format_utc(1_732_196_102, 123), "2024-11-21T13:35:02.123Z");
	}
}
