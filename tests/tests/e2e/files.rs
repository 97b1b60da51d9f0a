//! The node's files are its own: after a start, payments' worth of writes and a stop, every
//! directory in the data directory is 0700 and every file 0600.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use fulgur_tests::TestNet;

/// Every entry under `root` whose mode lets anyone but the owner in.
fn readable_by_others(root: &Path, found: &mut Vec<String>) {
	for entry in std::fs::read_dir(root).expect("read dir").flatten() {
		let path = entry.path();
		let meta = std::fs::symlink_metadata(&path).expect("metadata");
		let mode = meta.permissions().mode() & 0o777;
		let wanted = if meta.is_dir() { 0o700 } else { 0o600 };
		if !meta.file_type().is_symlink() && mode != wanted {
			found.push(format!("{} {mode:o}", path.display()));
		}
		if meta.is_dir() {
			readable_by_others(&path, found);
		}
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_data_directory_is_private() {
	let mut net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("alice", "bob", 500_000, 100_000_000).await;
	net.restart("alice").await;
	let data_dir = net.node("alice").data_dir.clone();
	assert!(data_dir.join("seed").is_file(), "no seed in {}", data_dir.display());
	let mode = std::fs::metadata(&data_dir).expect("data dir").permissions().mode() & 0o777;
	assert_eq!(mode, 0o700, "{}", data_dir.display());
	let mut open = Vec::new();
	readable_by_others(&data_dir, &mut open);
	assert!(open.is_empty(), "not private: {open:#?}");
	net.shutdown().await;
}
