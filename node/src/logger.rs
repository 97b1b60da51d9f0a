//! The node's log: everything at `Debug` and up to `DATA_DIR/fulgur.log`, warnings and errors
//! also to stderr.

use std::fs::{File, OpenOptions};
use std::io::Write;
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
	pub fn new(path: &Path, name: &str) -> std::io::Result<FulgurLogger> {
		let file = OpenOptions::new().create(true).append(true).open(path)?;
		Ok(FulgurLogger {
			file: Mutex::new(file),
			name: name.to_string(),
			file_level: Level::Debug,
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
		let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
		let text = format!(
			"{}.{:03} {:<5} [{}:{}] {}\n",
			now.as_secs(),
			now.subsec_millis(),
			level.to_string(),
			module,
			line,
			message
		);
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
