//! `POST /v2/router/send` and `GET /v2/router/track/{payment_hash}`: a payment as a stream of
//! LND `Payment` objects, each state once (only the final one with `no_inflight_updates`),
//! ending at SUCCEEDED or FAILED. Sending is the node's `pay` (or `keysend`); a payment the
//! node refused after recording it reads FAILED with its reason, as LND reports a payment
//! that found no route; a refusal before anything was sent (a bad invoice, one already paid,
//! an unknown hash to track) is answered as grpc-gateway answers a stream that fails at once:
//! the error's HTTP status and `{"error":{..}}`, which LNbits reads to tell "not sent" from
//! "maybe sent".

use std::collections::HashMap;
use std::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::FromHex;
use fulgur_node::{
	KeysendOptions, NodeError, PayRequest, PaymentDirection, PaymentId, PaymentPreimage,
	PaymentStatus, PublicKey,
};
use serde::Deserialize;

use super::encoding::{
	decode_base64, hash_from_base64, parse_body, parse_flag, Bytes, Code, Flag, LndError, I64,
};
use super::payments::{outgoing, payment};
use super::routes::{Call, Reply};
use super::server::Shared;
use super::streams::{open, StreamTx};

/// The custom record that carries a keysend's preimage.
const KEYSEND_RECORD_TYPE: u64 = 5482373484;

