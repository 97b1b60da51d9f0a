//! `POST /v1/keys`, `GET /v1/keys`, `DELETE /v1/keys/{id}`: scoped API keys (admin only).
//!
//! The admin key file the node creates at first start is not listed and cannot be revoked
//! here; these are the extra keys, e.g. an `invoice` key for a shop's server.

pub use fulgur_api::wire::keys::{
	ApiKeyInfo, CreateKeyRequest, CreatedKey, ListKeysResponse, RevokeKeyRequest,
};
use fulgur_node::Node;

use super::{paginate, PageQuery};
use crate::convert::{node_scope, ToWire};
use crate::error::ApiError;

/// `POST /v1/keys`.
pub(crate) async fn handle_create_key(
	node: Node, req: CreateKeyRequest,
) -> Result<CreatedKey, ApiError> {
	let (key, secret) = node.create_api_key(node_scope(req.scope), req.label).await?;
	log_info!("API key {} ({}) created", key.id, key.scope.as_str());
	Ok(CreatedKey { key: key.into_wire(), secret })
}

/// `GET /v1/keys`.
pub(crate) async fn handle_list_keys(
	node: Node, req: PageQuery,
) -> Result<ListKeysResponse, ApiError> {
	let page = paginate(node.list_api_keys(), &req)?;
	Ok(ListKeysResponse {
		keys: page.items.into_wire(),
		total: page.total,
		next_cursor: page.next_cursor,
	})
}

/// `DELETE /v1/keys/{id}`.
pub(crate) async fn handle_revoke_key(
	node: Node, req: RevokeKeyRequest,
) -> Result<ApiKeyInfo, ApiError> {
	let key = node.revoke_api_key(&req.id).await?;
	log_info!("API key {} revoked", key.id);
	Ok(key.into_wire())
}
