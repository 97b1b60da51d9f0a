//! Phoenixd's wire types: camelCase JSON with phoenixd's units (`…Sat` fields in satoshis,
//! `fees` in millisatoshis, times in UNIX milliseconds), and its form-encoded requests.
//!
//! Invariant: every conversion from the node's records is total (no panics, no silent
//! rounding up: msat amounts are truncated to whole satoshis as phoenixd shows them), and a
//! request is parsed into a typed value or refused with a [`FormError`] naming the parameter.

use fulgur_node::{ChannelInfo, InvoiceRecord, InvoiceStatus, PaymentRecord, PaymentStatus};
use serde::Serialize;

/// Most characters phoenixd accepts in an invoice description.
pub const MAX_DESCRIPTION_CHARS: usize = 128;

/// `GET /getinfo`.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
	/// Our node id (hex).
	pub node_id: String,
	/// Every channel.
	pub channels: Vec<Channel>,
	/// `mainnet`, `testnet`, `signet` or `regtest`.
	pub chain: String,
	/// The best block the node has processed.
	pub block_height: u32,
	/// The software answering.
	pub version: String,
}

/// One channel in [`NodeInfo`].
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
	/// Phoenixd's state names: `Normal` (usable), `Offline` (ready, peer away),
	/// `WaitForFundingConfirmed` (funding not confirmed).
	pub state: String,
	/// Channel id (hex).
	pub channel_id: String,
	/// Our balance in the channel, sat.
	pub balance_sat: u64,
	/// What we can receive, sat.
	pub inbound_liquidity_sat: u64,
	/// Channel size, sat.
	pub capacity_sat: u64,
	/// The funding transaction, once known.
	pub funding_tx_id: Option<String>,
}

impl From<&ChannelInfo> for Channel {
	fn from(channel: &ChannelInfo) -> Channel {
		let state = if channel.is_usable {
			"Normal"
		} else if channel.state == "pending" {
			"WaitForFundingConfirmed"
		} else {
			"Offline"
		};
		Channel {
			state: state.to_string(),
			channel_id: channel.channel_id.clone(),
			balance_sat: channel.local_balance_msat / 1000,
			inbound_liquidity_sat: channel.inbound_capacity_msat / 1000,
			capacity_sat: channel.capacity_sat,
			funding_tx_id: channel
				.funding_txo
				.as_deref()
				.and_then(|txo| txo.split(':').next())
				.map(str::to_string),
		}
	}
}

/// Phoenixd's name of a network (`bitcoin` is `mainnet`).
pub fn chain_name(network: &str) -> String {
	match network {
		"bitcoin" => "mainnet".to_string(),
		other => other.to_string(),
	}
}

/// `GET /getbalance`.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
	/// What the channels hold for us, sat.
	pub balance_sat: u64,
	/// Phoenixd's fee credit: always 0 here (fulgur buys no liquidity on credit).
	pub fee_credit_sat: u64,
}

/// `POST /createinvoice`'s answer.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CreatedInvoice {
	/// The invoice's amount, sat (0 for an amountless invoice).
	pub amount_sat: u64,
	/// Its payment hash (hex).
	pub payment_hash: String,
	/// The BOLT11 string.
	pub serialized: String,
}

/// `POST /payinvoice`'s answer when the payment arrived.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PaidInvoice {
	/// What the payee received, sat.
	pub recipient_amount_sat: u64,
	/// Routing fees, sat (rounded up: what was paid, never less).
	pub routing_fee_sat: u64,
	/// The payment's id (hex; phoenixd's is a UUID, clients treat it as opaque).
	pub payment_id: String,
	/// Payment hash (hex).
	pub payment_hash: String,
	/// The proof of payment (hex).
	pub payment_preimage: String,
}

/// `POST /payinvoice`'s answer when the payment failed (status 200, as phoenixd).
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFailed {
	/// The payment's id, when one was recorded.
	pub payment_id: Option<String>,
	/// Payment hash (hex), when known.
	pub payment_hash: Option<String>,
	/// Why, in words.
	pub reason: String,
}

