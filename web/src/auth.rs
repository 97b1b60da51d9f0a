//! API keys: the admin key file, and the filter that finds the scope of the key in
//! `Authorization: Bearer <key>` (the admin key, or one of the node's scoped keys).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fulgur_node::{constant_time_eq, ApiKeyInfo, ApiScope};
use rand::RngCore;
use warp::{Filter, Rejection};

use crate::error::ApiError;

/// Random bytes in a generated key (hex-encoded in the file: 64 characters).
const API_KEY_BYTES: usize = 32;

/// Reads the API key from `path`, or creates the file with a new random key.
///
/// A new key is 32 random bytes from the OS, hex-encoded. The file is created with mode
/// 0600 from the start (never readable by others, not even briefly), written and synced
/// under a temporary name, then linked into place, so a crash never leaves an empty or
/// partial key file and two concurrent callers end up with the same key. Missing parent
/// directories are created with mode 0700.
///
/// Errors: the file exists but is empty or unreadable, or it cannot be created.
/// An existing file readable by group or others is used, with a warning on stderr.
pub fn load_or_create_api_key(path: &Path) -> io::Result<String> {
	match read_api_key(path) {
		Err(e) if e.kind() == io::ErrorKind::NotFound => {}
		other => return other,
	}
	if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
		fs::DirBuilder::new().recursive(true).mode(0o700).create(parent)?;
	}
	let key = generate_api_key();
	let tmp = temporary_path(path);
	let written = write_new_file(&tmp, format!("{key}\n").as_bytes());
	let linked = written.and_then(|()| fs::hard_link(&tmp, path));
	// The temporary name is only a staging area: remove it whatever happened.
	let _ = fs::remove_file(&tmp);
	match linked {
		Ok(()) => {
			sync_parent_dir(path)?;
			log_info!("created API key file {}", path.display());
			Ok(key)
		}
		// Someone else created it meanwhile: theirs wins.
		Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read_api_key(path),
		Err(e) => Err(e),
	}
}

/// Reads and checks an existing key file.
fn read_api_key(path: &Path) -> io::Result<String> {
	let contents = fs::read_to_string(path)?;
	let key = contents.trim();
	if key.is_empty() || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
		return Err(io::Error::new(
			io::ErrorKind::InvalidData,
			format!("API key file {} must hold one key on one line", path.display()),
		));
	}
	let mode = fs::metadata(path)?.permissions().mode();
	if mode & 0o077 != 0 {
		log_warn!(
			"API key file {} is accessible by other users (mode {:o}); chmod 600 it",
			path.display(),
			mode & 0o777
		);
	}
	Ok(key.to_owned())
}

fn generate_api_key() -> String {
	let mut bytes = [0u8; API_KEY_BYTES];
	rand::rngs::OsRng.fill_bytes(&mut bytes);
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn temporary_path(path: &Path) -> PathBuf {
	let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
	name.push(format!(".tmp-{:016x}", rand::rngs::OsRng.next_u64()));
	path.with_file_name(name)
}

/// Creates `path` (which must not exist) with mode 0600, writes `data` and syncs it.
fn write_new_file(path: &Path, data: &[u8]) -> io::Result<()> {
	let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
	file.write_all(data)?;
	file.sync_all()
}

fn sync_parent_dir(path: &Path) -> io::Result<()> {
	let parent = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
		Some(parent) => parent,
		None => Path::new("."),
	};
	fs::File::open(parent)?.sync_all()
}

/// Finds a key that is not the admin key by its secret.
type ScopeLookup = dyn Fn(&str) -> Option<ApiKeyInfo> + Send + Sync;

/// Who sent a request: the scope of its key, and which key it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Caller {
	/// What the key may do.
	pub scope: ApiScope,
	/// The id of a scoped key (which can be revoked); `None` for the admin key file's.
	pub key_id: Option<String>,
}

impl Caller {
	/// Whether the key is still good: the admin key always is, a scoped key until revoked.
	/// What long-lived answers (event streams) ask again while they run.
	pub(crate) fn still_valid(&self, node: &fulgur_node::Node) -> bool {
		self.key_id.as_deref().is_none_or(|id| node.api_key_exists(id))
	}
}

/// Who may use the API: the admin key (from the key file) and the node's scoped keys.
#[derive(Clone)]
pub(crate) struct Keys {
	admin: Arc<str>,
	scoped: Arc<ScopeLookup>,
}

