//! Phoenixd's authentication: HTTP Basic with an empty user and one of two passwords, the full
//! one (everything: the node's `admin` scope) or the limited one (read and create invoices:
//! the `invoice` scope). Both live in the data dir, created on first start, mode 0600.
//!
//! Invariant: a request's access is decided from its `Authorization` header alone, before any
//! other part of it is read; the comparison takes the same time whichever byte differs.

use std::path::{Path, PathBuf};

use base64::Engine;
use fulgur_node::{constant_time_eq, ApiScope};

/// The longest `Authorization` header looked at; longer ones are refused unread.
const MAX_AUTHORIZATION_LEN: usize = 512;

/// The two passwords of the surface.
#[derive(Clone)]
pub struct Passwords {
	/// Full access.
	pub full: String,
	/// Invoice creation and reads.
	pub limited: String,
}

impl std::fmt::Debug for Passwords {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str("Passwords(..)")
	}
}

/// `DATA_DIR/phoenixd/password`.
pub fn password_path(data_dir: &Path) -> PathBuf {
	data_dir.join("phoenixd").join("password")
}

/// `DATA_DIR/phoenixd/limited-password`.
pub fn limited_password_path(data_dir: &Path) -> PathBuf {
	data_dir.join("phoenixd").join("limited-password")
}

impl Passwords {
	/// Reads both passwords from the data dir, creating each (random, 0600) when missing.
	pub fn load_or_create(data_dir: &Path) -> std::io::Result<Passwords> {
		Ok(Passwords {
			full: fulgur_web::load_or_create_api_key(&password_path(data_dir))?,
			limited: fulgur_web::load_or_create_api_key(&limited_password_path(data_dir))?,
		})
	}

	/// The scope the header `authorization` grants, or `None` (refused). The scheme's letter
	/// case is free, as in HTTP; the user must be empty.
	pub fn scope_of(&self, authorization: Option<&[u8]>) -> Option<ApiScope> {
		let header = authorization.filter(|h| h.len() <= MAX_AUTHORIZATION_LEN)?;
		let header = std::str::from_utf8(header).ok()?;
		let (scheme, credentials) = header.trim().split_once(' ')?;
		if !scheme.eq_ignore_ascii_case("basic") {
			return None;
		}
		let decoded = base64::engine::general_purpose::STANDARD.decode(credentials.trim()).ok()?;
		let password = decoded.strip_prefix(b":")?;
		// Both compared, always: which password matched does not show in the time taken.
		let full = constant_time_eq(password, self.full.as_bytes());
		let limited = constant_time_eq(password, self.limited.as_bytes());
		match (full, limited) {
			(true, _) => Some(ApiScope::Admin),
			(false, true) => Some(ApiScope::Invoice),
			(false, false) => None,
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn basic(user_and_password: &str) -> Vec<u8> {
		let encoded = base64::engine::general_purpose::STANDARD.encode(user_and_password);
		format!("Basic {encoded}").into_bytes()
	}

	#[test]
	fn full_and_limited_passwords_map_to_scopes() {
		let passwords = Passwords { full: "f".repeat(64), limited: "l".repeat(64) };
		let full = basic(&format!(":{}", passwords.full));
		let limited = basic(&format!(":{}", passwords.limited));
		assert_eq!(passwords.scope_of(Some(&full)), Some(ApiScope::Admin));
		assert_eq!(passwords.scope_of(Some(&limited)), Some(ApiScope::Invoice));
		let lower = String::from_utf8(full.clone()).unwrap().replace("Basic", "basic");
		assert_eq!(passwords.scope_of(Some(lower.as_bytes())), Some(ApiScope::Admin));
	}

	#[test]
	fn anything_else_is_refused() {
		let passwords = Passwords { full: "f".repeat(64), limited: "l".repeat(64) };
		let with_user = basic(&format!("admin:{}", passwords.full));
		let bearer = format!("Bearer {}", passwords.full).into_bytes();
		let huge = basic(&format!(":{}", "f".repeat(MAX_AUTHORIZATION_LEN)));
		for refused in [
			None,
			Some(&b""[..]),
			Some(&b"Basic"[..]),
			Some(&b"Basic !!!"[..]),
			Some(&b"\xff\xfe"[..]),
			Some(&with_user[..]),
			Some(&bearer[..]),
			Some(&basic(":")[..]),
			Some(&basic(&format!(":{}x", passwords.full))[..]),
			Some(&huge[..]),
		] {
			assert_eq!(passwords.scope_of(refused), None, "{refused:?}");
		}
	}

	#[test]
	fn passwords_are_created_private_and_kept() {
		use std::os::unix::fs::PermissionsExt;
		let dir = tempfile::tempdir().unwrap();
		let first = Passwords::load_or_create(dir.path()).unwrap();
		assert_ne!(first.full, first.limited);
		for path in [password_path(dir.path()), limited_password_path(dir.path())] {
			let mode = std::fs::metadata(&path).unwrap().permissions().mode();
			assert_eq!(mode & 0o777, 0o600, "{}", path.display());
		}
		let again = Passwords::load_or_create(dir.path()).unwrap();
		assert_eq!((again.full, again.limited), (first.full, first.limited));
	}
}
