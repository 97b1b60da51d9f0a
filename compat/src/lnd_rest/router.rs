//! `POST /v2/router/send` and `GET /v2/router/track/{payment_hash}`: a payment as a stream of
//! LND `Payment` objects, each state once (only the final one with `no_inflight_updates`),
//! ending at SUCCEEDED or FAILED. Sending is the node's `pay` (or `keysend`); a payment the
//! node refused after recording it reads FAILED with its reason, as LND reports a payment
//! that found no route; a refusal before anything was sent (a bad invoice, one already paid,
//! an unknown hash to track) is answered as grpc-gateway answers a stream that fails at once:
//! the error's HTTP status and `{"error":{..}}`, which LNbits reads to tell "not sent" from
//! "maybe sent".

use std::collections::HashMap;

use bitcoin::hex::FromHex;
use fulgur_node::{NodeError, PayRequest, PaymentDirection, PaymentId, PaymentStatus, PublicKey};
use serde::Deserialize;

use super::encoding::{hash_from_base64, parse_body, parse_flag, Bytes, Code, Flag, LndError, I64};
use super::payments::{outgoing, payment};
use super::routes::{Call, Reply};
use super::server::Shared;
use super::streams::{open, StreamTx};

/// The custom record that carries a keysend's preimage.
const KEYSEND_RECORD: &str = "5482373484";

#[derive(Deserialize, Default)]
#[serde(default)]
struct SendRequest {
	payment_request: String,
	amt: I64,
	amt_msat: I64,
	fee_limit_sat: I64,
	fee_limit_msat: I64,
	timeout_seconds: I64,
	no_inflight_updates: Flag,
	allow_self_payment: Flag,
	dest: Bytes,
	payment_hash: Bytes,
	dest_custom_records: HashMap<String, String>,
	amp: Flag,
}

impl SendRequest {
	fn amount_msat(&self) -> Result<Option<u64>, LndError> {
		match (self.amt.0, self.amt_msat.0) {
			(a, m) if a < 0 || m < 0 => Err(LndError::invalid("amount cannot be negative")),
			(0, 0) => Ok(None),
			(sat, 0) => Ok(Some(sat as u64 * 1000)),
			(0, msat) => Ok(Some(msat as u64)),
			_ => Err(LndError::invalid("amt and amt_msat are mutually exclusive")),
		}
	}

	/// LND: a fee limit of 0 allows only routes without fees.
	fn fee_limit_msat(&self) -> Result<u64, LndError> {
		match (self.fee_limit_sat.0, self.fee_limit_msat.0) {
			(s, m) if s < 0 || m < 0 => Err(LndError::invalid("fee limit cannot be negative")),
			(sat, 0) => Ok(sat as u64 * 1000),
			(0, msat) => Ok(msat as u64),
			_ => Err(LndError::invalid("fee_limit_sat and fee_limit_msat are mutually exclusive")),
		}
	}
}

/// `POST /v2/router/send`.
pub async fn send(shared: &Shared, call: &Call) -> Result<Reply, LndError> {
	let req: SendRequest = parse_body(&call.body)?;
	if req.amp.0 {
		return Err(LndError::new(Code::Unimplemented, "AMP payments are not supported"));
	}
	let amount_msat = req.amount_msat()?;
	let max_fee_msat = Some(req.fee_limit_msat()?);
	let _ = (req.timeout_seconds, req.allow_self_payment);
	let node = &shared.node;
	let started = if !req.payment_request.is_empty() {
		let pay = PayRequest {
			invoice: req.payment_request.trim().to_string(),
			amount_msat,
			max_fee_msat,
		};
		let hash = invoice_hash(&pay.invoice);
		node.pay(pay, false).await.map(|r| r.payment_id).map_err(|e| (e, hash))
	} else {
		start_keysend(shared, &req, amount_msat).await.map_err(|e| (e, None))
	};
	let id = match started {
		Ok(id) => id,
		// Refused after it was recorded (no route, ...): LND reports a FAILED payment.
		Err((_, Some(hash))) if recorded_failure(shared, &hash) => hash,
		// Refused before anything was sent: nothing to follow.
		Err((e, _)) => {
			return Ok(Reply::StreamError(match e {
				NodeError::DuplicatePayment(m) if m.contains("already paid") => {
					LndError::new(Code::AlreadyExists, "invoice is already paid")
				}
				other => other.into(),
			}))
		}
	};
	let Some(id) = parse_payment_id(&id) else {
		return Err(LndError::new(Code::Internal, "the node named a payment id that is not hex"));
	};
	let only_final = req.no_inflight_updates.0;
	let (tx, body) = open(shared)?;
	tokio::spawn(follow(tx, id, only_final));
	Ok(Reply::Stream(body))
}

