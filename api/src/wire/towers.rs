//! `GET /v1/towers`: the watchtowers the node hands revoked states to.

use serde::{Deserialize, Serialize};

/// A configured tower.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TowerStatus {
	/// The tower's address as configured.
	pub url: String,
	/// The tower's public key (hex): configured, or learned from its first signed receipt.
	pub tower_id: Option<String>,
	/// `active` (appointments go through), `unreachable` (retrying), `registering`, or
	/// `misbehaving` (its last answer was not signed by its key; the reason in `last_error`;
	/// nothing it answered counts, and delivery retries).
	pub state: String,
	/// Appointments the tower accepted.
	pub delivered: u64,
	/// Appointments waiting in the outbox for this tower.
	pub pending: u64,
	/// Appointments the tower refused for good (with the reason in `last_error`).
	pub rejected: u64,
	/// Why the last attempt failed.
	pub last_error: Option<String>,
	/// When an appointment last went through (UNIX seconds).
	pub last_delivery_at: Option<u64>,
	/// Appointment slots left in the subscription.
	pub available_slots: Option<u32>,
	/// Block height the subscription ends at.
	pub subscription_expiry: Option<u32>,
}

/// `GET /v1/towers` answer; `towers` is empty when none is configured.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListTowersResponse {
	/// Each tower with its delivery state.
	pub towers: Vec<TowerStatus>,
	/// Appointments waiting for at least one tower.
	pub outbox: u64,
}
