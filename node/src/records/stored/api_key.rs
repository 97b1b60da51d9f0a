//! A scoped API key as stored in `fulgur_api_keys` (keyed by key id): the SHA-256 of its
//! secret, never the secret.
//!
//! Invariant: field for field what fulgur before record versions wrote (version 1: the key's
//! listing fields and `secret_sha256`, in one object), so both versions read with this
//! struct. The conversion lives with the key types, in `api_keys` (a layer above storage).

use serde::{Deserialize, Serialize};

use crate::records::version::StoredRecord;

/// The stored key, version 2.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredApiKey {
	pub(crate) id: String,
	pub(crate) scope: StoredScope,
	pub(crate) label: Option<String>,
	pub(crate) created_at: u64,
	/// SHA-256 of the secret, hex.
	pub(crate) secret_sha256: String,
}

/// What a stored key may do.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StoredScope {
	Admin,
	Invoice,
	Readonly,
}

impl StoredRecord for StoredApiKey {
	const VERSION: u32 = 2;
}