async fn start_keysend(
	shared: &Shared, req: &SendRequest, amount_msat: Option<u64>,
) -> Result<String, NodeError> {
	if !req.payment_hash.0.is_empty() || req.dest_custom_records.contains_key(KEYSEND_RECORD) {
		return Err(NodeError::InvalidRequest(
			"keysend with a payment hash or preimage of the client's is not supported: give dest \
			 and amt only, the node picks the preimage"
				.into(),
		));
	}
	let dest = PublicKey::from_slice(&req.dest.0).map_err(|_| {
		NodeError::InvalidRequest("give payment_request, or dest (33 bytes)".into())
	})?;
	let amount = amount_msat.ok_or_else(|| NodeError::InvalidAmount("keysend needs amt".into()))?;
	Ok(shared.node.keysend(dest, amount, None, false).await?.payment_id)
}

fn invoice_hash(text: &str) -> Option<String> {
	use std::str::FromStr;
	let invoice = lightning_invoice::Bolt11Invoice::from_str(text.trim()).ok()?;
	Some(bitcoin::hex::DisplayHex::to_lower_hex_string(invoice.payment_hash().as_ref() as &[u8]))
}

fn recorded_failure(shared: &Shared, hash: &str) -> bool {
	parse_payment_id(hash).and_then(|id| shared.node.get_payment(&id)).is_some_and(|p| {
		p.direction == PaymentDirection::Outbound && p.status == PaymentStatus::Failed
	})
}

fn parse_payment_id(hex: &str) -> Option<PaymentId> {
	<[u8; 32]>::from_hex(hex).ok().map(PaymentId)
}

/// Sends the payment's states until it is final (only the final one with `only_final`).
async fn follow(mut tx: StreamTx, id: PaymentId, only_final: bool) {
	let mut sent = None;
	loop {
		tx.events.borrow_and_update();
		let Some(record) =
			tx.node.get_payment(&id).filter(|p| p.direction == PaymentDirection::Outbound)
		else {
			return tx.error(&not_initiated()).await;
		};
		let done = record.status != PaymentStatus::Pending;
		if (done || !only_final) && sent != Some(record.status) {
			sent = Some(record.status);
			let index = outgoing(&tx.node)
				.iter()
				.find(|(_, p)| p.payment_id == record.payment_id)
				.map_or(0, |(i, _)| *i);
			if !tx.result(&payment(&record, index)).await {
				return;
			}
		}
		if done || !tx.wait_for_events().await {
			return;
		}
	}
}

fn not_initiated() -> LndError {
	LndError::new(Code::NotFound, "payment isn't initiated")
}

/// `GET /v2/router/track/{payment_hash}` (URL-safe base64), `no_inflight_updates` in the query.
pub fn track(shared: &Shared, hash_b64: &str, call: &Call) -> Result<Reply, LndError> {
	let hash = hash_from_base64(hash_b64, "payment_hash")?;
	let only_final = match call.get("no_inflight_updates") {
		None => false,
		Some(v) => {
			parse_flag(v).ok_or_else(|| LndError::invalid("no_inflight_updates: not a boolean"))?
		}
	};
	let ours = shared.node.get_payment(&PaymentId(hash));
	if !ours.is_some_and(|p| p.direction == PaymentDirection::Outbound) {
		return Ok(Reply::StreamError(not_initiated()));
	}
	let (tx, body) = open(shared)?;
	tokio::spawn(follow(tx, PaymentId(hash), only_final));
	Ok(Reply::Stream(body))
}