/// Custom records start at this type (BOLT 1); LND refuses lower ones.
const CUSTOM_TYPE_START: u64 = 1 << 16;

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

	/// How long the payment is retried (LND's `timeout_seconds`); the node's default for 0.
	fn retry(&self) -> Result<Option<Duration>, LndError> {
		match self.timeout_seconds.0 {
			0 => Ok(None),
			s if s < 0 => Err(LndError::invalid("timeout_seconds cannot be negative")),
			s => Ok(Some(Duration::from_secs(s as u64))),
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
	let retry = req.retry()?;
	let _ = req.allow_self_payment;
	let node = &shared.node;
	let started = if !req.payment_request.is_empty() {
		check_invoice_request(&req)?;
		let pay = PayRequest {
			invoice: req.payment_request.trim().to_string(),
			amount_msat,
			max_fee_msat,
		};
		let hash = invoice_hash(&pay.invoice);
		let started = match retry {
			Some(retry) => node.pay_within(pay, retry, false).await,
			None => node.pay(pay, false).await,
		};
		started.map(|r| r.payment_id).map_err(|e| (e, hash))
	} else {
		let Keysend { dest, mut options } = keysend_request(&req)?;
		options.retry = retry;
		let amount =
			amount_msat.ok_or_else(|| LndError::invalid("keysend needs amt or amt_msat"))?;
		// With the client's hash, the payment is named by it, as LND names payments (tracked
		// by hash; a retry of the same request answers with the payment, sending nothing).
		let payment_id =
			options.preimage.map(|p| PaymentId(sha256::Hash::hash(&p.0).to_byte_array()));
		let started = node.keysend_with(dest, amount, payment_id, options, false).await;
		started.map(|r| r.payment_id).map_err(|e| (e, None))
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

/// What LND refuses next to a `payment_request` (its phrases), and custom records to an
/// invoice's payee, which the node does not send.
fn check_invoice_request(req: &SendRequest) -> Result<(), LndError> {
	if !req.dest.0.is_empty() {
		return Err(LndError::invalid("dest and payment_request cannot appear together"));
	}
	if !req.payment_hash.0.is_empty() {
		return Err(LndError::invalid("payment_hash and payment_request cannot appear together"));
	}
	if !req.dest_custom_records.is_empty() {
		return Err(LndError::new(
			Code::Unimplemented,
			"dest_custom_records are sent with keysend only, not with payment_request",
		));
	}
	Ok(())
}

/// A payment without an invoice, as the request gives it.
#[derive(Debug)]
struct Keysend {
	dest: PublicKey,
	options: KeysendOptions,
}

/// Reads a keysend from `dest`, `payment_hash` and `dest_custom_records`: the preimage is the
/// keysend record and must hash to `payment_hash`; the other records (types from 65536, as
/// LND requires) go to the payee. Without both hash and preimage the node draws the preimage.
fn keysend_request(req: &SendRequest) -> Result<Keysend, LndError> {
	let dest = PublicKey::from_slice(&req.dest.0)
		.map_err(|_| LndError::invalid("give payment_request, or dest (33 bytes)"))?;
	let mut preimage = None;
	let mut custom_records = Vec::with_capacity(req.dest_custom_records.len());
	for (key, value) in &req.dest_custom_records {
		let record_type: u64 = key.trim().parse().map_err(|_| {
			LndError::invalid(format!("dest_custom_records: key {key:?} is not a uint64"))
		})?;
		let bytes = decode_base64(value).ok_or_else(|| {
			LndError::invalid(format!("dest_custom_records[{record_type}]: not base64"))
		})?;
		if record_type < CUSTOM_TYPE_START {
			// LND's phrase (record.CustomSet.Validate).
			return Err(LndError::invalid("no custom records with types below 65536 allowed"));
		}
		if record_type == KEYSEND_RECORD_TYPE {
			let bytes = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
				LndError::invalid(format!(
					"dest_custom_records[{KEYSEND_RECORD_TYPE}]: the preimage is {} bytes, not 32",
					bytes.len()
				))
			})?;
			preimage = Some(PaymentPreimage(bytes));
		} else {
			custom_records.push((record_type, bytes));
		}
	}
	match (&preimage, req.payment_hash.0.as_slice()) {
		(None, []) => {}
		(None, _) => {
			return Err(LndError::invalid(format!(
				"a payment without payment_request is a keysend: put its preimage in \
				 dest_custom_records[{KEYSEND_RECORD_TYPE}]"
			)))
		}
		(Some(_), []) => {
			return Err(LndError::invalid("payment_hash is required with a keysend preimage"))
		}
		(Some(preimage), hash) => {
			let hash = <[u8; 32]>::try_from(hash).map_err(|_| {
				LndError::invalid(format!("invalid hash length of {}, want 32", hash.len()))
			})?;
			if sha256::Hash::hash(&preimage.0).to_byte_array() != hash {
				return Err(LndError::invalid(format!(
					"payment_hash is not the hash of the preimage in \
					 dest_custom_records[{KEYSEND_RECORD_TYPE}]"
				)));
			}
		}
	}
	let options = KeysendOptions { preimage, custom_records, retry: None };
	Ok(Keysend { dest, options })
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

#[cfg(test)]
mod tests {
	use super::*;
	use crate::lnd_rest::encoding::base64;

	const DEST: &str = "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619";

	fn request(body: serde_json::Value) -> SendRequest {
		parse_body(body.to_string().as_bytes()).expect("a request body")
	}

	fn keysend_body(preimage: &[u8], hash: &[u8], extra: &[(&str, &[u8])]) -> serde_json::Value {
		let dest = <Vec<u8>>::from_hex(DEST).expect("hex");
		let mut records = serde_json::Map::new();
		records.insert(KEYSEND_RECORD_TYPE.to_string(), base64(preimage).into());
		for (key, value) in extra {
			records.insert(key.to_string(), base64(value).into());
		}
		serde_json::json!({ "dest": base64(&dest), "amt": "5", "payment_hash": base64(hash),
			"dest_custom_records": records })
	}

	#[test]
	fn a_keysend_takes_the_clients_preimage_and_records() {
		let preimage = [3u8; 32];
		let hash = sha256::Hash::hash(&preimage).to_byte_array();
		let body = keysend_body(&preimage, &hash, &[("7629169", b"boost"), ("65536", b"")]);
		let keysend = keysend_request(&request(body)).expect("a valid keysend");
		assert_eq!(keysend.dest.to_string(), DEST);
		assert_eq!(keysend.options.preimage, Some(PaymentPreimage(preimage)));
		let mut records = keysend.options.custom_records;
		records.sort();
		assert_eq!(records, vec![(65536, vec![]), (7629169, b"boost".to_vec())]);
	}

	#[test]
	fn a_preimage_that_does_not_hash_to_payment_hash_is_refused() {
		let hash = sha256::Hash::hash(&[3u8; 32]).to_byte_array();
		let error = keysend_request(&request(keysend_body(&[4u8; 32], &hash, &[]))).unwrap_err();
		assert_eq!(error.code, Code::InvalidArgument);
		assert!(error.message.contains("not the hash of the preimage"), "{}", error.message);
		let short = keysend_request(&request(keysend_body(&[4u8; 31], &hash, &[]))).unwrap_err();
		assert!(short.message.contains("31 bytes, not 32"), "{}", short.message);
		let bad_hash = keysend_request(&request(keysend_body(&[3; 32], &[1; 5], &[]))).unwrap_err();
		assert!(bad_hash.message.contains("invalid hash length of 5"), "{}", bad_hash.message);
	}

	#[test]
	fn records_below_65536_other_than_keysend_are_refused() {
		let preimage = [3u8; 32];
		let hash = sha256::Hash::hash(&preimage).to_byte_array();
		for key in ["65535", "1", "0"] {
			let body = keysend_body(&preimage, &hash, &[(key, b"x")]);
			let error = keysend_request(&request(body)).unwrap_err();
			assert_eq!(error.code, Code::InvalidArgument);
			assert_eq!(error.message, "no custom records with types below 65536 allowed", "{key}");
		}
		for key in ["-1", "x", "18446744073709551616"] {
			let error = keysend_request(&request(keysend_body(&preimage, &hash, &[(key, b"")])))
				.unwrap_err();
			assert!(error.message.contains("is not a uint64"), "{key}: {}", error.message);
		}
	}

	#[test]
	fn a_payment_hash_needs_its_preimage_and_a_preimage_its_hash() {
		let dest = base64(&<Vec<u8>>::from_hex(DEST).expect("hex"));
		let hash_only =
			request(serde_json::json!({ "dest": dest, "payment_hash": base64(&[1; 32]) }));
		assert!(keysend_request(&hash_only).unwrap_err().message.contains("put its preimage"));
		let preimage_only = keysend_body(&[3; 32], &[], &[]);
		let error = keysend_request(&request(preimage_only)).unwrap_err();
		assert!(error.message.contains("payment_hash is required"), "{}", error.message);
		// Neither: the node draws the preimage, as before.
		let plain = keysend_request(&request(serde_json::json!({ "dest": dest, "amt": 1 })));
		assert_eq!(plain.expect("plain keysend").options, KeysendOptions::default());
		let no_dest = keysend_request(&request(serde_json::json!({ "amt": 1 }))).unwrap_err();
		assert!(no_dest.message.contains("give payment_request"), "{}", no_dest.message);
	}

	#[test]
	fn timeout_seconds_is_the_retry_time() {
		let retry = |value: serde_json::Value| {
			request(serde_json::json!({ "timeout_seconds": value })).retry()
		};
		assert_eq!(retry(30.into()), Ok(Some(Duration::from_secs(30))));
		assert_eq!(retry("60".into()), Ok(Some(Duration::from_secs(60))));
		assert_eq!(retry(0.into()), Ok(None), "0: the node's default");
		assert_eq!(request(serde_json::json!({})).retry(), Ok(None));
		assert_eq!(retry((-1).into()).unwrap_err().code, Code::InvalidArgument);
	}

	#[test]
	fn keysend_fields_next_to_an_invoice_are_refused() {
		let dest = base64(&<Vec<u8>>::from_hex(DEST).expect("hex"));
		let with_dest = request(serde_json::json!({ "payment_request": "lnbcrt1", "dest": dest }));
		assert!(check_invoice_request(&with_dest).unwrap_err().message.contains("dest and"));
		let with_records = request(serde_json::json!({ "payment_request": "lnbcrt1",
			"dest_custom_records": { "65536": "AQ==" } }));
		assert_eq!(check_invoice_request(&with_records).unwrap_err().code, Code::Unimplemented);
		assert!(
			check_invoice_request(&request(serde_json::json!({ "payment_request": "x" }))).is_ok()
		);
	}
}
