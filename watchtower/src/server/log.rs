//! The tower's log: one line per event on stderr, filtered by a process-wide level.

use std::fmt::Arguments;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// How much the tower logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
	/// Failures only.
	Error = 0,
	/// Failures and things that need attention.
	Warn = 1,
	/// Also breaches, broadcasts, registrations, expiries.
	Info = 2,
	/// Also every request and block.
	Debug = 3,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Sets the level for the whole process.
pub fn set_level(level: Level) {
	LEVEL.store(level as u8, Ordering::Relaxed);
}

fn log(level: Level, name: &str, args: Arguments<'_>) {
	if level as u8 <= LEVEL.load(Ordering::Relaxed) {
		let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
		eprintln!("{}.{:03} tower {name} {args}", now.as_secs(), now.subsec_millis());
	}
}

pub(crate) fn error(args: Arguments<'_>) {
	log(Level::Error, "ERROR", args);
}

pub(crate) fn warn(args: Arguments<'_>) {
	log(Level::Warn, "WARN", args);
}

pub(crate) fn info(args: Arguments<'_>) {
	log(Level::Info, "INFO", args);
}

pub(crate) fn debug(args: Arguments<'_>) {
	log(Level::Debug, "DEBUG", args);
}
