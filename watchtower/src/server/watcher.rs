//! The watcher: takes appointments, and for every transaction of every block looks up the
//! locator of its txid. A match decrypts the blob with the txid and hands the justice
//! transaction to the responder.

use std::sync::Arc;

use bitcoin::block::Header;
use bitcoin::secp256k1::SecretKey;
use lightning::chain::transaction::TransactionData;
use lightning::chain::{BestBlock, Listen};

use crate::api::{
	AddAppointmentRequest, AddAppointmentResponse, AppointmentData, GetAppointmentRequest,
	GetAppointmentResponse, GetSubscriptionInfoRequest, GetSubscriptionInfoResponse,
};
use crate::appointment::{Appointment, AppointmentStatus};
use crate::crypto::{self, UserId};
use crate::errors::{ApiError, ErrorCode};
use crate::locator::Locator;
use crate::server::dbm::{Dbm, StoredAppointment};
use crate::server::gatekeeper::{exhausted, storage_error, unknown_user, Gatekeeper, UserState};
use crate::server::log;
use crate::server::responder::Responder;
use crate::server::{Limits, SLOT_SIZE};

/// Slots a blob of `len` bytes takes: one per started [`SLOT_SIZE`] bytes (teos's rule).
pub fn slots_for(len: usize) -> u32 {
	u32::try_from(len.div_ceil(SLOT_SIZE).max(1)).unwrap_or(u32::MAX)
}

/// Appointments in, breaches out.
pub struct Watcher {
	db: Arc<Dbm>,
	gatekeeper: Arc<Gatekeeper>,
	responder: Arc<Responder>,
	tower_sk: SecretKey,
	limits: Limits,
}

impl Watcher {
	/// A watcher over `db`, signing receipts with `tower_sk`.
	pub fn new(
		db: Arc<Dbm>, gatekeeper: Arc<Gatekeeper>, responder: Arc<Responder>, tower_sk: SecretKey,
		limits: Limits,
	) -> Self {
		Watcher { db, gatekeeper, responder, tower_sk, limits }
	}

	/// Checks, stores (not yet durable: the caller awaits [`Dbm::durable`]) and signs the
	/// receipt of an appointment. A locator the user already sent is an update: the blob is
	/// replaced and only a size difference changes the slots. A locator holds appointments of
	/// at most [`Limits::max_appointments_per_locator`] users.
	pub fn add_appointment(
		&self, req: &AddAppointmentRequest,
	) -> Result<AddAppointmentResponse, ApiError> {
		self.check_fields(&req.appointment, &req.signature)?;
		let user = req.appointment.recover_signer(&req.signature).map_err(|_| unknown_user())?;
		let locator = req.appointment.locator;
		let start_block = self.gatekeeper.height();
		let info = {
			let mut users = self.gatekeeper.lock_users();
			let state = self.gatekeeper.check_user(&users, &user)?;
			let mut info = state.info;
			if self.responder.has_tracker(&locator, &user) {
				return Err(ApiError::new(
					ErrorCode::AppointmentAlreadyTriggered,
					format!("the dispute of locator {locator} was already seen and responded to"),
				));
			}
			let cap = self.limits.max_appointments_per_locator;
			let (old, count) =
				self.db.appointments_of_at(&locator, &user).map_err(storage_error)?;
			if old.is_none() && count >= cap {
				return Err(exhausted(format!(
					"locator {locator} already has the most appointments the tower takes ({cap})"
				)));
			}
			let old_slots = old.map_or(0, |a| slots_for(a.encrypted_blob.len()));
			let new_slots = slots_for(req.appointment.encrypted_blob.len());
			let available = info.available_slots.saturating_add(old_slots);
			if new_slots > available {
				return Err(ApiError::new(
					ErrorCode::InvalidSignatureOrSubscription,
					format!("not enough slots: {new_slots} needed, {available} available"),
				));
			}
			info.available_slots = available - new_slots;
			let stored = StoredAppointment {
				start_block,
				to_self_delay: req.appointment.to_self_delay,
				encrypted_blob: req.appointment.encrypted_blob.clone(),
			};
			self.db.put_appointment(&locator, &user, &stored, info).map_err(storage_error)?;
			// Slots move from free to used: what the user holds stays the same.
			let used_slots = state.used_slots.saturating_sub(old_slots).saturating_add(new_slots);
			users.set(user, UserState { info, used_slots });
			info
		};
		let receipt = AddAppointmentResponse::receipt_to_vec(&req.signature, start_block);
		Ok(AddAppointmentResponse {
			locator,
			start_block,
			signature: crypto::sign(&receipt, &self.tower_sk),
			available_slots: info.available_slots,
			subscription_expiry: info.subscription_expiry,
		})
	}

