//! `POST /v1/onchain/address`, `POST /v1/onchain/send`.

use fulgur_node::Node;
use serde::{Deserialize, Serialize};

use super::{blocking, Validate};
use crate::error::ApiError;

/// `POST /v1/onchain/address` body: empty or `{}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NewAddressRequest {}

impl Validate for NewAddressRequest {}

/// `POST /v1/onchain/address` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NewAddressResponse {
	/// A fresh receive address of the node's wallet.
	pub address: String,
}

/// `POST /v1/onchain/send` body.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SendOnchainRequest {
	/// Destination address.
	pub address: String,
	/// Amount to send; not zero.
	pub amount_sat: u64,
}

impl Validate for SendOnchainRequest {
	fn validate(&self) -> Result<(), ApiError> {
		if self.amount_sat == 0 {
			return Err(ApiError::invalid_amount("amount_sat must be greater than zero"));
		}
		Ok(())
	}
}

/// `POST /v1/onchain/send` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendOnchainResponse {
	/// The broadcast transaction.
	pub txid: String,
}

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