/// `GET /payments/incoming/{hash}`.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct IncomingPayment {
	/// Always `incoming_payment`.
	#[serde(rename = "type")]
	pub kind: &'static str,
	/// Always `lightning`.
	pub sub_type: &'static str,
	/// Payment hash (hex).
	pub payment_hash: String,
	/// The preimage (hex), once paid.
	pub preimage: Option<String>,
	/// Never set here (fulgur keeps no external ids).
	pub external_id: Option<String>,
	/// The invoice's description.
	pub description: Option<String>,
	/// The BOLT11 invoice, when there was one.
	pub invoice: Option<String>,
	/// Whether it was paid.
	pub is_paid: bool,
	/// What was received, sat.
	pub received_sat: u64,
	/// Fees taken from it, msat (always 0: fulgur takes none).
	pub fees: u64,
	/// When it was paid (UNIX ms).
	pub completed_at: Option<u64>,
	/// When it was created (UNIX ms).
	pub created_at: u64,
}

impl From<&InvoiceRecord> for IncomingPayment {
	fn from(invoice: &InvoiceRecord) -> IncomingPayment {
		let is_paid = invoice.status == InvoiceStatus::Paid;
		IncomingPayment {
			kind: "incoming_payment",
			sub_type: "lightning",
			payment_hash: invoice.payment_hash.clone(),
			preimage: invoice.preimage.clone(),
			external_id: None,
			description: Some(invoice.description.clone()),
			invoice: Some(invoice.bolt11.clone()),
			is_paid,
			received_sat: invoice.amount_received_msat.unwrap_or(0) / 1000,
			fees: 0,
			completed_at: invoice.paid_at.map(millis),
			created_at: millis(invoice.created_at),
		}
	}
}

impl From<&PaymentRecord> for IncomingPayment {
	fn from(payment: &PaymentRecord) -> IncomingPayment {
		IncomingPayment {
			kind: "incoming_payment",
			sub_type: "lightning",
			payment_hash: payment.payment_hash.clone().unwrap_or_default(),
			preimage: payment.preimage.clone(),
			external_id: None,
			description: payment.description.clone(),
			invoice: payment.invoice.clone(),
			is_paid: payment.status == PaymentStatus::Succeeded,
			received_sat: payment.amount_msat.unwrap_or(0) / 1000,
			fees: 0,
			completed_at: payment.completed_at.map(millis),
			created_at: millis(payment.created_at),
		}
	}
}

/// `GET /payments/outgoingbyhash/{hash}`.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OutgoingPayment {
	/// Always `outgoing_payment`.
	#[serde(rename = "type")]
	pub kind: &'static str,
	/// Always `lightning`.
	pub sub_type: &'static str,
	/// The payment's id (hex).
	pub payment_id: String,
	/// Payment hash (hex).
	pub payment_hash: Option<String>,
	/// The proof of payment (hex), once it arrived.
	pub preimage: Option<String>,
	/// Whether it arrived.
	pub is_paid: bool,
	/// What left the node, sat: amount plus fees (rounded up).
	pub sent: u64,
	/// Routing fees, msat.
	pub fees: u64,
	/// The BOLT11 invoice paid.
	pub invoice: Option<String>,
	/// When it became final (UNIX ms).
	pub completed_at: Option<u64>,
	/// When it was started (UNIX ms).
	pub created_at: u64,
}

impl From<&PaymentRecord> for OutgoingPayment {
	fn from(payment: &PaymentRecord) -> OutgoingPayment {
		let fee_msat = payment.fee_msat.unwrap_or(0);
		let sent_msat = payment.amount_msat.unwrap_or(0).saturating_add(fee_msat);
		OutgoingPayment {
			kind: "outgoing_payment",
			sub_type: "lightning",
			payment_id: payment.payment_id.clone(),
			payment_hash: payment.payment_hash.clone(),
			preimage: payment.preimage.clone(),
			is_paid: payment.status == PaymentStatus::Succeeded,
			sent: sat_rounded_up(sent_msat),
			fees: fee_msat,
			invoice: payment.invoice.clone(),
			completed_at: payment.completed_at.map(millis),
			created_at: millis(payment.created_at),
		}
	}
}