	fn check_fields(&self, appointment: &Appointment, signature: &str) -> Result<(), ApiError> {
		let len = appointment.encrypted_blob.len();
		if len == 0 {
			return Err(ApiError::new(ErrorCode::EmptyField, "encrypted_blob is empty"));
		}
		if len < self.limits.min_blob_size {
			return Err(ApiError::new(
				ErrorCode::AppointmentFieldTooSmall,
				format!(
					"encrypted_blob is {len} bytes, below the minimum {}",
					self.limits.min_blob_size
				),
			));
		}
		if len > self.limits.max_blob_size {
			return Err(ApiError::new(
				ErrorCode::AppointmentFieldTooBig,
				format!(
					"encrypted_blob is {len} bytes, above the maximum {}",
					self.limits.max_blob_size
				),
			));
		}
		if signature.is_empty() {
			return Err(ApiError::new(ErrorCode::EmptyField, "signature is empty"));
		}
		Ok(())
	}

	/// What the tower holds for one of the signer's appointments.
	pub fn get_appointment(
		&self, req: &GetAppointmentRequest,
	) -> Result<GetAppointmentResponse, ApiError> {
		let message = GetAppointmentRequest::message(&req.locator);
		let (user, _) = self.gatekeeper.authenticate(message.as_bytes(), &req.signature)?;
		if let Some(a) = self.db.appointment(&req.locator, &user).map_err(storage_error)? {
			let appointment = Appointment::new(req.locator, a.encrypted_blob, a.to_self_delay);
			return Ok(GetAppointmentResponse {
				appointment: Some(AppointmentData::Appointment(appointment)),
				status: AppointmentStatus::BeingWatched,
			});
		}
		if let Some(tracker) = self.responder.tracker(&req.locator, &user) {
			return Ok(GetAppointmentResponse {
				appointment: Some(AppointmentData::Tracker(tracker.to_api())),
				status: AppointmentStatus::DisputeResponded,
			});
		}
		Err(ApiError::new(
			ErrorCode::AppointmentNotFound,
			format!("no appointment with locator {} for this user", req.locator),
		))
	}

	/// The signer's subscription and the locators of all their appointments.
	pub fn get_subscription_info(
		&self, req: &GetSubscriptionInfoRequest,
	) -> Result<GetSubscriptionInfoResponse, ApiError> {
		let message = GetSubscriptionInfoRequest::MESSAGE.as_bytes();
		let (user, info) = self.gatekeeper.authenticate(message, &req.signature)?;
		let mut locators = self.db.locators_of(&user).map_err(storage_error)?;
		locators.extend(self.responder.locators_of(&user));
		Ok(GetSubscriptionInfoResponse {
			available_slots: info.available_slots,
			subscription_expiry: info.subscription_expiry,
			locators,
		})
	}

	fn respond(
		&self, locator: Locator, user: UserId, a: StoredAppointment, tx: &bitcoin::Transaction,
		height: u32,
	) {
		let txid = tx.compute_txid();
		match crypto::decrypt(&a.encrypted_blob, &txid) {
			Ok(penalty) => {
				if let Err(e) = self.responder.handle_breach(locator, user, tx, penalty, height) {
					// Kept as an appointment: the block is processed again after a restart.
					log::error!("storing the tracker of {locator}: {e}");
					return;
				}
			}
			Err(e) => log::warn!(
				"appointment {locator} of {user} matched {txid} but its blob is useless ({e}); dropped"
			),
		}
		match self.db.remove_appointment(&locator, &user) {
			Ok(()) => self.gatekeeper.release_slots(&user, slots_for(a.encrypted_blob.len())),
			Err(e) => log::error!("removing triggered appointment {locator}: {e}"),
		}
	}
}

impl Listen for Watcher {
	fn filtered_block_connected(&self, _header: &Header, txdata: &TransactionData, height: u32) {
		for (_, tx) in txdata.iter() {
			let locator = Locator::from_txid(&tx.compute_txid());
			match self.db.appointments_at(&locator) {
				Ok(found) => {
					for (user, appointment) in found {
						self.respond(locator, user, appointment, tx, height);
					}
				}
				Err(e) => log::error!("looking up locator {locator}: {e}"),
			}
		}
	}

	fn blocks_disconnected(&self, _fork_point: BestBlock) {
		// Triggered appointments live on in the responder, which handles reorgs.
	}
}
