//! `POST /v1/onchain/address`, `POST /v1/onchain/send`.

use serde::{Deserialize, Serialize};

use super::Validate;
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
		super::nonzero(Some(self.amount_sat), "amount_sat must be greater than zero")
	}
}

/// `POST /v1/onchain/send` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendOnchainResponse {
	/// The broadcast transaction.
	pub txid: String,
}
