//! The gatekeeper: who may use the tower. Users register for a subscription of appointment
//! slots that ends at a block height; every request is authenticated by the signature it
//! carries (the user id is the key that recovers from it).
//!
//! Registration is free and unsigned (teos clients do not sign it), so what it hands out is
//! capped: users at once, slots per user and slots in all, each counted free plus used. A
//! renewal tops a subscription up to its cap and moves its expiry, and never fails for
//! a known user: re-registering someone else's id cannot lock them out.
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
use crate::server::options::RegistrationCaps;
pub use crate::server::options::SubscriptionConfig;

/// A user as the gatekeeper follows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserState {
	/// The subscription (free slots, start, expiry), as stored.
	pub info: UserInfo,
	/// Slots the user's stored appointments take.
	pub used_slots: u32,
}

impl UserState {
	fn held(&self) -> u64 {
		u64::from(self.info.available_slots) + u64::from(self.used_slots)
	}
}

/// Every user, and the slots they hold together.
#[derive(Default)]
pub struct Users {
	map: HashMap<UserId, UserState>,
	/// Sum of every user's free and used slots.
	held: u64,
}

impl Users {
	/// A user's state.
	pub fn get(&self, user: &UserId) -> Option<UserState> {
		self.map.get(user).copied()
	}

	/// Sets a user's state, keeping the total.
	pub(crate) fn set(&mut self, user: UserId, state: UserState) {
		let old = self.map.insert(user, state).map_or(0, |old| old.held());
		self.held = self.held.saturating_sub(old).saturating_add(state.held());
	}

	fn remove(&mut self, user: &UserId) {
		if let Some(old) = self.map.remove(user) {
			self.held = self.held.saturating_sub(old.held());
		}
	}

	/// How many users there are.
	pub fn len(&self) -> usize {
		self.map.len()
	}

	/// Whether there is none.
	pub fn is_empty(&self) -> bool {
		self.map.is_empty()
	}

	/// Slots held by all users, free plus used.
	pub fn held_slots(&self) -> u64 {
		self.held
	}
}

/// Users and their subscriptions; follows the chain height.
pub struct Gatekeeper {
	db: Arc<Dbm>,
	users: Mutex<Users>,
	height: AtomicU32,
	config: SubscriptionConfig,
	caps: RegistrationCaps,
}

impl Gatekeeper {
	/// Loads the users from `db`, with `used`, the slots their appointments take (as
	/// [`Dbm::open`] counted them); `height` is the height of the last block processed.
	pub fn new(
		db: Arc<Dbm>, mut used: HashMap<UserId, u32>, config: SubscriptionConfig,
		caps: RegistrationCaps, height: u32,
	) -> io::Result<Self> {
		let mut users = Users::default();
		for (user, info) in db.users()? {
			let used_slots = used.remove(&user).unwrap_or(0);
			users.set(user, UserState { info, used_slots });
		}
		let gatekeeper = Gatekeeper {
			db,
			users: Mutex::new(users),
			height: AtomicU32::new(height),
			config,
			caps,
		};
		Ok(gatekeeper)
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

	/// Slots held by all users, free plus used.
	pub fn held_slots(&self) -> u64 {
		self.lock_users().held_slots()
	}

	/// Whether `user` is registered (expired or not, until deleted).
	pub fn is_registered(&self, user: &UserId) -> bool {
		self.lock_users().get(user).is_some()
	}

	pub(crate) fn lock_users(&self) -> MutexGuard<'_, Users> {
		// Every critical section leaves the map consistent (no panics between updates).
		self.users.lock().unwrap_or_else(|e| e.into_inner())
	}

