//! Scoped API keys beyond the admin key file: created and revoked through the API, stored
//! durably in the node's store as the SHA-256 of the secret (the secret itself is shown once,
//! at creation, and kept nowhere).

use std::sync::Arc;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
use serde::{Deserialize, Serialize};

use crate::records::stored::api_key::{StoredApiKey, StoredScope};
use crate::records::{Record, RecordStore};
use crate::store::DynStore;
use crate::NodeError;

/// Namespace of the key records.
const NAMESPACE: &str = "fulgur_api_keys";
/// Random bytes in a secret (hex: 64 characters, like the admin key).
const SECRET_BYTES: usize = 32;
/// Random bytes in a key id.
const ID_BYTES: usize = 8;
/// Longest label.
pub const MAX_LABEL_LEN: usize = 64;

/// What a key may do.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum ApiScope {
	/// Everything.
	Admin,
	/// Create and read invoices, read events: what a shop's server needs.
	Invoice,
	/// Read everything but keys and webhooks; change nothing.
	Readonly,
}

impl ApiScope {
	/// `admin`, `invoice` or `readonly`.
	pub fn as_str(&self) -> &'static str {
		match self {
			ApiScope::Admin => "admin",
			ApiScope::Invoice => "invoice",
			ApiScope::Readonly => "readonly",
		}
	}
}

impl std::str::FromStr for ApiScope {
	type Err = String;
	fn from_str(s: &str) -> Result<Self, Self::Err> {
		match s {
			"admin" => Ok(ApiScope::Admin),
			"invoice" => Ok(ApiScope::Invoice),
			"readonly" => Ok(ApiScope::Readonly),
			other => Err(format!("unknown scope {other:?}: admin, invoice or readonly")),
		}
	}
}

/// A key as listed: everything but the secret.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApiKeyInfo {
	/// The key's id (hex), used to revoke it.
	pub id: String,
	/// What it may do.
	pub scope: ApiScope,
	/// A name to recognise it by.
	pub label: Option<String>,
	/// Creation time (UNIX seconds).
	pub created_at: u64,
}

/// A key as the node keeps it: its listing and the hash of its secret.
#[derive(Clone, Debug)]
struct KeyRecord {
	info: ApiKeyInfo,
	/// SHA-256 of the secret, hex.
	secret_sha256: String,
}

impl Record for KeyRecord {
	type Stored = StoredApiKey;

	fn to_stored(&self) -> StoredApiKey {
		let KeyRecord { info: ApiKeyInfo { id, scope, label, created_at }, secret_sha256 } =
			self.clone();
		let scope = match scope {
			ApiScope::Admin => StoredScope::Admin,
			ApiScope::Invoice => StoredScope::Invoice,
			ApiScope::Readonly => StoredScope::Readonly,
		};
		StoredApiKey { id, scope, label, created_at, secret_sha256 }
	}

	fn from_stored(stored: StoredApiKey) -> KeyRecord {
		let StoredApiKey { id, scope, label, created_at, secret_sha256 } = stored;
		let scope = match scope {
			StoredScope::Admin => ApiScope::Admin,
			StoredScope::Invoice => ApiScope::Invoice,
			StoredScope::Readonly => ApiScope::Readonly,
		};
		KeyRecord { info: ApiKeyInfo { id, scope, label, created_at }, secret_sha256 }
	}
}

/// The node's scoped keys.
pub struct ApiKeys {
	records: Arc<RecordStore<KeyRecord>>,
}

impl ApiKeys {
	/// Loads the keys (migrating them, see `records`). Blocking: call at start-up.
	pub async fn load(store: Arc<DynStore>) -> Result<ApiKeys, NodeError> {
		Ok(ApiKeys { records: RecordStore::load(store, NAMESPACE).await? })
	}

