//! Delivery to one tower: a task reads the outbox from the tower's cursor and sends each
//! appointment, advancing the cursor on the tower's signed receipt. A tower that is down is
//! retried with backoff; a lapsed subscription is renewed. Nothing here is on a payment's
//! path: the outbox is durable before delivery starts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::{DisplayHex, FromHex};
use bitcoin::secp256k1::PublicKey;
use fulgur_watchtower::api::AddAppointmentRequest;
use fulgur_watchtower::client::{ClientError, TowerClient};
use fulgur_watchtower::{recover_pk, ErrorCode, UserId};
use lightning::util::persist::{KVStore, KVStoreSync};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::outbox::{OutboxEntry, TOWERS_NAMESPACE};
use super::{TowerStatus, Towers};
use crate::store::DynStore;
use crate::NodeError;

/// Appointments read from the outbox per round.
const BATCH: usize = 64;
/// First retry delay after a failure; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// An idle tower task looks at the outbox at least this often.
const IDLE_RECHECK: Duration = Duration::from_secs(30);

/// What is stored per tower.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct TowerRecord {
	url: String,
	tower_id: Option<String>,
	/// Next outbox sequence number to send.
	cursor: u64,
	delivered: u64,
	rejected: u64,
	available_slots: Option<u32>,
	subscription_expiry: Option<u32>,
}

/// One configured tower: where it is, its cursor, and how delivery goes.
pub struct TowerLink {
	url: String,
	key: String,
	client: TowerClient,
	cursor: AtomicU64,
	state: Mutex<LinkState>,
}

#[derive(Default)]
struct LinkState {
	record: TowerRecord,
	registered: bool,
	reachable: bool,
	last_error: Option<String>,
	last_delivery_at: Option<u64>,
}

/// Splits `pubkey@host:port` (the tower's key given) from a bare address.
fn parse_tower(spec: &str) -> Result<(Option<PublicKey>, String), NodeError> {
	let spec = spec.trim();
	let (id, address) = match spec.rsplit_once('@') {
		Some((id, address)) => {
			let bytes = Vec::<u8>::from_hex(id.trim_start_matches("http://")).map_err(|_| {
				NodeError::InvalidRequest(format!("tower id in {spec:?} is not hex"))
			})?;
			let key = PublicKey::from_slice(&bytes).map_err(|_| {
				NodeError::InvalidRequest(format!("tower id in {spec:?} is no key"))
			})?;
			(Some(key), address.to_string())
		}
		None => (None, spec.to_string()),
	};
	let address = address.trim_start_matches("http://").trim_end_matches('/');
	if address.is_empty() || address.contains('/') {
		return Err(NodeError::InvalidRequest(format!("tower address {spec:?} is not host:port")));
	}
	Ok((id, format!("http://{address}")))
}

impl TowerLink {
	/// The tower `spec` with its stored record; a new tower starts at the outbox's `head`
	/// (it gets appointments made from now on).
	pub fn load(spec: &str, store: &Arc<DynStore>, head: u64) -> Result<TowerLink, NodeError> {
		let (id, url) = parse_tower(spec)?;
		let key = sha256::Hash::hash(url.as_bytes()).as_byte_array()[..8].to_lower_hex_string();
		let record = match KVStoreSync::read(&**store, TOWERS_NAMESPACE, "", &key) {
			Ok(bytes) => serde_json::from_slice(&bytes)
				.map_err(|e| NodeError::Persistence(format!("tower record {url}: {e}")))?,
			Err(_) => TowerRecord { url: url.clone(), cursor: head, ..TowerRecord::default() },
		};
		let mut record: TowerRecord = record;
		if let Some(id) = id {
			record.tower_id = Some(id.serialize().to_lower_hex_string());
		}
		Ok(TowerLink {
			client: TowerClient::new(&url).with_timeout(REQUEST_TIMEOUT),
			url,
			key,
			cursor: AtomicU64::new(record.cursor),
			state: Mutex::new(LinkState { record, ..LinkState::default() }),
		})
	}

	/// Next outbox sequence number this tower needs.
	pub fn cursor(&self) -> u64 {
		self.cursor.load(Ordering::Acquire)
	}

