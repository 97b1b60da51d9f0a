//! `POST /v1/onchain/address`, `POST /v1/onchain/send`.

pub use fulgur_api::wire::onchain::{
	NewAddressRequest, NewAddressResponse, SendOnchainRequest, SendOnchainResponse,
};
use fulgur_node::Node;

use super::blocking;
use crate::error::ApiError;

/// `POST /v1/onchain/address`: a fresh on-chain receive address.
pub(crate) async fn handle_new_address(
	node: Node, _req: NewAddressRequest,
) -> Result<NewAddressResponse, ApiError> {
	let address = blocking(move || Ok(node.new_onchain_address()?)).await?;
	Ok(NewAddressResponse { address })
}

/// `POST /v1/onchain/send`: sends on-chain, answers with the txid once broadcast.
pub(crate) async fn handle_send_onchain(
	node: Node, req: SendOnchainRequest,
) -> Result<SendOnchainResponse, ApiError> {
	let txid = node.send_onchain(&req.address, req.amount_sat).await?;
	Ok(SendOnchainResponse { txid })
}
