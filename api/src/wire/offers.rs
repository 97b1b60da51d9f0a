//! `POST /v1/offers`.

use serde::{Deserialize, Serialize};

use super::Validate;
use crate::error::ApiError;

/// `POST /v1/offers` body.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CreateOfferRequest {
	/// Amount per payment; absent for "any amount" (zero is refused).
	#[serde(default)]
	pub amount_msat: Option<u64>,
	/// Description shown to the payer.
	pub description: String,
}

impl Validate for CreateOfferRequest {
	fn validate(&self) -> Result<(), ApiError> {
		super::nonzero(
			self.amount_msat,
			"amount_msat must be greater than zero; leave it out for any amount",
		)
	}
}

/// `POST /v1/offers` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CreateOfferResponse {
	/// The BOLT12 offer, `lno1...`.
	pub offer: String,
}
