//! Invoices: add (honoring a client's `r_preimage`), look up (hex in the path, base64 in the
//! query), list, hold invoices (`/v2/invoices/hodl|settle|cancel`) and decoding a payment
//! request. Each maps onto one node operation; requests are checked whole before the node is
//! asked anything.

use std::str::FromStr;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
use fulgur_node::{InvoiceStatus, Node, PaymentHash, PaymentPreimage};
use lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescriptionRef};
use serde::Deserialize;
use serde_json::{json, Value};

use super::encoding::{
	hash_from_base64, hash_from_hex, parse_body, parse_flag, Bytes, Code, Flag, LndError, I64, U64,
};
use super::invoice_wire::{bolt11_details, invoice};
use super::routes::Call;

/// Most invoices one `GET /v1/invoices` returns.
const MAX_INVOICES_PER_PAGE: u64 = 1000;

/// The fields of `AddInvoice` and `AddHoldInvoice` requests we act on; the others LND has
/// are accepted and refused when set to something we cannot do.
#[derive(Deserialize, Default)]
#[serde(default)]
struct AddInvoiceRequest {
	memo: String,
	value: I64,
	value_msat: I64,
	expiry: I64,
	private: Flag,
	description_hash: Bytes,
	r_preimage: Bytes,
	r_hash: Bytes,
	/// Hold invoices: the payment hash.
	hash: Bytes,
	fallback_addr: String,
	is_amp: Flag,
}

impl AddInvoiceRequest {
	/// The amount (`None`: any), from `value` (sat) or `value_msat`, never both.
	fn amount_msat(&self) -> Result<Option<u64>, LndError> {
		let (sat, msat) = (self.value.0, self.value_msat.0);
		if sat < 0 || msat < 0 {
			return Err(LndError::invalid("the amount cannot be negative"));
		}
		let msat = match (sat, msat) {
			(0, 0) => return Ok(None),
			(sat, 0) => (sat as u64)
				.checked_mul(1000)
				.ok_or_else(|| LndError::invalid("value too large"))?,
			(0, msat) => msat as u64,
			_ => return Err(LndError::invalid("value and value_msat are mutually exclusive")),
		};
		Ok(Some(msat))
	}

	fn expiry_secs(&self) -> Result<Option<u32>, LndError> {
		match self.expiry.0 {
			0 => Ok(None),
			e if e < 0 => Err(LndError::invalid("expiry cannot be negative")),
			e => u32::try_from(e).map(Some).map_err(|_| LndError::invalid("expiry too large")),
		}
	}

	/// The SHA-256 the invoice commits to instead of a description (LNURL-pay), when given.
	fn description_hash(&self) -> Result<Option<[u8; 32]>, LndError> {
		if self.description_hash.0.is_empty() {
			return Ok(None);
		}
		<[u8; 32]>::try_from(self.description_hash.0.as_slice())
			.map(Some)
			.map_err(|_| LndError::invalid("description_hash: not 32 bytes"))
	}

	/// Refuses what fulgur cannot issue: AMP, fallback addresses, and a `description_hash` on a
	/// hold invoice (plain invoices take one).
	fn refuse_unsupported(&self, hold: bool) -> Result<(), LndError> {
		if self.is_amp.0 {
			return Err(LndError::new(Code::Unimplemented, "AMP invoices are not supported"));
		}
		if hold && !self.description_hash.0.is_empty() {
			return Err(LndError::new(
				Code::Unimplemented,
				"description_hash is not supported on hold invoices: give memo",
			));
		}
		if !self.fallback_addr.is_empty() {
			return Err(LndError::new(Code::Unimplemented, "fallback_addr is not supported"));
		}
		Ok(())
	}
}

