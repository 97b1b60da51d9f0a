//! The tower's sled database.
//!
//! One tree, keys prefixed by kind, so a single atomic `apply_batch` covers an appointment,
//! its index entry and the user's slot count:
//!
//! | key | value |
//! |-----|-------|
//! | `U` user (33) | [`UserInfo`]: slots, start, expiry (u32 BE each) |
//! | `A` locator (16) user (33) | [`StoredAppointment`]: start block, to_self_delay, blob |
//! | `I` user (33) locator (16) | empty: the user's locators, for listing and expiry |
//! | `T` locator (16) user (33) | a responder tracker |
//! | `Mtip` | the last block processed: hash (32) height (u32 BE) |
//! | `Mkey` | the tower's secret key |
//!
//! Appointments are keyed by locator first, so a possible breach is one prefix lookup; which
//! transactions are possible breaches is told by the in-memory locator index (8 bytes per
//! locator), so scanning a block reads sled only for real candidates.
//!
//! Durability is the group commit of [`SledDb`] (the sled core the node's store uses too): a
//! request's changes are acknowledged once a flush that started after them has completed.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::SecretKey;
use bitcoin::BlockHash;
use fulgur_base::store::{SledDb, SledOptions};
use sled::{Batch, Db, IVec};

use crate::crypto::{UserId, USER_ID_LEN};
use crate::locator::{Locator, LOCATOR_LEN};
use crate::server::index::{self, LocatorIndex};
use crate::server::watcher::slots_for;

const USER: u8 = b'U';
const APPOINTMENT: u8 = b'A';
const INDEX: u8 = b'I';
const TRACKER: u8 = b'T';
const TIP_KEY: &[u8] = b"Mtip";
const TOWER_KEY: &[u8] = b"Mkey";

/// A user's subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserInfo {
	/// Appointment slots left.
	pub available_slots: u32,
	/// Height the subscription started at.
	pub subscription_start: u32,
	/// Height the subscription ends at.
	pub subscription_expiry: u32,
}

impl UserInfo {
	fn to_bytes(self) -> [u8; 12] {
		let mut out = [0; 12];
		out[..4].copy_from_slice(&self.available_slots.to_be_bytes());
		out[4..8].copy_from_slice(&self.subscription_start.to_be_bytes());
		out[8..].copy_from_slice(&self.subscription_expiry.to_be_bytes());
		out
	}

	fn from_bytes(bytes: &[u8]) -> Option<Self> {
		Some(UserInfo {
			available_slots: be_u32(bytes, 0)?,
			subscription_start: be_u32(bytes, 4)?,
			subscription_expiry: be_u32(bytes, 8)?,
		})
	}
}

/// A watched appointment as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAppointment {
	/// Height it was accepted (or last updated) at.
	pub start_block: u32,
	/// As sent by the user.
	pub to_self_delay: u32,
	/// As sent by the user.
	pub encrypted_blob: Vec<u8>,
}

impl StoredAppointment {
	fn to_bytes(&self) -> Vec<u8> {
		let mut out = Vec::with_capacity(8 + self.encrypted_blob.len());
		out.extend_from_slice(&self.start_block.to_be_bytes());
		out.extend_from_slice(&self.to_self_delay.to_be_bytes());
		out.extend_from_slice(&self.encrypted_blob);
		out
	}

	fn from_bytes(bytes: &[u8]) -> Option<Self> {
		Some(StoredAppointment {
			start_block: be_u32(bytes, 0)?,
			to_self_delay: be_u32(bytes, 4)?,
			encrypted_blob: bytes.get(8..)?.to_vec(),
		})
	}
}

pub(crate) fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
	bytes.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes)
}

fn user_key(user: &UserId) -> [u8; 1 + USER_ID_LEN] {
	let mut key = [USER; 1 + USER_ID_LEN];
	key[1..].copy_from_slice(&user.to_bytes());
	key
}

/// `kind || locator || user`.
fn locator_user_key(kind: u8, locator: &Locator, user: &UserId) -> [u8; 50] {
	let mut key = [kind; 1 + LOCATOR_LEN + USER_ID_LEN];
	key[1..1 + LOCATOR_LEN].copy_from_slice(locator.as_bytes());
	key[1 + LOCATOR_LEN..].copy_from_slice(&user.to_bytes());
	key
}

