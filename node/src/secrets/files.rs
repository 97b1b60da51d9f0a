//! The credentials clients hold (the API key, the LND surface's certificate, key and
//! macaroons, the Phoenixd passwords) mirrored, sealed, in the PostgreSQL store, so that a
//! standby that takes over answers the same credentials and merchant software configured
//! against the leader keeps working.
//!
//! Invariant: the database's copy wins. Before anything starts, [`restore_files`] writes each
//! sealed credential the database holds into the data directory (whole: temporary file,
//! fsync, rename, fsync of the directory), replacing a different local file; after the node
//! holds the store, [`Node::seal_files`] stores each local credential the database lacks. A
//! credential the database gained meanwhile, different from ours, is an error to start again
//! on, never silently two credentials.

use std::path::Path;

use lightning::util::persist::KVStore;

use super::{open, seal, SecretsKey, SECRETS_NAMESPACE};
use crate::{private_files, Node, NodeError};

/// The store key of the credential at `relative` (a path in the data directory): store keys
/// take letters, digits, `_` and `-` only.
pub fn entry_name(relative: &str) -> String {
	let mut name = String::from("file-");
	for c in relative.chars() {
		match c {
			'/' => name.push_str("--"),
			'.' => name.push('-'),
			c if c.is_ascii_alphanumeric() || c == '_' || c == '-' => name.push(c),
			_ => name.push('_'),
		}
	}
	name
}

/// Writes `bytes` to `path` whole and private, creating its directory (0700) if missing.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
	private_files::private_dir(path.parent().unwrap_or_else(|| Path::new(".")))?;
	private_files::write_whole(path, bytes)
}

/// The sealed entries of [`SECRETS_NAMESPACE`] in the database at `url`, read with one query
/// and no lease (reading changes nothing); none when the node's schema is not there yet.
async fn sealed_entries(url: &str) -> Result<Vec<(String, Vec<u8>)>, NodeError> {
	let config: tokio_postgres::Config = url
		.parse()
		.map_err(|e| NodeError::InvalidRequest(format!("the PostgreSQL URL is not valid: {e}")))?;
	let where_to = format!("{:?} database {:?}", config.get_hosts(), config.get_dbname());
	let unreachable =
		|e: tokio_postgres::Error| NodeError::Persistence(format!("PostgreSQL {where_to}: {e}"));
	let connecting = config.connect(tokio_postgres::NoTls);
	let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
		.await
		.map_err(|_| {
			NodeError::Persistence(format!("PostgreSQL {where_to}: no answer within 30 s"))
		})?
		.map_err(unreachable)?;
	let connection = tokio::spawn(connection);
	let query = "SELECT key, value FROM fulgur_kv \
		WHERE primary_namespace = $1 AND secondary_namespace = ''";
	let rows = match client.query(query, &[&SECRETS_NAMESPACE]).await {
		Ok(rows) => rows,
		Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => Vec::new(),
		Err(e) => return Err(unreachable(e)),
	};
	drop(client);
	let _ = connection.await;
	Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// How long [`restore_files`] waits for the database to answer.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Writes into `data_dir` every credential of `relatives` the database at `url` holds sealed
/// under `key`, where the local file is missing or different; answers how many it wrote.
pub async fn restore_files(
	url: &str, key: &SecretsKey, data_dir: &Path, relatives: &[&str],
) -> Result<usize, NodeError> {
	let entries = sealed_entries(url).await?;
	let mut written = 0;
	for relative in relatives {
		let name = entry_name(relative);
		let Some((_, sealed)) = entries.iter().find(|(entry, _)| *entry == name) else {
			continue;
		};
		let bytes = open(key, &name, sealed)?;
		let path = data_dir.join(relative);
		if std::fs::read(&path).ok().as_deref() == Some(&bytes[..]) {
			continue;
		}
		write_whole(&path, &bytes)
			.map_err(|e| NodeError::Persistence(format!("restoring {}: {e}", path.display())))?;
		written += 1;
	}
	Ok(written)
}

impl Node {
	/// Stores, sealed, each credential of `relatives` in `data_dir` the database lacks (see
	/// the module); answers how many it stored. Without a secrets key, or on another store,
	/// it does nothing: credentials stay files.
	pub async fn seal_files(
		&self, data_dir: &Path, relatives: &[&str],
	) -> Result<usize, NodeError> {
		let Some(key) = self.handles.secrets_key.as_ref() else { return Ok(0) };
		let store = &*self.handles.store;
		let mut stored = 0;
		for relative in relatives {
			let path = data_dir.join(relative);
			let local = match std::fs::read(&path) {
				Ok(bytes) => bytes,
				Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
				Err(e) => {
					return Err(NodeError::Persistence(format!("reading {}: {e}", path.display())))
				}
			};
			let name = entry_name(relative);
			match KVStore::read(store, SECRETS_NAMESPACE, "", &name).await {
				Ok(sealed) if open(key, &name, &sealed)? == local => {}
				Ok(_) => {
					return Err(NodeError::Persistence(format!(
						"{} differs from the database's copy, stored meanwhile by another node \
						 of this database: start again to take the database's",
						path.display()
					)))
				}
				Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => {
					let sealed = seal(key, &name, &local)?;
					KVStore::write(store, SECRETS_NAMESPACE, "", &name, sealed).await.map_err(
						|e| NodeError::Persistence(format!("storing {relative} sealed: {e}")),
					)?;
					stored += 1;
				}
				Err(e) => {
					return Err(NodeError::Persistence(format!("reading sealed {relative}: {e}")))
				}
			}
		}
		Ok(stored)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn entry_names_are_store_keys_and_distinct() {
		let names: Vec<String> =
			["api_key", "lnd/tls.key", "lnd/tls.cert", "phoenixd/limited-password"]
				.iter()
				.map(|r| entry_name(r))
				.collect();
		assert_eq!(names[1], "file-lnd--tls-key");
		for name in &names {
			assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
		}
		let mut unique = names.clone();
		unique.dedup();
		assert_eq!(unique.len(), names.len());
	}

	#[test]
	fn a_restored_file_is_whole_and_private() {
		use std::os::unix::fs::PermissionsExt;
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("lnd").join("tls.key");
		write_whole(&path, b"key").unwrap();
		assert_eq!(std::fs::read(&path).unwrap(), b"key");
		let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
		assert_eq!(mode, 0o600);
		write_whole(&path, b"other").unwrap();
		assert_eq!(std::fs::read(&path).unwrap(), b"other");
		assert!(!path.with_extension("tmp").exists());
	}
}
