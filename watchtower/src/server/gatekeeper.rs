//! The gatekeeper: who may use the tower. Users register for a subscription of appointment
//! slots that ends at a block height; every request is authenticated by the signature it
//! carries (the user id is the key that recovers from it).
//!
//! Users are few and small, so they are kept in memory (and in sled); appointments are not.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bitcoin::block::Header;
use lightning::chain::transaction::TransactionData;
use lightning::chain::{BestBlock, Listen};

use crate::crypto::{self, UserId};
use crate::errors::{ApiError, ErrorCode};
use crate::server::dbm::{Dbm, UserInfo};
use crate::server::log;

/// What a registration buys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubscriptionConfig {
	/// Appointment slots per registration (each appointment takes one slot per started
	/// [`SLOT_SIZE`](crate::server::SLOT_SIZE) bytes of blob).
	pub slots: u32,
	/// Blocks a subscription lasts from the registration.
	pub duration: u32,
	/// Blocks after expiry before the user's appointments are deleted (a grace period to
	/// renew).
	pub expiry_delta: u32,
}

impl Default for SubscriptionConfig {
	/// teos's defaults: 10,000 slots for 4,320 blocks (about a month), 6 blocks of grace.
	fn default() -> Self {
		SubscriptionConfig { slots: 10_000, duration: 4_320, expiry_delta: 6 }
	}
}

/// Users and their subscriptions; follows the chain height.
pub struct Gatekeeper {
	db: Arc<Dbm>,
	users: Mutex<HashMap<UserId, UserInfo>>,
	height: AtomicU32,
	config: SubscriptionConfig,
}

impl Gatekeeper {
	/// Loads the users from `db`; `height` is the height of the last block processed.
	pub fn new(db: Arc<Dbm>, config: SubscriptionConfig, height: u32) -> io::Result<Self> {
		let users = db.users()?.into_iter().collect();
		Ok(Gatekeeper { db, users: Mutex::new(users), height: AtomicU32::new(height), config })
	}

	/// The height of the last block processed.
	pub fn height(&self) -> u32 {
		self.height.load(Ordering::Acquire)
	}

	/// Sets the height of a fresh tower, which starts at bitcoind's tip.
	pub(crate) fn set_height(&self, height: u32) {
		self.height.store(height, Ordering::Release);
	}

	/// How many users are registered.
	pub fn user_count(&self) -> usize {
		self.lock_users().len()
	}

	pub(crate) fn lock_users(&self) -> MutexGuard<'_, HashMap<UserId, UserInfo>> {
		// Every critical section leaves the map consistent (no panics between updates).
		self.users.lock().unwrap_or_else(|e| e.into_inner())
	}

	/// Registers `user`, or renews their subscription: slots are added, the expiry moves to
	/// `duration` blocks from now. The caller makes it durable before answering.
	pub fn register(&self, user: UserId) -> Result<UserInfo, ApiError> {
		let height = self.height();
		let expiry = height.saturating_add(self.config.duration);
		let mut users = self.lock_users();
		let info = match users.get(&user) {
			Some(old) => {
				let slots =
					old.available_slots.checked_add(self.config.slots).ok_or_else(|| {
						ApiError::new(
							ErrorCode::RegistrationResourceExhausted,
							"the subscription already holds the maximum number of slots",
						)
					})?;
				UserInfo {
					available_slots: slots,
					subscription_start: height,
					subscription_expiry: expiry,
				}
			}
			None => UserInfo {
				available_slots: self.config.slots,
				subscription_start: height,
				subscription_expiry: expiry,
			},
		};
		self.db.put_user(&user, info).map_err(storage_error)?;
		users.insert(user, info);
		Ok(info)
	}

	/// The user who signed `message`, if registered and not expired.
	pub fn authenticate(
		&self, message: &[u8], signature: &str,
	) -> Result<(UserId, UserInfo), ApiError> {
		let user =
			crypto::recover_pk(message, signature).map(UserId).map_err(|_| invalid_signature())?;
		let info = self.check_user(&self.lock_users(), &user)?;
		Ok((user, info))
	}

	/// `user`'s subscription if it exists and is current; the teos code 7 otherwise.
	pub(crate) fn check_user(
		&self, users: &HashMap<UserId, UserInfo>, user: &UserId,
	) -> Result<UserInfo, ApiError> {
		let info = users.get(user).copied().ok_or_else(unknown_user)?;
		if self.height() >= info.subscription_expiry {
			return Err(ApiError::new(
				ErrorCode::InvalidSignatureOrSubscription,
				format!(
					"subscription expired at block {}; register again",
					info.subscription_expiry
				),
			));
		}
		Ok(info)
	}
}

/// A signature that does not parse: code 7, like an unknown user.
pub(crate) fn invalid_signature() -> ApiError {
	ApiError::new(ErrorCode::InvalidSignatureOrSubscription, "invalid signature")
}

/// A signer the tower does not know (a wrong signature recovers to a stranger, too).
pub(crate) fn unknown_user() -> ApiError {
	ApiError::new(
		ErrorCode::InvalidSignatureOrSubscription,
		"invalid signature or user not registered; register first",
	)
}

/// A storage failure, logged with detail and answered as service unavailable.
pub(crate) fn storage_error(e: io::Error) -> ApiError {
	log::error(format_args!("storage: {e}"));
	ApiError::new(ErrorCode::ServiceUnavailable, "the tower cannot store data right now")
}

impl Listen for Gatekeeper {
	fn filtered_block_connected(&self, _header: &Header, _txdata: &TransactionData, height: u32) {
		self.height.store(height, Ordering::Release);
		let mut users = self.lock_users();
		let outdated: Vec<UserId> = users
			.iter()
			.filter(|(_, info)| {
				height >= info.subscription_expiry.saturating_add(self.config.expiry_delta)
			})
			.map(|(user, _)| *user)
			.collect();
		for user in outdated {
			match self.db.remove_user(&user) {
				Ok(count) => {
					users.remove(&user);
					log::info(format_args!(
						"user {user} expired at block {height}: {count} appointments deleted"
					));
				}
				// Kept in memory too, so the next block tries again.
				Err(e) => log::error(format_args!("deleting expired user {user}: {e}")),
			}
		}
	}

	fn blocks_disconnected(&self, fork_point: BestBlock) {
		self.height.store(fork_point.height, Ordering::Release);
	}
}
