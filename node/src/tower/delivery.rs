//! Delivery to one tower: a task reads the outbox from the tower's cursor and sends each
//! appointment, advancing the cursor only on a receipt signed by the tower's key. That key is
//! configured (`pubkey@host:port`) or learned from the first signed receipt and then pinned:
//! stored before anything it signed counts, and a receipt by any other key (or no valid
//! signature) leaves the cursor, the outbox and the counters alone and marks the tower
//! `misbehaving`. A tower that is down is retried with backoff; a lapsed subscription is
//! renewed. Nothing here is on a payment's path: the outbox is durable before delivery starts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::{DisplayHex, FromHex};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use fulgur_tower_protocol::api::{AddAppointmentRequest, AddAppointmentResponse};
use fulgur_tower_protocol::client::{ClientError, TowerClient};
use fulgur_tower_protocol::{recover_pk, ErrorCode, UserId};
use lightning::util::persist::{KVStore, KVStoreSync};
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};

use super::outbox::{Outbox, OutboxEntry, TOWERS_NAMESPACE};
use super::TowerStatus;
use crate::config::{
	TOWER_IDLE_RECHECK, TOWER_MAX_BACKOFF, TOWER_MIN_BACKOFF, TOWER_REQUEST_TIMEOUT,
};
use crate::logger::FulgurLogger;
use crate::store::DynStore;
use crate::NodeError;

/// Appointments read from the outbox per round.
const BATCH: usize = 64;

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
	/// The tower's last answer was signed by the wrong key or not at all (the reason is in
	/// `last_error`); cleared by the next receipt that verifies.
	misbehaving: bool,
	last_error: Option<String>,
	last_delivery_at: Option<u64>,
}

/// What delivery needs: the outbox, our key with the towers, and the towers.
pub(crate) struct Courier {
	pub(super) outbox: Outbox,
	user_key: SecretKey,
	pub(super) links: Vec<Arc<TowerLink>>,
	logger: Arc<FulgurLogger>,
	/// Woken when entries became durable.
	new_entries: Notify,
}

impl Courier {
	/// Delivery of `outbox` to the towers `links`, signing as `user_key`.
	pub(super) fn new(
		outbox: Outbox, user_key: SecretKey, links: Vec<Arc<TowerLink>>, logger: Arc<FulgurLogger>,
	) -> Courier {
		if let Some(furthest) = links.iter().map(|link| link.cursor()).max() {
			outbox.raise_head(furthest);
		}
		Courier { outbox, user_key, links, logger, new_entries: Notify::new() }
	}

	/// Our user id with the towers.
	pub(super) fn user_id(&self) -> PublicKey {
		PublicKey::from_secret_key(&Secp256k1::signing_only(), &self.user_key)
	}

	/// Tells the delivery tasks that entries became durable.
	pub(super) fn entries_durable(&self) {
		self.new_entries.notify_waiters();
	}

	/// Drops outbox entries every tower has.
	fn prune(&self) {
		let Some(lowest) = self.links.iter().map(|link| link.cursor()).min() else { return };
		if let Err(e) = self.outbox.prune_below(lowest) {
			crate::warn!(self.logger, "pruning the tower outbox: {e}");
		}
	}
}

