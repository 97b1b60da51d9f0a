//! `POST /v1/decode`, `POST /v1/messages/sign`, `POST /v1/messages/verify`.

use serde::{Deserialize, Serialize};

use super::Validate;
use crate::error::ApiError;

/// Longest text `POST /v1/decode` reads (BOLT11 invoices with many route hints stay far
/// below it).
pub const MAX_DECODE_LEN: usize = 8192;
/// Longest message `POST /v1/messages/sign` and `verify` take.
pub const MAX_MESSAGE_LEN: usize = 65_536;

/// `POST /v1/decode` body.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DecodeRequest {
	/// A BOLT11 invoice or a BOLT12 offer (an optional `lightning:` prefix is ignored).
	pub invoice: String,
}

impl Validate for DecodeRequest {
	fn validate(&self) -> Result<(), ApiError> {
		if self.invoice.trim().is_empty() {
			return Err(ApiError::invalid_request("invoice is empty"));
		}
		if self.invoice.len() > MAX_DECODE_LEN {
			return Err(ApiError::invalid_request(format!(
				"invoice is longer than {MAX_DECODE_LEN} characters"
			)));
		}
		Ok(())
	}
}

/// One hop of a BOLT11 route hint: the channel into the payee's side.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RouteHintHop {
	/// The node at the start of the channel.
	pub node_id: String,
	/// Short channel id `block x tx x output`.
	pub short_channel_id: String,
	/// Base fee of the hop.
	pub fee_base_msat: u32,
	/// Proportional fee, in millionths.
	pub fee_ppm: u32,
	/// CLTV delta of the hop.
	pub cltv_expiry_delta: u16,
}

/// `POST /v1/decode` answer: what the invoice or offer says.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DecodedInvoice {
	/// `bolt11` or `bolt12_offer`.
	pub kind: String,
	/// The chain it is for: `bitcoin`, `testnet`, `signet`, `regtest`.
	pub network: String,
	/// Who is paid: the invoice's payee, or the offer's signing key (absent for an offer
	/// reached through blinded paths alone).
	pub payee: Option<String>,
	/// Amount asked; `null` for an amountless invoice or offer (or one in a fiat currency,
	/// see `currency`).
	pub amount_msat: Option<u64>,
	/// An offer's amount in a currency other than bitcoin: the ISO 4217 code.
	pub currency: Option<String>,
	/// The description, when it is given in clear.
	pub description: Option<String>,
	/// The hash of the description, for invoices committing to one.
	pub description_hash: Option<String>,
	/// When the invoice was created (UNIX seconds); `null` for offers.
	pub created_at: Option<u64>,
	/// How long after creation it may be paid, in seconds; `null` when it does not expire.
	pub expiry_secs: Option<u64>,
	/// When it expires (UNIX seconds); `null` when it does not.
	pub expires_at: Option<u64>,
	/// The payment hash (BOLT11 only).
	pub payment_hash: Option<String>,
	/// The final hop's CLTV delta (BOLT11 only).
	pub min_final_cltv_expiry_delta: Option<u64>,
	/// BOLT11 route hints, each a path of hops into the payee.
	pub route_hints: Vec<Vec<RouteHintHop>>,
	/// An offer's blinded paths to its issuer (0 for BOLT11).
	pub blinded_paths: usize,
	/// An offer's issuer, as it names itself.
	pub issuer: Option<String>,
	/// The feature bits set, ascending.
	pub features: Vec<u32>,
	/// Whether it has expired.
	pub expired: bool,
}

/// `POST /v1/messages/sign` body.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SignMessageRequest {
	/// The message (UTF-8), signed as LND and Core Lightning sign.
	pub message: String,
}

impl Validate for SignMessageRequest {
	fn validate(&self) -> Result<(), ApiError> {
		message_len(&self.message)
	}
}

/// `POST /v1/messages/sign` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignMessageResponse {
	/// The signature, zbase32 (LND's `signmessage`, Core Lightning's `signmessage` `zbase`).
	pub signature: String,
}

/// `POST /v1/messages/verify` body.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct VerifyMessageRequest {
	/// The message as it was signed.
	pub message: String,
	/// Its zbase32 signature.
	pub signature: String,
}

impl Validate for VerifyMessageRequest {
	fn validate(&self) -> Result<(), ApiError> {
		message_len(&self.message)?;
		if self.signature.is_empty() || self.signature.len() > 200 {
			return Err(ApiError::invalid_request("signature must be a zbase32 signature"));
		}
		Ok(())
	}
}

/// `POST /v1/messages/verify` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct VerifyMessageResponse {
	/// The signature is good and its signer a node this node knows (itself, a peer, a
	/// channel's counterparty, or a node of the gossip graph), as LND's `verifymessage`
	/// says.
	pub valid: bool,
	/// The key the signature recovers to: the signer, when `valid`.
	pub node_id: Option<String>,
}

fn message_len(message: &str) -> Result<(), ApiError> {
	if message.len() > MAX_MESSAGE_LEN {
		return Err(ApiError::invalid_request(format!(
			"message is longer than {MAX_MESSAGE_LEN} bytes"
		)));
	}
	Ok(())
}
