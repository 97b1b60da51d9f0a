//! Wire types of the tower's HTTP JSON API (teos field names; bytes as hex).
//!
//! Every endpoint but `/ping` is a POST of a JSON request answered by a JSON response,
//! or by an [`ApiError`](crate::ApiError) body with a non-200 status.

use bitcoin::secp256k1::{PublicKey, SecretKey};
use bitcoin::Txid;
use serde::{Deserialize, Serialize};

use crate::appointment::{Appointment, AppointmentStatus};
use crate::crypto::{self, UserId};
use crate::locator::Locator;

/// The tower's HTTP endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
	/// `POST /register`: [`RegisterRequest`] → [`RegisterResponse`].
	Register,
	/// `POST /add_appointment`: [`AddAppointmentRequest`] → [`AddAppointmentResponse`].
	AddAppointment,
	/// `POST /get_appointment`: [`GetAppointmentRequest`] → [`GetAppointmentResponse`].
	GetAppointment,
	/// `POST /get_subscription_info`: [`GetSubscriptionInfoRequest`] →
	/// [`GetSubscriptionInfoResponse`].
	GetSubscriptionInfo,
	/// `GET /ping`: no body, 200 if the tower is up.
	Ping,
}

impl Endpoint {
	/// All endpoints.
	pub const ALL: [Endpoint; 5] = [
		Endpoint::Register,
		Endpoint::AddAppointment,
		Endpoint::GetAppointment,
		Endpoint::GetSubscriptionInfo,
		Endpoint::Ping,
	];

	/// The URL path, e.g. `/add_appointment`.
	pub fn path(self) -> &'static str {
		match self {
			Endpoint::Register => "/register",
			Endpoint::AddAppointment => "/add_appointment",
			Endpoint::GetAppointment => "/get_appointment",
			Endpoint::GetSubscriptionInfo => "/get_subscription_info",
			Endpoint::Ping => "/ping",
		}
	}

	/// The HTTP method.
	pub fn method(self) -> &'static str {
		match self {
			Endpoint::Ping => "GET",
			_ => "POST",
		}
	}
}

/// `/register`: subscribe (or top up) the user with the tower.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
	/// The user registering.
	pub user_id: UserId,
}

/// The subscription the tower granted, signed by the tower as a registration receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterResponse {
	/// The user registered.
	pub user_id: UserId,
	/// Appointment slots left.
	pub available_slots: u32,
	/// Block height the subscription starts at.
	pub subscription_start: u32,
	/// Block height the subscription ends at.
	pub subscription_expiry: u32,
	/// Tower's signature over [`RegisterResponse::receipt_to_vec`] (absent from older towers).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub subscription_signature: Option<String>,
}

impl RegisterResponse {
	/// A response signed with the tower's key.
	pub fn signed(
		user_id: UserId, available_slots: u32, subscription_start: u32, subscription_expiry: u32,
		tower_sk: &SecretKey,
	) -> Self {
		let mut response = RegisterResponse {
			user_id,
			available_slots,
			subscription_start,
			subscription_expiry,
			subscription_signature: None,
		};
		response.subscription_signature = Some(crypto::sign(&response.receipt_to_vec(), tower_sk));
		response
	}

	/// The registration receipt the tower signs:
	/// `user_id (33) || available_slots || subscription_start || subscription_expiry`, u32s big-endian.
	pub fn receipt_to_vec(&self) -> Vec<u8> {
		let mut out = self.user_id.to_bytes().to_vec();
		out.extend_from_slice(&self.available_slots.to_be_bytes());
		out.extend_from_slice(&self.subscription_start.to_be_bytes());
		out.extend_from_slice(&self.subscription_expiry.to_be_bytes());
		out
	}

	/// Whether the receipt is signed by `tower_id` (false if unsigned).
	pub fn verify(&self, tower_id: &PublicKey) -> bool {
		let sig = self.subscription_signature.as_deref();
		sig.is_some_and(|sig| crypto::verify(&self.receipt_to_vec(), sig, tower_id))
	}
}

/// `/add_appointment`: an appointment and the user's signature over it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddAppointmentRequest {
	/// The appointment.
	pub appointment: Appointment,
	/// [`Appointment::sign`] by the user; the tower recovers the user from it.
	pub signature: String,
}

