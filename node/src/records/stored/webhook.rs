//! Webhooks as stored: registrations in `fulgur_webhooks` and delivery cursors in
//! `fulgur_webhook_outbox`, both keyed by webhook id.
//!
//! Invariant: a registration is written in version 3 (version 2's fields and `ca_cert_pem`,
//! always present, `null` without a CA); versions 1 and 2 (field for field what fulgur before
//! record versions wrote) read through their frozen layout, [`StoredWebhookV2`], with no CA.
//! A fulgur that knows only version 2 refuses a version 3 registration rather than
//! delivering without its CA. Delivery cursors are version 2 (version 1's fields). The
//! conversions live with the webhook types, in `webhooks` (a layer above storage).

use serde::{Deserialize, Serialize};

use crate::records::version::StoredRecord;

/// A stored registration, with its signing secret; version 3.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredWebhook {
	pub(crate) id: String,
	pub(crate) url: String,
	pub(crate) events: Vec<String>,
	pub(crate) created_at: u64,
	pub(crate) secret: String,
	/// The CA certificate(s), PEM, an `https://` receiver's certificate must chain to.
	pub(crate) ca_cert_pem: Option<String>,
}

/// A registration of versions 1 and 2, frozen: what those versions stored.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredWebhookV2 {
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
	const VERSION: u32 = 3;

	fn read_older(version: u32, bytes: &[u8]) -> Result<Self, serde_json::Error> {
		let _ = version;
		let StoredWebhookV2 { id, url, events, created_at, secret } =
			serde_json::from_slice(bytes)?;
		Ok(StoredWebhook { id, url, events, created_at, secret, ca_cert_pem: None })
	}
}

impl StoredRecord for StoredDelivery {
	const VERSION: u32 = 2;
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::records::version::{decode, encode, Read};

	fn hook(ca_cert_pem: Option<&str>) -> StoredWebhook {
		StoredWebhook {
			id: "ab".into(),
			url: "https://shop.example/h".into(),
			events: vec![],
			created_at: 7,
			secret: "whsec_00".into(),
			ca_cert_pem: ca_cert_pem.map(String::from),
		}
	}

	#[test]
	fn version_3_adds_the_ca_and_reads_versions_1_and_2_without_one() {
		let v2 = r#""id":"ab","url":"https://shop.example/h","events":[],"created_at":7,"secret":"whsec_00""#;
		for (old, version) in [(format!("{{{v2}}}"), 1), (format!("{{\"v\":2,{v2}}}"), 2)] {
			let read = decode::<StoredWebhook>(old.as_bytes()).expect("older");
			assert_eq!(read, Read { record: hook(None), version });
		}
		let with_ca = hook(Some("-----BEGIN CERTIFICATE-----"));
		let bytes = String::from_utf8(encode(&with_ca).expect("encode")).expect("utf8");
		assert_eq!(
			bytes,
			format!("{{\"v\":3,{v2},\"ca_cert_pem\":\"-----BEGIN CERTIFICATE-----\"}}")
		);
		assert_eq!(decode::<StoredWebhook>(bytes.as_bytes()).expect("v3").record, with_ca);
		let without = String::from_utf8(encode(&hook(None)).expect("encode")).expect("utf8");
		assert_eq!(without, format!("{{\"v\":3,{v2},\"ca_cert_pem\":null}}"));
	}
}