	fn lock(&self) -> std::sync::MutexGuard<'_, LinkState> {
		self.state.lock().unwrap_or_else(|e| e.into_inner())
	}

	/// The tower as the API shows it.
	pub fn status(&self, head: u64) -> TowerStatus {
		let state = self.lock();
		let status = if !state.reachable && state.last_error.is_some() {
			"unreachable"
		} else if !state.registered {
			"registering"
		} else {
			"active"
		};
		TowerStatus {
			url: self.url.clone(),
			tower_id: state.record.tower_id.clone(),
			state: status.to_string(),
			delivered: state.record.delivered,
			pending: head.saturating_sub(self.cursor()),
			rejected: state.record.rejected,
			last_error: state.last_error.clone(),
			last_delivery_at: state.last_delivery_at,
			available_slots: state.record.available_slots,
			subscription_expiry: state.record.subscription_expiry,
		}
	}

	fn tower_key(&self) -> Option<PublicKey> {
		self.tower_key_locked(&self.lock())
	}

	/// Registers (or renews) with the tower, learning its key from the receipt when it was
	/// not configured.
	async fn register(&self, towers: &Towers) -> Result<(), String> {
		let response =
			self.client.register(UserId(towers.user_id())).await.map_err(|e| e.to_string())?;
		let signer = response
			.subscription_signature
			.as_deref()
			.and_then(|sig| recover_pk(&response.receipt_to_vec(), sig).ok());
		let mut state = self.lock();
		match (self.tower_key_locked(&state), signer) {
			(Some(expected), Some(got)) if expected != got => {
				return Err(format!(
					"registration receipt signed by {got}, not the tower {expected}"
				));
			}
			(None, Some(got)) => {
				state.record.tower_id = Some(got.serialize().to_lower_hex_string())
			}
			_ => {}
		}
		state.record.available_slots = Some(response.available_slots);
		state.record.subscription_expiry = Some(response.subscription_expiry);
		state.registered = true;
		state.reachable = true;
		Ok(())
	}

	fn tower_key_locked(&self, state: &LinkState) -> Option<PublicKey> {
		let id = state.record.tower_id.as_deref()?;
		PublicKey::from_slice(&Vec::<u8>::from_hex(id).ok()?).ok()
	}

	/// Sends what the outbox holds past the cursor; the number sent.
	async fn send_batch(&self, towers: &Towers) -> Result<usize, String> {
		let entries = towers.outbox.read_from(self.cursor(), BATCH).map_err(|e| e.to_string())?;
		let mut sent = 0;
		for entry in entries {
			self.send(towers, &entry).await?;
			self.cursor.store(entry.seq + 1, Ordering::Release);
			sent += 1;
		}
		Ok(sent)
	}

	async fn send(&self, towers: &Towers, entry: &OutboxEntry) -> Result<(), String> {
		let request = AddAppointmentRequest::new(entry.appointment.clone(), &towers.user_key);
		match self.client.add_appointment(&request).await {
			Ok(response) => {
				let receipt_ok = self
					.tower_key()
					.is_none_or(|tower| response.verify(&request.signature, &tower));
				let mut state = self.lock();
				if !receipt_ok {
					state.last_error = Some("appointment receipt not signed by the tower".into());
				}
				state.record.delivered += 1;
				state.record.available_slots = Some(response.available_slots);
				state.record.subscription_expiry = Some(response.subscription_expiry);
				state.reachable = true;
				state.last_delivery_at = Some(crate::payment::unix_now());
				Ok(())
			}
			Err(e) => match e.error_code() {
				// Unknown user, lapsed subscription or no slots left: renew, then retry.
				Some(ErrorCode::InvalidSignatureOrSubscription) => {
					self.lock().registered = false;
					Err(e.to_string())
				}
				Some(ErrorCode::ServiceUnavailable) | None => {
					if matches!(e, ClientError::Connection(_) | ClientError::Timeout) {
						self.lock().reachable = false;
					}
					Err(e.to_string())
				}
				// The tower already acted on this breach: nothing left to hand over.
				Some(ErrorCode::AppointmentAlreadyTriggered) => Ok(()),
				Some(_) => {
					let mut state = self.lock();
					state.record.rejected += 1;
					state.last_error = Some(format!("appointment {} refused: {e}", entry.seq));
					Ok(())
				}
			},
		}
	}

	/// Stores cursor and counters.
	async fn save(&self, store: &Arc<DynStore>) -> Result<(), String> {
		let mut record = self.lock().record.clone();
		record.cursor = self.cursor();
		let bytes = serde_json::to_vec(&record).map_err(|e| e.to_string())?;
		KVStore::write(&**store, TOWERS_NAMESPACE, "", &self.key, bytes)
			.await
			.map_err(|e| e.to_string())
	}
}

/// Delivers the outbox to `link` until `stop`.
pub(super) async fn run(
	link: Arc<TowerLink>, towers: Arc<Towers>, mut stop: watch::Receiver<bool>,
) {
	let mut backoff = MIN_BACKOFF;
	while !*stop.borrow() {
		let new_entries = towers.new_entries.notified();
		let round = async {
			if !link.lock().registered {
				link.register(&towers).await?;
			}
			link.send_batch(&towers).await
		};
		let wait = match round.await {
			Ok(sent) => {
				backoff = MIN_BACKOFF;
				if sent > 0 {
					link.lock().last_error = None;
					if let Err(e) = link.save(towers.outbox.store()).await {
						crate::warn!(towers.logger, "tower {}: saving cursor: {e}", link.url);
					}
					towers.prune();
					continue;
				}
				IDLE_RECHECK
			}
			Err(e) => {
				crate::warn!(towers.logger, "tower {}: {e}; retrying in {backoff:?}", link.url);
				link.lock().last_error = Some(e);
				let wait = backoff;
				backoff = (backoff * 2).min(MAX_BACKOFF);
				// Progress made before the failure is kept.
				let _ = link.save(towers.outbox.store()).await;
				tokio::select! {
					_ = tokio::time::sleep(wait) => {}
					_ = stop.changed() => {}
				}
				continue;
			}
		};
		tokio::select! {
			_ = new_entries => {}
			_ = tokio::time::sleep(wait) => {}
			_ = stop.changed() => {}
		}
	}
	let _ = link.save(towers.outbox.store()).await;
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn tower_addresses_parse_with_and_without_a_key() {
		let (id, url) = parse_tower("127.0.0.1:9814").unwrap();
		assert_eq!((id, url.as_str()), (None, "http://127.0.0.1:9814"));
		let (_, url) = parse_tower("http://localhost:9814/").unwrap();
		assert_eq!(url, "http://localhost:9814");
		let key = "02".to_string() + &"11".repeat(32);
		let err = parse_tower(&format!("{key}@127.0.0.1:1")).unwrap_err();
		assert!(err.to_string().contains("no key"), "{err}");
		let key = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
		let (id, url) = parse_tower(&format!("{key}@127.0.0.1:1")).unwrap();
		assert_eq!(id.map(|k| k.to_string()), Some(key.to_string()));
		assert_eq!(url, "http://127.0.0.1:1");
		assert!(parse_tower("zz@127.0.0.1:1").is_err());
		assert!(parse_tower("127.0.0.1:1/path").is_err());
	}
}