/// The WebSocket's message for money received.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PaymentReceived {
	/// Always `payment_received`.
	#[serde(rename = "type")]
	pub kind: &'static str,
	/// What was received, sat.
	pub amount_sat: u64,
	/// Payment hash (hex).
	pub payment_hash: String,
	/// When it was received (UNIX ms).
	pub timestamp: u64,
}

/// Seconds to phoenixd's milliseconds.
pub fn millis(seconds: u64) -> u64 {
	seconds.saturating_mul(1000)
}

/// msat to whole sat, rounded up (a fee shown is never less than the fee paid).
pub fn sat_rounded_up(msat: u64) -> u64 {
	msat.div_ceil(1000)
}

/// A refused request parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
	/// The body is not `application/x-www-form-urlencoded`.
	Malformed,
	/// A required parameter is absent.
	Missing(&'static str),
	/// A parameter is present with a value we refuse, and why.
	Invalid(&'static str, String),
	/// A parameter given twice.
	Repeated(String),
}

impl std::fmt::Display for FormError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			FormError::Malformed => f.write_str("Invalid form-encoded body"),
			FormError::Missing(name) => write!(f, "Missing parameter {name}"),
			FormError::Invalid(name, why) => write!(f, "Invalid parameter {name}: {why}"),
			FormError::Repeated(name) => write!(f, "Parameter {name} given more than once"),
		}
	}
}

/// A parsed form: its parameters, each once.
pub struct Form(Vec<(String, String)>);

impl Form {
	/// Parses a form-encoded body (an empty one has no parameters).
	pub fn parse(body: &[u8]) -> Result<Form, FormError> {
		let pairs: Vec<(String, String)> =
			serde_urlencoded::from_bytes(body).map_err(|_| FormError::Malformed)?;
		for (i, (name, _)) in pairs.iter().enumerate() {
			if pairs[..i].iter().any(|(earlier, _)| earlier == name) {
				return Err(FormError::Repeated(name.clone()));
			}
		}
		Ok(Form(pairs))
	}

	/// The parameter `name`, if given (an empty value counts as absent, as phoenixd's clients
	/// send `externalId=` for none).
	pub fn get(&self, name: &str) -> Option<&str> {
		self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
	}

	/// The parameter `name` as a whole number, if given.
	pub fn number(&self, name: &'static str) -> Result<Option<u64>, FormError> {
		self.get(name)
			.map(|v| {
				v.parse::<u64>()
					.map_err(|_| FormError::Invalid(name, "not a whole non-negative number".into()))
			})
			.transpose()
	}
}

/// `POST /createinvoice`'s parameters.
#[derive(Debug, PartialEq, Eq)]
pub struct CreateInvoice {
	/// Amount in sat; `None` for an amountless invoice.
	pub amount_sat: Option<u64>,
	/// Description (at most [`MAX_DESCRIPTION_CHARS`]).
	pub description: String,
	/// Expiry in seconds.
	pub expiry_seconds: Option<u32>,
	/// The SHA-256 the invoice commits to instead of the description (LNURL-pay's metadata).
	pub description_hash: Option<[u8; 32]>,
}

impl CreateInvoice {
	/// Reads the form. `externalId` and `webhookUrl` are refused when set: the node keeps
	/// neither, and dropping them silently would lose what the caller asked for.
	pub fn from_form(form: &Form) -> Result<CreateInvoice, FormError> {
		for unsupported in ["externalId", "webhookUrl"] {
			if form.get(unsupported).is_some() {
				let why = "not supported by this node".to_string();
				return Err(FormError::Invalid(unsupported_name(unsupported), why));
			}
		}
		let description = form.get("description").unwrap_or_default().to_string();
		if description.chars().count() > MAX_DESCRIPTION_CHARS {
			let why = format!("longer than {MAX_DESCRIPTION_CHARS} characters");
			return Err(FormError::Invalid("description", why));
		}
		let expiry_seconds = match form.number("expirySeconds")? {
			None => None,
			Some(secs) => Some(
				u32::try_from(secs)
					.map_err(|_| FormError::Invalid("expirySeconds", "too large".to_string()))?,
			),
		};
		let amount_sat = form.number("amountSat")?;
		if let Some(sat) = amount_sat {
			if sat.checked_mul(1000).is_none() {
				return Err(FormError::Invalid("amountSat", "too large".to_string()));
			}
		}
		let description_hash = match form.get("descriptionHash") {
			None => None,
			Some(text) => Some(parse_hex_32(text, "descriptionHash")?),
		};
		Ok(CreateInvoice { amount_sat, description, expiry_seconds, description_hash })
	}
}

