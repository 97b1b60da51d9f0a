//! The configuration file: `name = value` lines, `#` comment lines and blank lines, nothing
//! else. Invariant: a file is either read whole into entries with their line numbers, each key
//! once, or refused with the file, the line and what is wrong; nothing is guessed.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest configuration file read; a larger one (or a device such as `/dev/zero`) is
/// refused instead of read into memory.
pub const MAX_CONFIG_FILE_BYTES: u64 = 1 << 20;

/// One `name = value` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
	/// Its line number, from 1.
	pub line: usize,
	/// The key as written, trimmed.
	pub key: String,
	/// The key compared with option names: lower case, `_` read as `-`.
	pub name: String,
	/// The value, trimmed (everything after the first `=`; `#` in it is part of it).
	pub value: String,
}

/// A configuration file, read and split into entries.
#[derive(Clone, Debug)]
pub struct ConfigFile {
	/// Where it was read from.
	pub path: PathBuf,
	/// Its `name = value` lines, in order.
	pub entries: Vec<Entry>,
}

impl ConfigFile {
	/// Reads the file at `path` (at most [`MAX_CONFIG_FILE_BYTES`]).
	pub fn read(path: &Path) -> Result<ConfigFile, String> {
		let file = std::fs::File::open(path)
			.map_err(|e| format!("reading config {}: {e}", path.display()))?;
		let mut bytes = Vec::new();
		file.take(MAX_CONFIG_FILE_BYTES + 1)
			.read_to_end(&mut bytes)
			.map_err(|e| format!("reading config {}: {e}", path.display()))?;
		if bytes.len() as u64 > MAX_CONFIG_FILE_BYTES {
			return Err(format!(
				"config {}: larger than {} KiB, not a configuration file",
				path.display(),
				MAX_CONFIG_FILE_BYTES / 1024
			));
		}
		let text = String::from_utf8(bytes)
			.map_err(|_| format!("config {}: not UTF-8 text", path.display()))?;
		ConfigFile::parse(path, &text)
	}

	/// Splits `text`, read from `path`, into entries.
	pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, String> {
		let mut entries: Vec<Entry> = Vec::new();
		for (index, line) in text.lines().enumerate() {
			let number = index + 1;
			let line = line.trim();
			if line.is_empty() || line.starts_with('#') {
				continue;
			}
			// The line itself is not quoted back: it may hold a password.
			let malformed = || format!("{}:{number}: expected `name = value`", path.display());
			let (key, value) = line.split_once('=').ok_or_else(malformed)?;
			let key = key.trim();
			if key.is_empty() {
				return Err(malformed());
			}
			let name = option_name(key);
			if let Some(first) = entries.iter().find(|entry| entry.name == name) {
				return Err(format!(
					"{}:{number}: {key:?} is set twice (first on line {})",
					path.display(),
					first.line
				));
			}
			entries.push(Entry {
				line: number,
				key: key.to_string(),
				name,
				value: value.trim().to_string(),
			});
		}
		Ok(ConfigFile { path: path.to_path_buf(), entries })
	}

	/// `PATH:LINE`, the start of every message about an entry.
	pub fn at(&self, entry: &Entry) -> String {
		format!("{}:{}", self.path.display(), entry.line)
	}
}

/// A key as option names are spelled: lower case, words joined by `-` (`FEE_FLOOR` and
/// `fee-floor` are one key, as they were when the file was read into the environment).
pub fn option_name(key: &str) -> String {
	key.to_ascii_lowercase().replace('_', "-")
}