fn index_key(user: &UserId, locator: &Locator) -> [u8; 50] {
	let mut key = [INDEX; 1 + USER_ID_LEN + LOCATOR_LEN];
	key[1..1 + USER_ID_LEN].copy_from_slice(&user.to_bytes());
	key[1 + USER_ID_LEN..].copy_from_slice(locator.as_bytes());
	key
}

fn locator_prefix(kind: u8, locator: &Locator) -> [u8; 1 + LOCATOR_LEN] {
	let mut key = [kind; 1 + LOCATOR_LEN];
	key[1..].copy_from_slice(locator.as_bytes());
	key
}

fn to_io(e: sled::Error) -> io::Error {
	io::Error::other(format!("tower database: {e}"))
}

/// An error of the sled core, said as the tower's.
fn tower_io(e: io::Error) -> io::Error {
	io::Error::other(format!("tower database: {e}"))
}

/// Goes through every appointment once, handing each locator to `each`; returns the slots each
/// user's appointments take. A user's key is parsed once, not once per appointment (parsing
/// a compressed key costs a square root: seconds over a million appointments).
fn scan_appointments(db: &Db, mut each: impl FnMut(&Locator)) -> io::Result<HashMap<UserId, u32>> {
	let mut by_key: HashMap<[u8; USER_ID_LEN], u32> = HashMap::new();
	for entry in db.scan_prefix([APPOINTMENT]) {
		let (key, value) = entry.map_err(to_io)?;
		let corrupt = || io::Error::new(io::ErrorKind::InvalidData, "corrupt appointment key");
		let locator = key.get(1..1 + LOCATOR_LEN).and_then(|l| Locator::from_slice(l).ok());
		let user: Option<[u8; USER_ID_LEN]> =
			key.get(1 + LOCATOR_LEN..).and_then(|u| u.try_into().ok());
		let (Some(locator), Some(user)) = (locator, user) else { return Err(corrupt()) };
		each(&locator);
		let total = by_key.entry(user).or_default();
		*total = total.saturating_add(slots_for(value.len().saturating_sub(8)));
	}
	let mut used = HashMap::with_capacity(by_key.len());
	for (key, slots) in by_key {
		let user = bitcoin::secp256k1::PublicKey::from_slice(&key)
			.map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "corrupt appointment key"))?;
		used.insert(UserId(user), slots);
	}
	Ok(used)
}

/// Name of the tower's flusher thread.
const FLUSHER_THREAD_NAME: &str = "tower-flush";

/// The database and its group-commit flusher.
pub struct Dbm {
	store: SledDb,
	index: LocatorIndex,
}

impl Dbm {
	/// Opens (or creates) the database in `dir`, with at most `cache_bytes` of page cache and
	/// group-commit flushes `flush_pace` apart at least; also answers the slots each user's
	/// appointments take (for the gatekeeper), counted by the scan that fills the index.
	pub fn open(
		dir: &Path, cache_bytes: u64, flush_pace: Duration,
	) -> io::Result<(Dbm, HashMap<UserId, u32>)> {
		let options = SledOptions {
			flusher_name: FLUSHER_THREAD_NAME,
			cache_bytes: Some(cache_bytes),
			flush_pace,
		};
		let store = SledDb::open(dir, options).map_err(tower_io)?;
		let index = LocatorIndex::default();
		let used = scan_appointments(store.db(), |locator| index.insert(locator))?;
		Ok((Dbm { store, index }, used))
	}

	/// The sled database (changes applied to it wait for [`Dbm::durable`]).
	fn db(&self) -> &Db {
		self.store.db()
	}

	/// Distinct locator prefixes held in memory.
	pub fn indexed_locators(&self) -> usize {
		self.index.len()
	}

	/// Drops `locator`'s prefix from the index unless another appointment still has it.
	fn unindex(&self, locator: &Locator) -> io::Result<()> {
		let mut key = [APPOINTMENT; 9];
		key[1..].copy_from_slice(&locator.as_bytes()[..8]);
		self.index.remove_unless(index::prefix(locator), || {
			Ok(self.db().scan_prefix(key).next().transpose().map_err(to_io)?.is_some())
		})
	}