fn unsupported_name(name: &str) -> &'static str {
	match name {
		"externalId" => "externalId",
		_ => "webhookUrl",
	}
}

/// `POST /payinvoice`'s parameters.
#[derive(Debug, PartialEq, Eq)]
pub struct PayInvoice {
	/// The BOLT11 invoice.
	pub invoice: String,
	/// Amount in sat, for an amountless invoice.
	pub amount_sat: Option<u64>,
}

impl PayInvoice {
	/// Reads the form.
	pub fn from_form(form: &Form) -> Result<PayInvoice, FormError> {
		let invoice = form.get("invoice").ok_or(FormError::Missing("invoice"))?.to_string();
		let amount_sat = form.number("amountSat")?;
		if amount_sat.is_some_and(|sat| sat.checked_mul(1000).is_none()) {
			return Err(FormError::Invalid("amountSat", "too large".to_string()));
		}
		Ok(PayInvoice { invoice, amount_sat })
	}
}

/// A payment hash from a path: 64 hex digits.
pub fn parse_payment_hash(text: &str) -> Result<[u8; 32], FormError> {
	parse_hex_32(text, "paymentHash")
}

/// 32 bytes as 64 hex digits, for the parameter `name`.
fn parse_hex_32(text: &str, name: &'static str) -> Result<[u8; 32], FormError> {
	let invalid = || FormError::Invalid(name, "not 64 hex digits".to_string());
	// Each digit checked first: `from_str_radix` alone would take a sign (`+b`).
	if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
		return Err(invalid());
	}
	let mut bytes = [0u8; 32];
	for (i, byte) in bytes.iter_mut().enumerate() {
		*byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| invalid())?;
	}
	Ok(bytes)
}

#[cfg(test)]
mod tests {
	use super::*;
	use fulgur_node::{PaymentDirection, PaymentKind};

	#[test]
	fn forms_parse_with_phoenixd_names() {
		let form = Form::parse(
			b"amountSat=1500&description=coffee+%26+cake&externalId=&expirySeconds=600",
		)
		.unwrap();
		let request = CreateInvoice::from_form(&form).unwrap();
		assert_eq!(
			request,
			CreateInvoice {
				amount_sat: Some(1500),
				description: "coffee & cake".into(),
				expiry_seconds: Some(600),
				description_hash: None,
			}
		);
		let pay = PayInvoice::from_form(&Form::parse(b"invoice=lnbcrt1x").unwrap()).unwrap();
		assert_eq!(pay, PayInvoice { invoice: "lnbcrt1x".into(), amount_sat: None });
	}

	#[test]
	fn bad_forms_are_refused_naming_the_parameter() {
		let refused = |body: &[u8]| match Form::parse(body) {
			Ok(form) => CreateInvoice::from_form(&form).unwrap_err().to_string(),
			Err(e) => e.to_string(),
		};
		assert_eq!(
			refused(b"amountSat=-5"),
			"Invalid parameter amountSat: not a whole non-negative number"
		);
		assert_eq!(
			refused(b"amountSat=1e3"),
			"Invalid parameter amountSat: not a whole non-negative number"
		);
		assert_eq!(
			refused(b"amountSat=18446744073709551615"),
			"Invalid parameter amountSat: too large"
		);
		assert_eq!(refused(b"amountSat=1&amountSat=2"), "Parameter amountSat given more than once");
		assert_eq!(
			refused(b"expirySeconds=99999999999"),
			"Invalid parameter expirySeconds: too large"
		);
		let long = format!("description={}", "x".repeat(MAX_DESCRIPTION_CHARS + 1));
		assert!(refused(long.as_bytes()).contains("longer than 128"));
		assert_eq!(
			refused(b"descriptionHash=00"),
			"Invalid parameter descriptionHash: not 64 hex digits"
		);
		let hash = "ab".repeat(32);
		let with_hash = CreateInvoice::from_form(
			&Form::parse(format!("descriptionHash={hash}").as_bytes()).unwrap(),
		)
		.unwrap();
		assert_eq!(with_hash.description_hash, Some([0xab; 32]));
		assert!(refused(b"externalId=order-7").contains("externalId: not supported"));
		let no_invoice = PayInvoice::from_form(&Form::parse(b"amountSat=5").unwrap()).unwrap_err();
		assert_eq!(no_invoice.to_string(), "Missing parameter invoice");
	}

