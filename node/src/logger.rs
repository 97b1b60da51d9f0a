//! The node's log: everything at `Debug` and up to `DATA_DIR/fulgur.log`, warnings and errors
//! also to stderr.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use lightning::util::logger::{Level, Logger, Record};

/// Writes LDK's and fulgur's log lines.
pub struct FulgurLogger {
	file: Mutex<File>,
	name: String,
	file_level: Level,
	stderr_level: Level,
}

impl FulgurLogger {
	/// Appends to `path`; `name` prefixes the stderr lines (several nodes share a terminal
	/// under `fulgur regtest`).
	pub fn new(path: &Path, name: &str, file_level: Level) -> std::io::Result<FulgurLogger> {
		let file = OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
		Ok(FulgurLogger {
			file: Mutex::new(file),
			name: name.to_string(),
			file_level,
			stderr_level: Level::Warn,
		})
	}

	/// Logs a fulgur (not LDK) line.
	pub fn line(&self, level: Level, module: &str, message: std::fmt::Arguments<'_>) {
		self.write_line(level, module, 0, message);
	}

	fn write_line(&self, level: Level, module: &str, line: u32, message: std::fmt::Arguments<'_>) {
		if level < self.file_level && level < self.stderr_level {
			return;
		}
		let text =
			format!("{} {:<5} [{}:{}] {}\n", utc_now(), level.to_string(), module, line, message);
		if level >= self.file_level {
			let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
			// A full disk must not take the node down through its logger.
			let _ = file.write_all(text.as_bytes());
		}
		if level >= self.stderr_level {
			eprint!("[{}] {}", self.name, text);
		}
	}
}

impl Logger for FulgurLogger {
	fn log(&self, record: Record) {
		self.write_line(record.level, record.module_path, record.line, record.args);
	}
}

/// The current time as RFC 3339 UTC with milliseconds, as every fulgur log line starts.
pub fn utc_now() -> String {
	let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
	format_utc(since_epoch.as_secs(), since_epoch.subsec_millis())
}

/// Formats UNIX seconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (proleptic Gregorian calendar).
pub fn format_utc(secs: u64, millis: u32) -> String {
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

/// Logs at info level through a [`FulgurLogger`].
#[macro_export]
macro_rules! info {
	($logger:expr, $($arg:tt)*) => {
		$logger.line(lightning::util::logger::Level::Info, module_path!(), format_args!($($arg)*))
	};
}

/// Logs at warn level through a [`FulgurLogger`].
#[macro_export]
macro_rules! warn {
	($logger:expr, $($arg:tt)*) => {
		$logger.line(lightning::util::logger::Level::Warn, module_path!(), format_args!($($arg)*))
	};
}

/// Logs at error level through a [`FulgurLogger`].
#[macro_export]
macro_rules! error {
	($logger:expr, $($arg:tt)*) => {
		$logger.line(lightning::util::logger::Level::Error, module_path!(), format_args!($($arg)*))
	};
}

/// Logs at debug level through a [`FulgurLogger`].
#[macro_export]
macro_rules! debug {
	($logger:expr, $($arg:tt)*) => {
		$logger.line(lightning::util::logger::Level::Debug, module_path!(), format_args!($($arg)*))
	};
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
