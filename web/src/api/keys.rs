//! `POST /v1/keys`, `GET /v1/keys`, `DELETE /v1/keys/{id}`: scoped API keys (admin only).
//!
//! The admin key file the node creates at first start is not listed and cannot be revoked
//! here; these are the extra keys, e.g. an `invoice` key for a shop's server.

use fulgur_node::{ApiKeyInfo, ApiScope, Node};
use serde::{Deserialize, Serialize};

use super::{paginate, PageQuery, Validate};
use crate::error::ApiError;

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

/// `POST /v1/keys`.
pub(crate) async fn handle_create_key(
	node: Node, req: CreateKeyRequest,
) -> Result<CreatedKey, ApiError> {
	let (key, secret) = node.create_api_key(req.scope, req.label).await?;
	log_info!("API key {} ({}) created", key.id, key.scope.as_str());
	Ok(CreatedKey { key, secret })
}

/// `GET /v1/keys`.
pub(crate) async fn handle_list_keys(
	node: Node, req: PageQuery,
) -> Result<ListKeysResponse, ApiError> {
	let page = paginate(node.list_api_keys(), &req)?;
	Ok(ListKeysResponse { keys: page.items, total: page.total, next_cursor: page.next_cursor })
}

/// `DELETE /v1/keys/{id}`.
pub(crate) async fn handle_revoke_key(
	node: Node, req: RevokeKeyRequest,
) -> Result<ApiKeyInfo, ApiError> {
	let key = node.revoke_api_key(&req.id).await?;
	log_info!("API key {} revoked", key.id);
	Ok(key)
}