	/// Resolves once everything written before the call is on disk (shared flushes).
	pub fn durable(&self) -> impl std::future::Future<Output = io::Result<()>> + Send + 'static {
		self.store.wait_durable_async()
	}

	/// Flushes now, blocking (the chain thread, once per block).
	pub fn flush_blocking(&self) -> io::Result<()> {
		self.store.flush_now().map_err(tower_io)
	}

	/// Flushes done by the group commit so far.
	pub fn group_flushes(&self) -> u64 {
		self.store.flushes()
	}

	/// Bytes the database takes on disk.
	pub fn size_on_disk(&self) -> io::Result<u64> {
		self.store.size_on_disk().map_err(tower_io)
	}

	/// The tower's key, created on first use.
	pub fn tower_key(&self) -> io::Result<SecretKey> {
		if let Some(bytes) = self.db().get(TOWER_KEY).map_err(to_io)? {
			return SecretKey::from_slice(&bytes).map_err(|e| {
				io::Error::new(io::ErrorKind::InvalidData, format!("tower key: {e}"))
			});
		}
		let key = loop {
			// Out-of-range 32-byte strings have probability ~2^-128; draw again.
			if let Ok(key) = SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
				break key;
			}
		};
		self.db().insert(TOWER_KEY, &key.secret_bytes()[..]).map_err(to_io)?;
		self.flush_blocking()?;
		Ok(key)
	}

	/// The last block processed.
	pub fn tip(&self) -> io::Result<Option<(BlockHash, u32)>> {
		let Some(bytes) = self.db().get(TIP_KEY).map_err(to_io)? else { return Ok(None) };
		let hash = bytes.get(..32).and_then(|b| BlockHash::from_slice(b).ok());
		match (hash, be_u32(&bytes, 32)) {
			(Some(hash), Some(height)) => Ok(Some((hash, height))),
			_ => Err(io::Error::new(io::ErrorKind::InvalidData, "corrupt chain tip record")),
		}
	}

	/// Records the last block processed (not flushed: the chain thread flushes per block).
	pub fn set_tip(&self, hash: &BlockHash, height: u32) -> io::Result<()> {
		let mut value = hash.to_byte_array().to_vec();
		value.extend_from_slice(&height.to_be_bytes());
		self.db().insert(TIP_KEY, value).map(drop).map_err(to_io)
	}

	/// Every user, for loading the gatekeeper.
	pub fn users(&self) -> io::Result<Vec<(UserId, UserInfo)>> {
		let mut users = Vec::new();
		for entry in self.db().scan_prefix([USER]) {
			let (key, value) = entry.map_err(to_io)?;
			let user = bitcoin::secp256k1::PublicKey::from_slice(&key[1..]).ok().map(UserId);
			match (user, UserInfo::from_bytes(&value)) {
				(Some(user), Some(info)) => users.push((user, info)),
				_ => return Err(io::Error::new(io::ErrorKind::InvalidData, "corrupt user record")),
			}
		}
		Ok(users)
	}

	/// Stores a user (not flushed).
	pub fn put_user(&self, user: &UserId, info: UserInfo) -> io::Result<()> {
		self.db().insert(user_key(user), &info.to_bytes()[..]).map(drop).map_err(to_io)
	}

	/// One appointment of a user.
	pub fn appointment(
		&self, locator: &Locator, user: &UserId,
	) -> io::Result<Option<StoredAppointment>> {
		let value = self.db().get(locator_user_key(APPOINTMENT, locator, user)).map_err(to_io)?;
		Ok(value.and_then(|v| StoredAppointment::from_bytes(&v)))
	}

	/// Stores (or replaces) an appointment, its index entry and the user's new slot count
	/// atomically (not flushed).
	pub fn put_appointment(
		&self, locator: &Locator, user: &UserId, appointment: &StoredAppointment, info: UserInfo,
	) -> io::Result<()> {
		let mut batch = Batch::default();
		batch.insert(&locator_user_key(APPOINTMENT, locator, user)[..], appointment.to_bytes());
		batch.insert(&index_key(user, locator)[..], &[][..]);
		batch.insert(&user_key(user)[..], &info.to_bytes()[..]);
		self.db().apply_batch(batch).map_err(to_io)?;
		self.index.insert(locator);
		Ok(())
	}

	/// Every user's appointment with this locator: one prefix lookup.
	pub fn appointments_at(
		&self, locator: &Locator,
	) -> io::Result<Vec<(UserId, StoredAppointment)>> {
		let mut found = Vec::new();
		if !self.index.read().contains(&index::prefix(locator)) {
			return Ok(found);
		}
		for entry in self.db().scan_prefix(locator_prefix(APPOINTMENT, locator)) {
			let (key, value) = entry.map_err(to_io)?;
			let user = bitcoin::secp256k1::PublicKey::from_slice(&key[1 + LOCATOR_LEN..]);
			if let (Ok(user), Some(a)) = (user, StoredAppointment::from_bytes(&value)) {
				found.push((UserId(user), a));
			}
		}
		Ok(found)
	}

	/// `user`'s appointment with this locator, if any, and how many users have one (no more
	/// than the per-locator cap the tower refuses past): one prefix lookup, and none at all for
	/// a locator the in-memory index does not know (almost every new appointment).
	pub fn appointments_of_at(
		&self, locator: &Locator, user: &UserId,
	) -> io::Result<(Option<StoredAppointment>, usize)> {
		if !self.index.read().contains(&index::prefix(locator)) {
			return Ok((None, 0));
		}
		let own_key = locator_user_key(APPOINTMENT, locator, user);
		let (mut own, mut count) = (None, 0);
		for entry in self.db().scan_prefix(locator_prefix(APPOINTMENT, locator)) {
			let (key, value) = entry.map_err(to_io)?;
			if key == own_key[..] {
				own = StoredAppointment::from_bytes(&value);
			}
			count += 1;
		}
		Ok((own, count))
	}

	/// Removes one appointment and its index entry (not flushed).
	pub fn remove_appointment(&self, locator: &Locator, user: &UserId) -> io::Result<()> {
		let mut batch = Batch::default();
		batch.remove(&locator_user_key(APPOINTMENT, locator, user)[..]);
		batch.remove(&index_key(user, locator)[..]);
		self.db().apply_batch(batch).map_err(to_io)?;
		self.unindex(locator)
	}

	/// The locators of a user's watched appointments.
	pub fn locators_of(&self, user: &UserId) -> io::Result<Vec<Locator>> {
		let mut prefix = [INDEX; 1 + USER_ID_LEN];
		prefix[1..].copy_from_slice(&user.to_bytes());
		let mut locators = Vec::new();
		for entry in self.db().scan_prefix(prefix) {
			let (key, _) = entry.map_err(to_io)?;
			if let Ok(locator) = Locator::from_slice(&key[1 + USER_ID_LEN..]) {
				locators.push(locator);
			}
		}
		Ok(locators)
	}

	/// Removes a user and every appointment of theirs (not flushed); returns how many.
	pub fn remove_user(&self, user: &UserId) -> io::Result<usize> {
		let locators = self.locators_of(user)?;
		let mut batch = Batch::default();
		for locator in &locators {
			batch.remove(&locator_user_key(APPOINTMENT, locator, user)[..]);
			batch.remove(&index_key(user, locator)[..]);
		}
		batch.remove(&user_key(user)[..]);
		self.db().apply_batch(batch).map_err(to_io)?;
		for locator in &locators {
			self.unindex(locator)?;
		}
		Ok(locators.len())
	}

	/// Stores a tracker record (not flushed).
	pub fn put_tracker(&self, locator: &Locator, user: &UserId, record: Vec<u8>) -> io::Result<()> {
		self.db().insert(locator_user_key(TRACKER, locator, user), record).map(drop).map_err(to_io)
	}

	/// Removes a tracker record (not flushed).
	pub fn remove_tracker(&self, locator: &Locator, user: &UserId) -> io::Result<()> {
		self.db().remove(locator_user_key(TRACKER, locator, user)).map(drop).map_err(to_io)
	}

	/// Every tracker record, for loading the responder.
	pub fn trackers(&self) -> io::Result<Vec<(Locator, UserId, IVec)>> {
		let mut out = Vec::new();
		for entry in self.db().scan_prefix([TRACKER]) {
			let (key, value) = entry.map_err(to_io)?;
			let locator = Locator::from_slice(&key[1..1 + LOCATOR_LEN]);
			let user = bitcoin::secp256k1::PublicKey::from_slice(&key[1 + LOCATOR_LEN..]);
			match (locator, user) {
				(Ok(locator), Ok(user)) => out.push((locator, UserId(user), value)),
				_ => return Err(io::Error::new(io::ErrorKind::InvalidData, "corrupt tracker key")),
			}
		}
		Ok(out)
	}
}
