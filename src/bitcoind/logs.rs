//! What a bitcoind that failed to start said, for the error message.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use super::{StartError, LOG_TAIL_LINES};

/// Where one start attempt's output goes, and where in each file that attempt began: a
/// restarted datadir already holds older runs' logs, which would only mislead.
pub(super) struct StartupLogs {
	pub(super) console_path: PathBuf,
	pub(super) console_offset: u64,
	pub(super) debug_log_path: PathBuf,
	pub(super) debug_log_offset: u64,
}

impl StartupLogs {
	/// Classifies an early exit: port clashes can be retried, a held datadir lock gets its own
	/// error kind, anything else is reported with the logs.
	pub(super) fn exit_error(&self, status: ExitStatus) -> StartError {
		let console = read_from(&self.console_path, self.console_offset);
		let debug_log = read_from(&self.debug_log_path, self.debug_log_offset);
		let all = format!("{console}\n{debug_log}");
		let kind = if all.contains("Cannot obtain a lock") {
			io::ErrorKind::ResourceBusy
		} else if all.contains("Unable to bind") || all.contains("Unable to start HTTP server") {
			io::ErrorKind::AddrInUse
		} else {
			io::ErrorKind::Other
		};
		let error = io::Error::new(
			kind,
			format!("bitcoind exited during startup ({status}){}", excerpt(&console, &debug_log)),
		);
		if kind == io::ErrorKind::AddrInUse {
			StartError::PortInUse(error)
		} else {
			StartError::Fatal(error)
		}
	}

	pub(super) fn excerpt(&self) -> String {
		excerpt(
			&read_from(&self.console_path, self.console_offset),
			&read_from(&self.debug_log_path, self.debug_log_offset),
		)
	}
}

/// The console output, then debug.log's warnings and errors (the cause is usually there, long
/// before the shutdown chatter that ends the file) and its last lines.
fn excerpt(console: &str, debug_log: &str) -> String {
	let last = |lines: Vec<&str>| {
		let skip = lines.len().saturating_sub(LOG_TAIL_LINES);
		lines.into_iter().skip(skip).collect::<Vec<_>>().join("\n")
	};
	let or_empty = |text: String| if text.trim().is_empty() { "(empty)".to_string() } else { text };
	let problems = debug_log
		.lines()
		.filter(|line| line.contains("[error]") || line.contains("[warning]"))
		.collect();
	format!(
		"\n--- console ---\n{}\n--- regtest/debug.log: warnings and errors ---\n{}\n--- \
		 regtest/debug.log: last lines ---\n{}",
		or_empty(last(console.lines().collect())),
		or_empty(last(problems)),
		or_empty(last(debug_log.lines().collect())),
	)
}

pub(super) fn file_len(path: &Path) -> u64 {
	std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// What was written to `path` after `offset` (at most the last MiB), or why it can't be read.
fn read_from(path: &Path, offset: u64) -> String {
	const MAX: u64 = 1 << 20;
	let read = || -> io::Result<String> {
		let mut file = match File::open(path) {
			Ok(file) => file,
			Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(String::new()),
			Err(e) => return Err(e),
		};
		let len = file.metadata()?.len();
		// The file may have been shrunk at startup (-shrinkdebugfile); then all of it is new.
		let offset = if len < offset { 0 } else { offset };
		file.seek(SeekFrom::Start(offset.max(len.saturating_sub(MAX))))?;
		let mut bytes = Vec::new();
		file.read_to_end(&mut bytes)?;
		Ok(String::from_utf8_lossy(&bytes).into_owned())
	};
	read().unwrap_or_else(|e| format!("(unreadable: {e})"))
}
