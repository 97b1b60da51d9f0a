//! The LND surface's files in the data dir (`lnd/`): written once, private (0600 in a 0700
//! directory), each complete on disk before it is used (written to a temporary name, synced,
//! then renamed), so a crash never leaves half a key or certificate behind.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use fulgur_node::private_files;

/// The surface's directory in `data_dir`, created private if missing.
pub fn lnd_dir(data_dir: &Path) -> io::Result<PathBuf> {
	let dir = data_dir.join("lnd");
	private_files::private_dir(&dir)?;
	Ok(dir)
}

/// Writes `bytes` to `path` whole (temporary file, fsync, rename, fsync of the directory).
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
	let tmp = path.with_extension("tmp");
	let mut file = fs::OpenOptions::new()
		.write(true)
		.create(true)
		.truncate(true)
		.mode(private_files::FILE_MODE)
		.open(&tmp)?;
	file.write_all(bytes)?;
	file.sync_all()?;
	fs::rename(&tmp, path)?;
	if let Some(dir) = path.parent() {
		private_files::sync_dir(dir)?;
	}
	Ok(())
}
