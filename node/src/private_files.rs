//! The node's files are its own: the data directory and every directory in it are 0700,
//! every file 0600 (the seed, the store, the log, API keys, webhook secrets in the store).
//!
//! At start the node makes its process create private files from then on (umask 077: sled
//! creates files of its own at any time), creates the data directory 0700, and tightens what
//! an older version or an operator left readable. The seed's directory is fsynced after the
//! seed is created, so the seed's name survives a crash along with its contents.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// Mode of every directory the node keeps.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file the node keeps.
pub const FILE_MODE: u32 = 0o600;

/// Files this process creates from now on are readable by its user only.
pub fn restrict_new_files() {
	// SAFETY: umask only swaps the process's file mode creation mask; it cannot fail.
	unsafe {
		libc::umask(0o077);
	}
}

/// Creates `path` (and missing parents) with mode 0700, or tightens an existing one.
pub fn private_dir(path: &Path) -> io::Result<()> {
	fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(path)?;
	set_mode(path, DIR_MODE)
}

/// Tightens every directory under `root` to 0700 and every file to 0600; returns how many
/// needed it. Symbolic links are left alone (their targets are not ours to change).
pub fn privatize_tree(root: &Path) -> io::Result<usize> {
	let mut changed = 0;
	for entry in fs::read_dir(root)? {
		let entry = entry?;
		let kind = entry.file_type()?;
		let path = entry.path();
		if kind.is_dir() {
			changed += usize::from(tighten(&path, DIR_MODE)?);
			changed += privatize_tree(&path)?;
		} else if kind.is_file() {
			changed += usize::from(tighten(&path, FILE_MODE)?);
		}
	}
	Ok(changed)
}

/// Makes a new entry in `dir` durable: fsyncs the directory itself.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
	fs::File::open(dir)?.sync_all()
}

fn tighten(path: &Path, mode: u32) -> io::Result<bool> {
	let current = fs::metadata(path)?.permissions().mode() & 0o777;
	if current & !mode == 0 {
		return Ok(false);
	}
	set_mode(path, mode)?;
	Ok(true)
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
	fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// Writes `bytes` to `path` whole and private: a temporary file (0600) written and fsynced,
/// renamed over `path`, then the directory fsynced, so a crash leaves the old file or the new
/// one, never half of one.
pub fn write_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
	use std::io::Write;
	use std::os::unix::fs::OpenOptionsExt;
	let tmp = path.with_extension("tmp");
	let mut file = fs::OpenOptions::new()
		.write(true)
		.create(true)
		.truncate(true)
		.mode(FILE_MODE)
		.open(&tmp)?;
	file.write_all(bytes)?;
	file.sync_all()?;
	fs::rename(&tmp, path)?;
	if let Some(dir) = path.parent() {
		sync_dir(dir)?;
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	fn mode(path: &Path) -> u32 {
		fs::metadata(path).expect("metadata").permissions().mode() & 0o777
	}

	#[test]
	fn tightens_what_others_could_read() {
		let dir = tempfile::tempdir().expect("tempdir");
		let data = dir.path().join("data");
		fs::create_dir_all(data.join("db")).expect("mkdir");
		fs::write(data.join("db").join("conf"), b"x").expect("write");
		fs::write(data.join("fulgur.log"), b"x").expect("write");
		set_mode(&data.join("db"), 0o755).expect("chmod");
		set_mode(&data.join("fulgur.log"), 0o644).expect("chmod");
		set_mode(&data.join("db").join("conf"), 0o600).expect("chmod");
		private_dir(&data).expect("private");
		assert_eq!(privatize_tree(&data).expect("privatize"), 2);
		assert_eq!(mode(&data), 0o700);
		assert_eq!(mode(&data.join("db")), 0o700);
		assert_eq!(mode(&data.join("fulgur.log")), 0o600);
		assert_eq!(mode(&data.join("db").join("conf")), 0o600);
		assert_eq!(privatize_tree(&data).expect("again"), 0);
	}
}
