//! Webhooks as stored: registrations in `fulgur_webhooks` and delivery cursors in
//! `fulgur_webhook_outbox`, both keyed by webhook id.
//!
//! Invariant: field for field what fulgur before record versions wrote (version 1), so both
//! versions read with these structs. The conversions live with the webhook types, in
//! `webhooks` (a layer above storage).

use serde::{Deserialize, Serialize};

use crate::records::version::StoredRecord;

/// A stored registration, with its signing secret; version 2.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredWebhook {
	pub(crate) id: String,
	pub(crate) url: String,
	pub(crate) events: Vec<String>,
	pub(crate) created_at: u64,
	pub(crate) secret: String,
}

/// A stored delivery cursor; version 2.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredDelivery {
	pub(crate) next_index: u64,
	pub(crate) delivered: u64,
	pub(crate) failed_attempts: u32,
	pub(crate) last_error: Option<String>,
	pub(crate) next_attempt_at: Option<u64>,
}

impl StoredRecord for StoredWebhook {
	const VERSION: u32 = 2;
}

impl StoredRecord for StoredDelivery {
	const VERSION: u32 = 2;
}
