//! `POST /v1/decode`, `POST /v1/messages/sign`, `POST /v1/messages/verify`.

pub use fulgur_api::wire::utilities::{
	DecodeRequest, DecodedInvoice, SignMessageRequest, SignMessageResponse, VerifyMessageRequest,
	VerifyMessageResponse,
};
use fulgur_node::Node;

use crate::convert::ToWire;
use crate::error::ApiError;

/// `POST /v1/decode`: what an invoice or offer says; 400 when it is neither.
pub(crate) async fn handle_decode(
	node: Node, req: DecodeRequest,
) -> Result<DecodedInvoice, ApiError> {
	Ok(node.decode_invoice(&req.invoice)?.into_wire())
}

/// `POST /v1/messages/sign`: the message signed with the node's key.
pub(crate) async fn handle_sign_message(
	node: Node, req: SignMessageRequest,
) -> Result<SignMessageResponse, ApiError> {
	Ok(SignMessageResponse { signature: node.sign_message(req.message.as_bytes()) })
}

/// `POST /v1/messages/verify`: the signer, and whether it is a node we know; 400 when the
/// signature is not one.
pub(crate) async fn handle_verify_message(
	node: Node, req: VerifyMessageRequest,
) -> Result<VerifyMessageResponse, ApiError> {
	let (signer, known) = node.verify_message(req.message.as_bytes(), &req.signature)?;
	Ok(VerifyMessageResponse { valid: known, node_id: Some(signer.to_string()) })
}