impl AddAppointmentRequest {
	/// The request for `appointment`, signed by the user.
	pub fn new(appointment: Appointment, user_sk: &SecretKey) -> Self {
		let signature = appointment.sign(user_sk);
		AddAppointmentRequest { appointment, signature }
	}
}

/// The tower accepted the appointment; `signature` is its appointment receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddAppointmentResponse {
	/// Locator of the accepted appointment.
	pub locator: Locator,
	/// Height from which the tower watches for it.
	pub start_block: u32,
	/// Tower's signature over [`AddAppointmentResponse::receipt_to_vec`].
	pub signature: String,
	/// Slots left in the subscription.
	pub available_slots: u32,
	/// Block height the subscription ends at.
	pub subscription_expiry: u32,
}

impl AddAppointmentResponse {
	/// The appointment receipt the tower signs: the user's signature string (its UTF-8
	/// bytes) `|| start_block` (u32 big-endian).
	pub fn receipt_to_vec(user_signature: &str, start_block: u32) -> Vec<u8> {
		let mut out = user_signature.as_bytes().to_vec();
		out.extend_from_slice(&start_block.to_be_bytes());
		out
	}

	/// Whether the receipt for the appointment the user signed with `user_signature`
	/// is signed by `tower_id`.
	pub fn verify(&self, user_signature: &str, tower_id: &PublicKey) -> bool {
		let receipt = Self::receipt_to_vec(user_signature, self.start_block);
		crypto::verify(&receipt, &self.signature, tower_id)
	}
}

/// `/get_appointment`: ask about one of the user's appointments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetAppointmentRequest {
	/// Locator of the appointment.
	pub locator: Locator,
	/// User's signature over [`GetAppointmentRequest::message`].
	pub signature: String,
}

impl GetAppointmentRequest {
	/// The signed message: `"get appointment <locator hex>"`.
	pub fn message(locator: &Locator) -> String {
		format!("get appointment {locator}")
	}

	/// The request for `locator`, signed by the user.
	pub fn new(locator: Locator, user_sk: &SecretKey) -> Self {
		let signature = crypto::sign(Self::message(&locator).as_bytes(), user_sk);
		GetAppointmentRequest { locator, signature }
	}
}

/// What the tower holds for the appointment: JSON
/// `{"appointment": {...}, "status": "being_watched"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetAppointmentResponse {
	/// The appointment while watched, the tracker once responded; absent if not found.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub appointment: Option<AppointmentData>,
	/// Where the appointment is.
	pub status: AppointmentStatus,
}

/// The `appointment` of a [`GetAppointmentResponse`]; the two shapes are told apart by
/// their fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AppointmentData {
	/// Still watched: the appointment as sent.
	Appointment(Appointment),
	/// Dispute seen: what the tower broadcast.
	Tracker(Tracker),
}

/// A responded dispute: `{"dispute_txid", "penalty_txid", "penalty_rawtx"}`, txids in
/// the usual (display) hex order, the raw tx in consensus hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracker {
	/// The commitment (breach) txid.
	#[serde(with = "crate::ser::txid")]
	pub dispute_txid: Txid,
	/// The justice (penalty) txid.
	#[serde(with = "crate::ser::txid")]
	pub penalty_txid: Txid,
	/// The justice transaction as broadcast.
	#[serde(with = "crate::ser::hex_bytes")]
	pub penalty_rawtx: Vec<u8>,
}

/// `/get_subscription_info`: the user's subscription; the user is the signer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetSubscriptionInfoRequest {
	/// User's signature over [`GetSubscriptionInfoRequest::MESSAGE`].
	pub signature: String,
}

impl GetSubscriptionInfoRequest {
	/// The signed message.
	pub const MESSAGE: &'static str = "get subscription info";

	/// The request, signed by the user.
	pub fn new(user_sk: &SecretKey) -> Self {
		GetSubscriptionInfoRequest { signature: crypto::sign(Self::MESSAGE.as_bytes(), user_sk) }
	}
}

/// The user's subscription and the locators of its appointments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetSubscriptionInfoResponse {
	/// Appointment slots left.
	pub available_slots: u32,
	/// Block height the subscription ends at.
	pub subscription_expiry: u32,
	/// Locators of the user's appointments.
	pub locators: Vec<Locator>,
}

#[cfg(test)]
mod tests;
