//! The LND surface's files in the data dir (`lnd/`): written once, private (0600 in a 0700
//! directory), each complete on disk before it is used (written to a temporary name, synced,
//! then renamed), so a crash never leaves half a key or certificate behind.

use std::io;
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
	private_files::write_whole(path, bytes)
}