impl Keys {
	/// The admin key and the scoped keys `scoped` knows.
	pub(crate) fn new(
		admin: Arc<str>, scoped: impl Fn(&str) -> Option<ApiKeyInfo> + Send + Sync + 'static,
	) -> Keys {
		Keys { admin, scoped: Arc::new(scoped) }
	}

	/// Who holds `token`, or `None` for an unknown one.
	fn caller(&self, token: &str) -> Option<Caller> {
		if constant_time_eq(token.as_bytes(), self.admin.as_bytes()) {
			return Some(Caller { scope: ApiScope::Admin, key_id: None });
		}
		(self.scoped)(token).map(|key| Caller { scope: key.scope, key_id: Some(key.id) })
	}
}

/// A filter that extracts who holds the key in `Authorization: Bearer <key>` and rejects
/// requests without a known key with 401 `unauthorized`.
pub(crate) fn authenticate(
	keys: Keys,
) -> impl Filter<Extract = (Caller,), Error = Rejection> + Clone {
	warp::header::optional::<String>("authorization")
		// A header that is not valid text counts as missing.
		.or(warp::any().map(|| None))
		.unify()
		.and_then(move |header: Option<String>| {
			let keys = keys.clone();
			async move { check_authorization(&keys, header.as_deref()).map_err(warp::reject::custom) }
		})
}

/// Who holds the key in an `Authorization` header value.
fn check_authorization(keys: &Keys, header: Option<&str>) -> Result<Caller, ApiError> {
	let header = header.ok_or_else(|| {
		ApiError::unauthorized("missing API key: send the header `Authorization: Bearer <key>`")
	})?;
	let token = match header.trim().split_once(' ') {
		Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
		_ => return Err(ApiError::unauthorized("the Authorization header must be `Bearer <key>`")),
	};
	if token.is_empty() {
		return Err(ApiError::unauthorized("invalid API key"));
	}
	keys.caller(token).ok_or_else(|| ApiError::unauthorized("invalid API key"))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn checks_bearer_tokens() {
		let shop =
			ApiKeyInfo { id: "5h".into(), scope: ApiScope::Invoice, label: None, created_at: 1 };
		let keys = Keys::new(Arc::from("k3y"), move |t| (t == "sh0p").then(|| shop.clone()));
		let scope = |header| check_authorization(&keys, Some(header)).unwrap().scope;
		assert_eq!(scope("Bearer k3y"), ApiScope::Admin);
		assert_eq!(scope("bearer  k3y "), ApiScope::Admin);
		assert_eq!(scope("Bearer sh0p"), ApiScope::Invoice);
		let shop = check_authorization(&keys, Some("Bearer sh0p")).unwrap();
		assert_eq!(shop.key_id.as_deref(), Some("5h"));
		assert_eq!(check_authorization(&keys, Some("Bearer k3y")).unwrap().key_id, None);
		for bad in [
			None,
			Some(""),
			Some("k3y"),
			Some("Basic k3y"),
			Some("Bearer k3z"),
			Some("Bearer"),
			Some("Bearer  "),
		] {
			let e = check_authorization(&keys, bad).unwrap_err();
			assert_eq!(e.code(), "unauthorized", "{bad:?}");
		}
	}

	#[test]
	fn constant_time_eq_compares() {
		assert!(constant_time_eq(b"abc", b"abc"));
		assert!(!constant_time_eq(b"abc", b"abd"));
		assert!(!constant_time_eq(b"abc", b"abcd"));
		assert!(constant_time_eq(b"", b""));
	}

	#[test]
	fn key_file_is_private_and_stable() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("sub").join("api_key");
		let key = load_or_create_api_key(&path).unwrap();
		assert_eq!(key.len(), 2 * API_KEY_BYTES);
		assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
		let mode = fs::metadata(&path).unwrap().permissions().mode();
		assert_eq!(mode & 0o777, 0o600);
		let dir_mode = fs::metadata(path.parent().unwrap()).unwrap().permissions().mode();
		assert_eq!(dir_mode & 0o777, 0o700);
		assert_eq!(load_or_create_api_key(&path).unwrap(), key);
		assert_eq!(fs::read_to_string(&path).unwrap(), format!("{key}\n"));
		// No staging file left behind.
		assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
		// Another file, another key.
		let other = load_or_create_api_key(&dir.path().join("other_key")).unwrap();
		assert_ne!(other, key);
	}

	#[test]
	fn empty_key_file_is_an_error() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("api_key");
		fs::write(&path, "\n").unwrap();
		let e = load_or_create_api_key(&path).unwrap_err();
		assert_eq!(e.kind(), io::ErrorKind::InvalidData);
	}
}
