//! fulgur's one logger and its one line format, for the node, the tower, the HTTP API and the
//! binary alike:
//!
//! ```text
//! 2024-11-21T13:35:02.123Z INFO  [fulgur_node::builder:97] message
//! ```
//!
//! RFC 3339 UTC with milliseconds, the level padded to five, `[module:line]`, the message. A
//! line written to stderr starts with the logger's name (`[alice] 2024-...`), because several
//! nodes and towers may share one terminal (`fulgur regtest`, the tests); the file has no
//! prefix, it belongs to one process. Each line is formatted whole and written in one call, so
//! lines of concurrent threads never interleave, and a failed write (a full disk) is dropped:
//! logging never takes the process down.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

pub use lightning::util::logger::Level;
use lightning::util::logger::{Logger, Record};

use crate::clock;

/// Writes fulgur's and LDK's log lines: to a file from one level up, to stderr from another.
pub struct FulgurLogger {
	file: Option<Mutex<File>>,
	file_level: Level,
	name: String,
	/// A [`Level`] as [`level_code`]: a process-wide logger's level can change while it runs.
	stderr_level: AtomicU8,
}

impl FulgurLogger {
	/// Appends lines from `file_level` up to `path` (created private, mode 0600) and warnings
	/// and errors to stderr, prefixed by `name`.
	pub fn new(path: &Path, name: &str, file_level: Level) -> io::Result<FulgurLogger> {
		let file = OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
		Ok(FulgurLogger {
			file: Some(Mutex::new(file)),
			file_level,
			name: name.to_string(),
			stderr_level: AtomicU8::new(level_code(Level::Warn)),
		})
	}

	/// Writes lines from `level` up to stderr only, prefixed by `name`.
	pub fn stderr(name: &str, level: Level) -> FulgurLogger {
		FulgurLogger {
			file: None,
			file_level: Level::Error,
			name: name.to_string(),
			stderr_level: AtomicU8::new(level_code(level)),
		}
	}

	/// From which level on lines go to stderr.
	pub fn set_stderr_level(&self, level: Level) {
		self.stderr_level.store(level_code(level), Ordering::Relaxed);
	}

	/// Logs one line of `module` (at source `line`); what the macros ([`info!`](crate::info)
	/// and its siblings) call.
	pub fn line(&self, level: Level, module: &str, line: u32, message: fmt::Arguments<'_>) {
		let to_file = self.file.is_some() && level >= self.file_level;
		let to_stderr = level_code(level) >= self.stderr_level.load(Ordering::Relaxed);
		if !to_file && !to_stderr {
			return;
		}
		let text = format_line(level, module, line, message);
		if let (true, Some(file)) = (to_file, &self.file) {
			let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
			// A full disk must not take the process down through its logger.
			let _ = file.write_all(text.as_bytes());
		}
		if to_stderr {
			let _ = io::stderr().write_all(format!("[{}] {text}", self.name).as_bytes());
		}
	}
}

impl Logger for FulgurLogger {
	fn log(&self, record: Record) {
		self.line(record.level, record.module_path, record.line, record.args);
	}
}

/// `level` as a number that keeps the order of levels.
fn level_code(level: Level) -> u8 {
	match level {
		Level::Gossip => 0,
		Level::Trace => 1,
		Level::Debug => 2,
		Level::Info => 3,
		Level::Warn => 4,
		Level::Error => 5,
	}
}

/// One log line, newline included: `RFC3339-UTC LEVEL [module:line] message`.
pub fn format_line(level: Level, module: &str, line: u32, message: fmt::Arguments<'_>) -> String {
	format!("{} {:<5} [{module}:{line}] {message}\n", utc_now(), level.to_string())
}

/// The current time as RFC 3339 UTC with milliseconds, as every fulgur log line starts.
pub fn utc_now() -> String {
	let since_epoch = clock::since_epoch();
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

/// Logs at info level through a [`FulgurLogger`]: `info!(logger, "format", args...)`.
#[macro_export]
macro_rules! info {
	($logger:expr, $($arg:tt)*) => {
		$logger.line($crate::log::Level::Info, module_path!(), line!(), format_args!($($arg)*))
	};
}

/// Logs at warn level through a [`FulgurLogger`].
#[macro_export]
macro_rules! warn {
	($logger:expr, $($arg:tt)*) => {
		$logger.line($crate::log::Level::Warn, module_path!(), line!(), format_args!($($arg)*))
	};
}

/// Logs at error level through a [`FulgurLogger`].
#[macro_export]
macro_rules! error {
	($logger:expr, $($arg:tt)*) => {
		$logger.line($crate::log::Level::Error, module_path!(), line!(), format_args!($($arg)*))
	};
}

/// Logs at debug level through a [`FulgurLogger`].
#[macro_export]
macro_rules! debug {
	($logger:expr, $($arg:tt)*) => {
		$logger.line($crate::log::Level::Debug, module_path!(), line!(), format_args!($($arg)*))
	};
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn formats_utc() {
		assert_eq!(format_utc(0, 0), "1970-01-01T00:00:00.000Z");
		assert_eq!(format_utc(951_782_400, 7), "2000-02-29T00:00:00.007Z");
		assert_eq!(format_utc(1_732_196_102, 123), "2024-11-21T13:35:02.123Z");
	}

	#[test]
	fn lines_have_one_format_and_the_file_its_level() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("test.log");
		let logger = FulgurLogger::new(&path, "test", Level::Info).unwrap();
		crate::debug!(logger, "not written: below the file's level");
		crate::info!(logger, "written {}", 42);
		let expected_line = line!() - 1;
		let text = std::fs::read_to_string(&path).unwrap();
		let lines: Vec<&str> = text.lines().collect();
		assert_eq!(lines.len(), 1, "{text}");
		let (time, rest) = lines[0].split_once(' ').unwrap();
		assert_eq!(time.len(), "2024-11-21T13:35:02.123Z".len(), "{time}");
		assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T', "{time}");
		let expected = format!("INFO  [{}:{expected_line}] written 42", module_path!());
		assert_eq!(rest, expected);
		// The log is private to its owner.
		use std::os::unix::fs::PermissionsExt;
		let mode = std::fs::metadata(&path).unwrap().permissions().mode();
		assert_eq!(mode & 0o777, 0o600);
	}

	#[test]
	fn the_stderr_level_can_change() {
		let logger = FulgurLogger::stderr("test", Level::Info);
		assert_eq!(logger.stderr_level.load(Ordering::Relaxed), level_code(Level::Info));
		logger.set_stderr_level(Level::Warn);
		assert_eq!(logger.stderr_level.load(Ordering::Relaxed), level_code(Level::Warn));
		let mut levels = [Level::Error, Level::Gossip, Level::Info, Level::Trace, Level::Warn];
		levels.sort_by_key(|level| level_code(*level));
		let mut by_ldk = levels;
		by_ldk.sort();
		assert_eq!(levels, by_ldk, "level codes keep LDK's order");
	}
}