	/// Creates a key; returns it and its secret, which is not stored and cannot be shown again.
	pub async fn create(
		&self, scope: ApiScope, label: Option<String>,
	) -> Result<(ApiKeyInfo, String), NodeError> {
		let label = label.map(|l| l.trim().to_string()).filter(|l| !l.is_empty());
		if let Some(label) = &label {
			if label.chars().count() > MAX_LABEL_LEN || label.chars().any(char::is_control) {
				return Err(NodeError::InvalidRequest(format!(
					"label must be at most {MAX_LABEL_LEN} printable characters"
				)));
			}
		}
		let secret = rand::random::<[u8; SECRET_BYTES]>().to_lower_hex_string();
		let id = rand::random::<[u8; ID_BYTES]>().to_lower_hex_string();
		let info = ApiKeyInfo { id, scope, label, created_at: fulgur_base::clock::unix_now() };
		let stored = KeyRecord { info: info.clone(), secret_sha256: hash(&secret) };
		self.records.put(&info.id, stored).await?;
		Ok((info, secret))
	}

	/// Every key, newest first.
	pub fn list(&self) -> Vec<ApiKeyInfo> {
		let mut all: Vec<ApiKeyInfo> = self.records.all().into_iter().map(|k| k.info).collect();
		all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
		all
	}

	/// Revokes a key: from the moment this returns, it is refused.
	pub async fn revoke(&self, id: &str) -> Result<ApiKeyInfo, NodeError> {
		let id = id.trim().to_ascii_lowercase();
		let key =
			self.records.get(&id).ok_or_else(|| NodeError::NotFound(format!("no key {id}")))?;
		self.records.remove(&id).await?;
		Ok(key.info)
	}

	/// Whether key `id` exists (was created and not revoked).
	pub fn exists(&self, id: &str) -> bool {
		self.records.get(id).is_some()
	}

	/// The key whose secret this is, if any. Compares hashes in constant time.
	pub fn authenticate(&self, secret: &str) -> Option<ApiKeyInfo> {
		let presented = hash(secret.trim());
		let mut found = None;
		for key in self.records.all() {
			if constant_time_eq(key.secret_sha256.as_bytes(), presented.as_bytes()) {
				found = Some(key.info);
			}
		}
		found
	}
}

fn hash(secret: &str) -> String {
	sha256::Hash::hash(secret.as_bytes()).to_byte_array().to_lower_hex_string()
}

/// Compares without stopping at the first difference: only the length leaks, and every
/// generated key (and key hash) has the same length.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
	if a.len() != b.len() {
		return false;
	}
	let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
	std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::SledStore;

	#[tokio::test]
	async fn keys_authenticate_until_revoked_and_survive_restart() {
		let dir = tempfile::tempdir().expect("tempdir");
		let (shop, secret) = {
			let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("open"));
			let keys = ApiKeys::load(store).await.expect("load");
			let (shop, secret) =
				keys.create(ApiScope::Invoice, Some("shop".into())).await.expect("create");
			assert_eq!(secret.len(), 64);
			assert_eq!(keys.authenticate(&secret), Some(shop.clone()));
			assert_eq!(keys.authenticate("nope"), None);
			let bad = keys.create(ApiScope::Readonly, Some("x".repeat(65))).await;
			assert_eq!(bad.map_err(|e| e.code()).err(), Some("invalid_request"));
			(shop, secret)
		};
		let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("reopen"));
		let keys = ApiKeys::load(store).await.expect("load");
		assert_eq!(keys.list(), vec![shop.clone()]);
		assert_eq!(keys.authenticate(&secret).map(|k| k.scope), Some(ApiScope::Invoice));
		// Only the hash of the secret is stored.
		let stored = format!("{:?}", keys.records.all());
		assert!(stored.contains(&hash(&secret)) && !stored.contains(&secret));
		assert!(keys.exists(&shop.id));
		keys.revoke(&shop.id).await.expect("revoke");
		assert_eq!(keys.authenticate(&secret), None);
		assert!(!keys.exists(&shop.id));
		assert_eq!(keys.revoke(&shop.id).await.map_err(|e| e.code()).err(), Some("not_found"));
	}
}