/// `POST /v1/invoices`.
pub async fn add_invoice(node: &Node, call: &Call) -> Result<Value, LndError> {
	let req: AddInvoiceRequest = parse_body(&call.body)?;
	req.refuse_unsupported(false)?;
	let (amount_msat, expiry) = (req.amount_msat()?, req.expiry_secs()?);
	let description_hash = req.description_hash()?;
	let _ = req.private; // fulgur's invoices carry route hints whenever its channels are private
	let record = if req.r_preimage.0.is_empty() {
		match description_hash {
			Some(hash) => {
				node.create_invoice_with_description_hash(
					hash,
					&req.memo,
					amount_msat,
					expiry,
					None,
				)
				.await?
			}
			None => node.create_invoice(amount_msat, &req.memo, expiry).await?,
		}
	} else {
		let preimage = <[u8; 32]>::try_from(req.r_preimage.0.as_slice())
			.map_err(|_| LndError::invalid("r_preimage: not 32 bytes"))?;
		let hash = sha256::Hash::hash(&preimage).to_byte_array();
		if !req.r_hash.0.is_empty() && req.r_hash.0 != hash {
			return Err(LndError::invalid("r_hash is not the hash of r_preimage"));
		}
		if node.get_invoice(&PaymentHash(hash)).is_some() {
			return Err(LndError::new(
				Code::AlreadyExists,
				"invoice with payment hash already exists",
			));
		}
		match description_hash {
			Some(hash) => {
				node.create_invoice_with_description_hash(
					hash,
					&req.memo,
					amount_msat,
					expiry,
					Some(PaymentPreimage(preimage)),
				)
				.await?
			}
			None => {
				node.create_invoice_with_preimage(
					PaymentPreimage(preimage),
					amount_msat,
					&req.memo,
					expiry,
				)
				.await?
			}
		}
	};
	let (payment_addr, _, _, _) = bolt11_details(&record.bolt11);
	let r_hash = bitcoin::hex::FromHex::from_hex(&record.payment_hash).unwrap_or_else(|_| vec![]);
	Ok(json!({
		"r_hash": Bytes(r_hash),
		"payment_request": record.bolt11,
		"add_index": U64(record.add_index),
		"payment_addr": payment_addr,
	}))
}

/// `POST /v2/invoices/hodl`.
pub async fn add_hold_invoice(node: &Node, call: &Call) -> Result<Value, LndError> {
	let req: AddInvoiceRequest = parse_body(&call.body)?;
	req.refuse_unsupported(true)?;
	let (amount_msat, expiry) = (req.amount_msat()?, req.expiry_secs()?);
	let hash = <[u8; 32]>::try_from(req.hash.0.as_slice())
		.map_err(|_| LndError::invalid("hash: not 32 bytes"))?;
	let record =
		node.create_hold_invoice(PaymentHash(hash), amount_msat, &req.memo, expiry).await?;
	let (payment_addr, _, _, _) = bolt11_details(&record.bolt11);
	Ok(json!({
		"payment_request": record.bolt11,
		"add_index": U64(record.add_index),
		"payment_addr": payment_addr,
	}))
}

/// `POST /v2/invoices/settle` `{preimage}`.
pub async fn settle(node: &Node, call: &Call) -> Result<Value, LndError> {
	#[derive(Deserialize)]
	struct Settle {
		preimage: String,
	}
	let req: Settle = parse_body(&call.body)?;
	let preimage = hash_from_base64(&req.preimage, "preimage")?;
	let hash = sha256::Hash::hash(&preimage).to_byte_array();
	node.settle_invoice(PaymentHash(hash), PaymentPreimage(preimage)).await?;
	Ok(json!({}))
}

/// `POST /v2/invoices/cancel` `{payment_hash}`.
pub async fn cancel(node: &Node, call: &Call) -> Result<Value, LndError> {
	#[derive(Deserialize)]
	struct Cancel {
		payment_hash: String,
	}
	let req: Cancel = parse_body(&call.body)?;
	let hash = hash_from_base64(&req.payment_hash, "payment_hash")?;
	node.cancel_invoice(PaymentHash(hash)).await?;
	Ok(json!({}))
}

fn not_found() -> LndError {
	LndError::new(Code::NotFound, "unable to locate invoice")
}

fn lookup(node: &Node, hash: [u8; 32]) -> Result<Value, LndError> {
	let record = node.get_invoice(&PaymentHash(hash)).ok_or_else(not_found)?;
	Ok(invoice(&record))
}

/// `GET /v1/invoice/{r_hash_str}`: the hash in hex.
pub fn lookup_hex(node: &Node, hash: &str) -> Result<Value, LndError> {
	lookup(node, hash_from_hex(hash, "r_hash_str")?)
}

/// `GET /v1/invoice?r_hash=`: the hash in (URL-safe) base64; `r_hash_str` in hex also works.
pub fn lookup_query(node: &Node, call: &Call) -> Result<Value, LndError> {
	if let Some(hash) = call.get("r_hash").filter(|h| !h.is_empty()) {
		return lookup(node, hash_from_base64(hash, "r_hash")?);
	}
	match call.get("r_hash_str") {
		Some(hex) => lookup(node, hash_from_hex(hex, "r_hash_str")?),
		None => Err(LndError::invalid("give r_hash (base64) or r_hash_str (hex)")),
	}
}

