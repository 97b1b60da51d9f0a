//! `POST /v1/offers`.

use fulgur_node::Node;
use serde::{Deserialize, Serialize};

use super::{blocking, Validate};
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
		if self.amount_msat == Some(0) {
			return Err(ApiError::invalid_amount(
				"amount_msat must be greater than zero; leave it out for any amount",
			));
		}
		Ok(())
	}
}

/// `POST /v1/offers` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CreateOfferResponse {
	/// The BOLT12 offer, `lno1...`.
	pub offer: String,
}

/// `POST /v1/offers`: creates a BOLT12 offer.
pub(crate) async fn handle_create_offer(
	node: Node, req: CreateOfferRequest,
) -> Result<CreateOfferResponse, ApiError> {
	let offer = blocking(move || Ok(node.create_offer(req.amount_msat, &req.description)?)).await?;
	Ok(CreateOfferResponse { offer })
}