	/// Registers `user`, or renews their subscription: slots are added up to the caps, the
	/// expiry moves to `duration` blocks from now. A new user is refused when the tower holds
	/// its most users or slots; a known one always renews. The caller makes it durable before
	/// answering.
	pub fn register(&self, user: UserId) -> Result<UserInfo, ApiError> {
		let height = self.height();
		let expiry = height.saturating_add(self.config.duration);
		let mut users = self.lock_users();
		let known = users.get(&user);
		if known.is_none() && users.len() >= self.caps.max_users {
			return Err(exhausted("the tower takes no more users; try again later"));
		}
		let state = known.unwrap_or(UserState {
			info: UserInfo { available_slots: 0, subscription_start: 0, subscription_expiry: 0 },
			used_slots: 0,
		});
		let room_for_user = u64::from(self.caps.max_slots_per_user).saturating_sub(state.held());
		let room_in_tower = self.caps.max_total_slots.saturating_sub(users.held_slots());
		let grant = u64::from(self.config.slots).min(room_for_user).min(room_in_tower);
		if known.is_none() && grant == 0 {
			return Err(exhausted("the tower has no free slots left; try again later"));
		}
		let grant = u32::try_from(grant).unwrap_or(u32::MAX);
		let info = UserInfo {
			available_slots: state.info.available_slots.saturating_add(grant),
			subscription_start: height,
			subscription_expiry: expiry,
		};
		self.db.put_user(&user, info).map_err(storage_error)?;
		users.set(user, UserState { info, ..state });
		Ok(info)
	}

	/// Slots `user`'s appointments no longer take (they were triggered).
	pub(crate) fn release_slots(&self, user: &UserId, slots: u32) {
		let mut users = self.lock_users();
		if let Some(state) = users.get(user) {
			let used_slots = state.used_slots.saturating_sub(slots);
			users.set(*user, UserState { used_slots, ..state });
		}
	}

	/// The user who signed `message`, if registered and not expired.
	pub fn authenticate(
		&self, message: &[u8], signature: &str,
	) -> Result<(UserId, UserInfo), ApiError> {
		let user =
			crypto::recover_pk(message, signature).map(UserId).map_err(|_| invalid_signature())?;
		let state = self.check_user(&self.lock_users(), &user)?;
		Ok((user, state.info))
	}

	/// `user`'s state if they exist and their subscription is current; the teos code 7
	/// otherwise.
	pub(crate) fn check_user(&self, users: &Users, user: &UserId) -> Result<UserState, ApiError> {
		let state = users.get(user).ok_or_else(unknown_user)?;
		if self.height() >= state.info.subscription_expiry {
			return Err(ApiError::new(
				ErrorCode::InvalidSignatureOrSubscription,
				format!(
					"subscription expired at block {}; register again",
					state.info.subscription_expiry
				),
			));
		}
		Ok(state)
	}
}

/// The tower is out of what a request needs: code 65.
pub(crate) fn exhausted(message: impl Into<String>) -> ApiError {
	ApiError::new(ErrorCode::RegistrationResourceExhausted, message)
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
	log::error!("storage: {e}");
	ApiError::new(ErrorCode::ServiceUnavailable, "the tower cannot store data right now")
}

impl Listen for Gatekeeper {
	fn filtered_block_connected(&self, _header: &Header, _txdata: &TransactionData, height: u32) {
		self.height.store(height, Ordering::Release);
		let mut users = self.lock_users();
		let outdated: Vec<UserId> = users
			.map
			.iter()
			.filter(|(_, state)| {
				height >= state.info.subscription_expiry.saturating_add(self.config.expiry_delta)
			})
			.map(|(user, _)| *user)
			.collect();
		for user in outdated {
			match self.db.remove_user(&user) {
				Ok(count) => {
					users.remove(&user);
					log::info!(
						"user {user} expired at block {height}: {count} appointments deleted"
					);
				}
				// Kept in memory too, so the next block tries again.
				Err(e) => log::error!("deleting expired user {user}: {e}"),
			}
		}
	}

	fn blocks_disconnected(&self, fork_point: BestBlock) {
		self.height.store(fork_point.height, Ordering::Release);
	}
}