	#[test]
	fn payment_hashes_are_64_hex_digits() {
		let hash = "ab".repeat(32);
		assert_eq!(parse_payment_hash(&hash).unwrap(), [0xab; 32]);
		for bad in [
			"",
			"ab",
			&"zz".repeat(32),
			&"é".repeat(32),
			&"ab".repeat(33),
			"+b".repeat(32).as_str(),
		] {
			assert!(parse_payment_hash(bad).is_err(), "{bad}");
		}
	}

	fn payment(status: PaymentStatus) -> PaymentRecord {
		PaymentRecord {
			payment_id: "01".repeat(32),
			payment_hash: Some("02".repeat(32)),
			kind: PaymentKind::Bolt11,
			direction: PaymentDirection::Outbound,
			destination: None,
			invoice: Some("lnbcrt1".into()),
			description: None,
			amount_msat: Some(10_000_000),
			fee_msat: Some(1_001),
			max_fee_msat: None,
			preimage: Some("03".repeat(32)),
			status,
			failure_reason: None,
			created_at: 1_700_000_000,
			completed_at: Some(1_700_000_002),
		}
	}

	#[test]
	fn outgoing_payments_use_phoenixd_names_and_units() {
		let json = serde_json::to_value(OutgoingPayment::from(&payment(PaymentStatus::Succeeded)))
			.unwrap();
		assert_eq!(json["type"], "outgoing_payment");
		assert_eq!(json["isPaid"], true);
		// `sent` in sat (amount plus fee, rounded up), `fees` in msat, times in ms.
		assert_eq!(json["sent"], 10_002);
		assert_eq!(json["fees"], 1_001);
		assert_eq!(json["createdAt"], 1_700_000_000_000u64);
		assert_eq!(json["completedAt"], 1_700_000_002_000u64);
		assert_eq!(json["preimage"], "03".repeat(32));
		let pending = OutgoingPayment::from(&payment(PaymentStatus::Pending));
		assert!(!pending.is_paid);
	}

	#[test]
	fn incoming_payments_and_events_use_phoenixd_names_and_units() {
		let invoice = InvoiceRecord {
			payment_hash: "02".repeat(32),
			bolt11: "lnbcrt1".into(),
			description: "coffee".into(),
			amount_msat: Some(21_000_000),
			amount_received_msat: Some(21_000_999),
			created_at: 1_700_000_000,
			expires_at: 1_700_003_600,
			paid_at: Some(1_700_000_010),
			preimage: Some("03".repeat(32)),
			status: InvoiceStatus::Paid,
			hold: false,
			claim_deadline: None,
			add_index: 0,
			settle_index: None,
		};
		let json = serde_json::to_value(IncomingPayment::from(&invoice)).unwrap();
		let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
		for key in [
			"type",
			"subType",
			"paymentHash",
			"preimage",
			"isPaid",
			"receivedSat",
			"fees",
			"completedAt",
			"createdAt",
			"invoice",
			"description",
			"externalId",
		] {
			assert!(keys.contains(&key), "{key} in {json}");
		}
		assert_eq!(json["receivedSat"], 21_000);
		assert_eq!(json["isPaid"], true);
		let event = PaymentReceived {
			kind: "payment_received",
			amount_sat: 21_000,
			payment_hash: invoice.payment_hash.clone(),
			timestamp: millis(1_700_000_010),
		};
		let json = serde_json::to_value(&event).unwrap();
		assert_eq!(
			json,
			serde_json::json!({"type": "payment_received", "amountSat": 21_000,
				"paymentHash": "02".repeat(32), "timestamp": 1_700_000_010_000u64})
		);
	}
}