/// Why a signature is not the tower's: `what` was signed by `signer` (`None`: the signature
/// is invalid), not by the pinned key.
fn signed_by(what: &str, signer: Option<PublicKey>, pinned: PublicKey) -> String {
	match signer {
		Some(signer) => format!("{what} signed by {signer}, not by the tower's key {pinned}"),
		None => format!("{what}: the signature is invalid (the tower's key is {pinned})"),
	}
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
			client: TowerClient::new(&url).with_timeout(TOWER_REQUEST_TIMEOUT),
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
		let status = if state.misbehaving {
			"misbehaving"
		} else if !state.reachable && state.last_error.is_some() {
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

	/// Registers (or renews) with the tower. A signed receipt is checked against the tower's
	/// key, or, when none is known yet, its signer becomes the key (pinned: stored first).
	/// An unsigned receipt (older towers) is accepted: the key then comes from the first
	/// appointment receipt.
	async fn register(&self, courier: &Courier) -> Result<(), String> {
		let user = UserId(courier.user_id());
		let response = self.client.register(user).await.map_err(|e| e.to_string())?;
		if response.user_id != user {
			return Err(format!("the tower registered {} instead of us", response.user_id));
		}
		if let Some(signature) = response.subscription_signature.as_deref() {
			let receipt = response.receipt_to_vec();
			let signer = recover_pk(&receipt, signature).ok();
			match (self.tower_key(), signer) {
				(Some(pinned), _) if response.verify(&pinned) => {}
				(Some(pinned), signer) => {
					return Err(self.misbehaving(signed_by("registration receipt", signer, pinned)))
				}
				(None, Some(signer)) => self.pin(signer, courier.outbox.store()).await?,
				(None, None) => {
					return Err(self
						.misbehaving("registration receipt: the signature is invalid".to_string()))
				}
			}
		}
		let mut state = self.lock();
		state.record.available_slots = Some(response.available_slots);
		state.record.subscription_expiry = Some(response.subscription_expiry);
		state.registered = true;
		state.reachable = true;
		Ok(())
	}

	/// Marks the tower as misbehaving; returns the reason.
	fn misbehaving(&self, reason: String) -> String {
		let mut state = self.lock();
		state.misbehaving = true;
		state.reachable = true;
		reason
	}

	/// Makes `key` the tower's key: stored before anything it signed is relied upon.
	async fn pin(&self, key: PublicKey, store: &Arc<DynStore>) -> Result<(), String> {
		let mut record = self.lock().record.clone();
		record.tower_id = Some(key.serialize().to_lower_hex_string());
		record.cursor = self.cursor();
		self.write_record(&record, store)
			.await
			.map_err(|e| format!("storing the tower key: {e}"))?;
		self.lock().record.tower_id = record.tower_id;
		Ok(())
	}

	/// Checks an appointment receipt: signed by the tower's key, or the first signed receipt of
	/// a tower whose key is not known yet (its signer is pinned).
	async fn check_receipt(
		&self, courier: &Courier, user_signature: &str, response: &AddAppointmentResponse,
	) -> Result<(), String> {
		let receipt = AddAppointmentResponse::receipt_to_vec(user_signature, response.start_block);
		let signer = recover_pk(&receipt, &response.signature).ok();
		match (self.tower_key(), signer) {
			(Some(pinned), _) if response.verify(user_signature, &pinned) => Ok(()),
			(Some(pinned), signer) => {
				Err(self.misbehaving(signed_by("appointment receipt", signer, pinned)))
			}
			(None, Some(signer)) => self.pin(signer, courier.outbox.store()).await,
			(None, None) => {
				Err(self.misbehaving("appointment receipt: the signature is invalid".to_string()))
			}
		}
	}

	fn tower_key_locked(&self, state: &LinkState) -> Option<PublicKey> {
		let id = state.record.tower_id.as_deref()?;
		PublicKey::from_slice(&Vec::<u8>::from_hex(id).ok()?).ok()
	}

	/// Sends what the outbox holds past the cursor; the number sent.
	async fn send_batch(&self, courier: &Courier) -> Result<usize, String> {
		let (entries, next) =
			courier.outbox.read_from(self.cursor(), BATCH).map_err(|e| e.to_string())?;
		let mut sent = 0;
		for entry in entries {
			self.send(courier, &entry).await?;
			self.cursor.store(entry.seq + 1, Ordering::Release);
			sent += 1;
		}
		// Past what was sent and any entry whose write failed.
		self.cursor.fetch_max(next, Ordering::AcqRel);
		Ok(sent)
	}

	async fn send(&self, courier: &Courier, entry: &OutboxEntry) -> Result<(), String> {
		let request = AddAppointmentRequest::new(entry.appointment.clone(), &courier.user_key);
		match self.client.add_appointment(&request).await {
			Ok(response) => {
				// A receipt that does not verify proves nothing: the entry stays unsent.
				self.check_receipt(courier, &request.signature, &response)
					.await
					.map_err(|e| format!("appointment {}: {e}", entry.seq))?;
				let mut state = self.lock();
				state.misbehaving = false;
				state.record.delivered += 1;
				state.record.available_slots = Some(response.available_slots);
				state.record.subscription_expiry = Some(response.subscription_expiry);
				state.reachable = true;
				state.last_delivery_at = Some(fulgur_base::clock::unix_now());
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
		self.write_record(&record, store).await
	}

	async fn write_record(
		&self, record: &TowerRecord, store: &Arc<DynStore>,
	) -> Result<(), String> {
		let bytes = serde_json::to_vec(record).map_err(|e| e.to_string())?;
		KVStore::write(&**store, TOWERS_NAMESPACE, "", &self.key, bytes)
			.await
			.map_err(|e| e.to_string())
	}
}

/// One delivery round: registers if needed, then sends what the outbox holds past the
/// tower's cursor; saves the progress and prunes what every tower has. The number sent.
pub(super) async fn deliver_once(link: &TowerLink, courier: &Courier) -> Result<usize, String> {
	let round = async {
		if !link.lock().registered {
			link.register(courier).await?;
		}
		link.send_batch(courier).await
	};
	match round.await {
		Ok(sent) => {
			if sent > 0 {
				link.lock().last_error = None;
				match link.save(courier.outbox.store()).await {
					// Only what a stored cursor has passed may go.
					Ok(()) => courier.prune(),
					Err(e) => {
						crate::warn!(courier.logger, "tower {}: saving cursor: {e}", link.url)
					}
				}
			}
			Ok(sent)
		}
		Err(e) => {
			link.lock().last_error = Some(e.clone());
			// Progress made before the failure is kept.
			let _ = link.save(courier.outbox.store()).await;
			Err(e)
		}
	}
}

/// Delivers the outbox to `link` until `stop`.
pub(super) async fn run(
	link: Arc<TowerLink>, courier: Arc<Courier>, mut stop: watch::Receiver<bool>,
) {
	let mut backoff = TOWER_MIN_BACKOFF;
	while !*stop.borrow() {
		let new_entries = courier.new_entries.notified();
		let wait = match deliver_once(&link, &courier).await {
			Ok(sent) => {
				backoff = TOWER_MIN_BACKOFF;
				if sent > 0 {
					continue;
				}
				TOWER_IDLE_RECHECK
			}
			Err(e) => {
				crate::warn!(courier.logger, "tower {}: {e}; retrying in {backoff:?}", link.url);
				let wait = backoff;
				backoff = (backoff * 2).min(TOWER_MAX_BACKOFF);
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
	let _ = link.save(courier.outbox.store()).await;
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
