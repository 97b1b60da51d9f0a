//! `POST /v1/offers`.

pub use fulgur_api::wire::offers::{CreateOfferRequest, CreateOfferResponse};
use fulgur_node::Node;

use super::blocking;
use crate::error::ApiError;

/// `POST /v1/offers`: creates a BOLT12 offer.
pub(crate) async fn handle_create_offer(
	node: Node, req: CreateOfferRequest,
) -> Result<CreateOfferResponse, ApiError> {
	let offer = blocking(move || Ok(node.create_offer(req.amount_msat, &req.description)?)).await?;
	Ok(CreateOfferResponse { offer })
}