fn query_u64(call: &Call, name: &str) -> Result<u64, LndError> {
	match call.get(name).filter(|v| !v.is_empty()) {
		None => Ok(0),
		Some(v) => {
			v.parse().map_err(|_| LndError::invalid(format!("{name}: {v:?} is not a uint64")))
		}
	}
}

/// A query boolean (`false` when absent).
pub fn query_flag(call: &Call, name: &str) -> Result<bool, LndError> {
	match call.get(name) {
		None => Ok(false),
		Some(v) => parse_flag(v)
			.ok_or_else(|| LndError::invalid(format!("{name}: {v:?} is not a boolean"))),
	}
}

/// `GET /v1/invoices` with `pending_only`, `index_offset`, `num_max_invoices`, `reversed`:
/// invoices by `add_index`, oldest first; `reversed` pages back from `index_offset` (from the
/// newest when 0).
pub fn list_invoices(node: &Node, call: &Call) -> Result<Value, LndError> {
	let pending_only = query_flag(call, "pending_only")?;
	let reversed = query_flag(call, "reversed")?;
	let offset = query_u64(call, "index_offset")?;
	let max = match query_u64(call, "num_max_invoices")? {
		0 => 100,
		n => n.min(MAX_INVOICES_PER_PAGE),
	};
	let all = node.list_invoices();
	let mut listed: Vec<(u64, &fulgur_node::InvoiceRecord)> = all
		.iter()
		.map(|r| (r.add_index, r))
		.filter(|(_, r)| {
			!pending_only || matches!(r.status, InvoiceStatus::Open | InvoiceStatus::Accepted)
		})
		.collect();
	listed.sort_by_key(|(index, _)| *index);
	let page: Vec<_> = if reversed {
		let before: Vec<_> =
			listed.into_iter().filter(|(i, _)| offset == 0 || *i < offset).collect();
		let skip = before.len().saturating_sub(max as usize);
		before.into_iter().skip(skip).collect()
	} else {
		listed.into_iter().filter(|(i, _)| *i > offset).take(max as usize).collect()
	};
	let first = page.first().map_or(0, |(i, _)| *i);
	let last = page.last().map_or(0, |(i, _)| *i);
	let invoices: Vec<Value> = page.iter().map(|(_, r)| invoice(r)).collect();
	Ok(json!({
		"invoices": invoices,
		"last_index_offset": U64(last),
		"first_index_offset": U64(first),
	}))
}

/// `GET /v1/payreq/{pay_req}`: LND's `PayReq` (here `payment_hash` and `description_hash` are
/// hex strings, as in LND).
pub fn decode_pay_req(node: &Node, text: &str) -> Result<Value, LndError> {
	let invoice = Bolt11Invoice::from_str(text.trim())
		.map_err(|e| LndError::invalid(format!("invalid payment request: {e}")))?;
	let network = super::info::lnd_network(&node.info().network).to_string();
	let invoice_network = match invoice.network() {
		bitcoin::Network::Bitcoin => "mainnet".to_string(),
		other => other.to_string(),
	};
	if invoice_network != network {
		return Err(LndError::invalid(format!(
			"invoice not for current active network '{network}'"
		)));
	}
	let (description, description_hash) = match invoice.description() {
		Bolt11InvoiceDescriptionRef::Direct(d) => (d.to_string(), String::new()),
		Bolt11InvoiceDescriptionRef::Hash(h) => (String::new(), h.0.to_string()),
	};
	let msat = invoice.amount_milli_satoshis().unwrap_or(0);
	Ok(json!({
		"destination": invoice.get_payee_pub_key().to_string(),
		"payment_hash": invoice.payment_hash().to_byte_array().to_lower_hex_string(),
		"num_satoshis": I64::from(msat / 1000),
		"timestamp": I64::from(invoice.duration_since_epoch().as_secs()),
		"expiry": I64::from(invoice.expiry_time().as_secs()),
		"description": description,
		"description_hash": description_hash,
		"fallback_addr": "",
		"cltv_expiry": I64::from(invoice.min_final_cltv_expiry_delta()),
		"route_hints": [],
		"payment_addr": Bytes(invoice.payment_secret().0.to_vec()),
		"num_msat": I64::from(msat),
		"features": {},
		"blinded_paths": [],
	}))
}
