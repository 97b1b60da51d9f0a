//! `POST /v1/keys`, `GET /v1/keys`, `DELETE /v1/keys/{id}`: scoped API keys (admin only), and
//! the scopes themselves.
//!
//! The admin key file the node creates at first start is not listed and cannot be revoked
//! here; these are the extra keys, e.g. an `invoice` key for a shop's server.

use serde::{Deserialize, Serialize};

use super::Validate;

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
	/// Every scope.
	pub const ALL: [ApiScope; 3] = [ApiScope::Admin, ApiScope::Invoice, ApiScope::Readonly];

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

/// `POST /v1/keys` body.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
	/// `admin`, `invoice` or `readonly`.
	pub scope: ApiScope,
	/// A name to recognise the key by (at most 64 characters).
	#[serde(default)]
	pub label: Option<String>,
}

impl Validate for CreateKeyRequest {}

/// `POST /v1/keys` answer: the key and its secret, which is shown only this once.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CreatedKey {
	/// The key.
	#[serde(flatten)]
	pub key: ApiKeyInfo,
	/// Send as `Authorization: Bearer <secret>`.
	pub secret: String,
}

/// `GET /v1/keys` answer: one page, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListKeysResponse {
	/// This page.
	pub keys: Vec<ApiKeyInfo>,
	/// Keys in all pages.
	pub total: usize,
	/// Pass as `cursor` for the next page; `null` on the last page.
	pub next_cursor: Option<String>,
}

/// `DELETE /v1/keys/{id}` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeKeyRequest {
	/// The key's id.
	pub id: String,
}
