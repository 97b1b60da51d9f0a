//! The responder: once a breach is seen, it owns the justice (penalty) transaction until it
//! is buried `resolved_depth` blocks deep.
//!
//! Every block it re-broadcasts the penalty while unconfirmed (bitcoind may have dropped it;
//! fees may have moved). A reorg that removes the breach or the penalty block clears their
//! confirmations; the tracker stays, the breach is re-broadcast with it, and when the breach
//! confirms again the penalty is re-sent in that same block's processing.
//!
//! Nothing is followed forever: a penalty bitcoind refuses as invalid (or whose inputs are
//! spent while the breach is confirmed) is dropped at the next block; one refused for now
//! (its fee, a conflict) is kept and sent again, and the log says so; the trackers of a user
//! the gatekeeper deleted (expired) go with the user.

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use bitcoin::block::Header;
use bitcoin::consensus::encode;
use bitcoin::{Transaction, Txid};
use lightning::chain::chaininterface::BroadcasterInterface;
use lightning::chain::transaction::TransactionData;
use lightning::chain::{BestBlock, Listen};

use crate::api;
use crate::crypto::UserId;
use crate::locator::Locator;
use crate::server::carrier::{Refusal, Refusals};
use crate::server::dbm::{be_u32, Dbm};
use crate::server::gatekeeper::Gatekeeper;
use crate::server::log;

/// Confirmations after which a penalty is final and its tracker dropped (teos's value).
pub const IRREVOCABLY_RESOLVED: u32 = 100;

/// Height marker for "not confirmed" in the stored record.
const NONE: u32 = u32::MAX;

/// A responded breach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracker {
	/// The commitment that triggered it.
	pub dispute_tx: Transaction,
	/// The decrypted justice transaction.
	pub penalty_tx: Transaction,
	/// Where the dispute is confirmed in the current chain.
	pub dispute_height: Option<u32>,
	/// Where the penalty is confirmed in the current chain.
	pub penalty_height: Option<u32>,
	/// Height of the block during whose processing the penalty was last broadcast.
	pub last_broadcast: u32,
}

impl Tracker {
	fn to_bytes(&self) -> Vec<u8> {
		let dispute = encode::serialize(&self.dispute_tx);
		let mut out = Vec::new();
		for h in [self.dispute_height.unwrap_or(NONE), self.penalty_height.unwrap_or(NONE)] {
			out.extend_from_slice(&h.to_be_bytes());
		}
		out.extend_from_slice(&self.last_broadcast.to_be_bytes());
		out.extend_from_slice(&u32::try_from(dispute.len()).unwrap_or(u32::MAX).to_be_bytes());
		out.extend_from_slice(&dispute);
		out.extend_from_slice(&encode::serialize(&self.penalty_tx));
		out
	}

	fn from_bytes(bytes: &[u8]) -> Option<Tracker> {
		let height = |at| be_u32(bytes, at).filter(|h| *h != NONE);
		let dispute_len = usize::try_from(be_u32(bytes, 12)?).ok()?;
		let dispute = bytes.get(16..16usize.checked_add(dispute_len)?)?;
		Some(Tracker {
			dispute_height: height(0),
			penalty_height: height(4),
			last_broadcast: be_u32(bytes, 8)?,
			dispute_tx: encode::deserialize(dispute).ok()?,
			penalty_tx: encode::deserialize(bytes.get(16 + dispute_len..)?).ok()?,
		})
	}

	/// The wire form for `/get_appointment`.
	pub fn to_api(&self) -> api::Tracker {
		api::Tracker {
			dispute_txid: self.dispute_tx.compute_txid(),
			penalty_txid: self.penalty_tx.compute_txid(),
			penalty_rawtx: encode::serialize(&self.penalty_tx),
		}
	}
}

/// Trackers (few: one per breach), in memory and in sled.
pub struct Responder {
	db: Arc<Dbm>,
	gatekeeper: Arc<Gatekeeper>,
	broadcaster: Arc<dyn BroadcasterInterface + Send + Sync>,
	refusals: Arc<Refusals>,
	trackers: Mutex<HashMap<(Locator, UserId), Tracker>>,
	/// The last reason a kept penalty was refused for, so the log says it once.
	refused: Mutex<HashMap<Txid, String>>,
	resolved_depth: u32,
}

impl Responder {
	/// Loads the trackers from `db`; penalties go out through `broadcaster`, which reports
	/// what bitcoind refused to `refusals`.
	pub fn new(
		db: Arc<Dbm>, gatekeeper: Arc<Gatekeeper>,
		broadcaster: Arc<dyn BroadcasterInterface + Send + Sync>, refusals: Arc<Refusals>,
		resolved_depth: u32,
	) -> io::Result<Self> {
		let mut trackers = HashMap::new();
		for (locator, user, record) in db.trackers()? {
			let tracker = Tracker::from_bytes(&record).ok_or_else(|| {
				io::Error::new(io::ErrorKind::InvalidData, format!("corrupt tracker {locator}"))
			})?;
			trackers.insert((locator, user), tracker);
		}
		Ok(Responder {
			db,
			gatekeeper,
			broadcaster,
			refusals,
			trackers: Mutex::new(trackers),
			refused: Mutex::new(HashMap::new()),
			resolved_depth,
		})
	}

	fn lock(&self) -> MutexGuard<'_, HashMap<(Locator, UserId), Tracker>> {
		// Critical sections only update map entries; nothing can leave one half-done.
		self.trackers.lock().unwrap_or_else(|e| e.into_inner())
	}

	/// A copy of a tracker.
	pub fn tracker(&self, locator: &Locator, user: &UserId) -> Option<Tracker> {
		self.lock().get(&(*locator, *user)).cloned()
	}

	/// Whether the user's appointment with this locator was already triggered.
	pub fn has_tracker(&self, locator: &Locator, user: &UserId) -> bool {
		self.lock().contains_key(&(*locator, *user))
	}

	/// The locators of a user's trackers.
	pub fn locators_of(&self, user: &UserId) -> Vec<Locator> {
		self.lock().keys().filter(|(_, u)| u == user).map(|(l, _)| *l).collect()
	}

	/// How many breaches are being followed.
	pub fn tracker_count(&self) -> usize {
		self.lock().len()
	}

	/// A breach seen at `height`: broadcasts the penalty and follows it. Idempotent (a block
	/// processed again after a crash does not add a second tracker).
	pub fn handle_breach(
		&self, locator: Locator, user: UserId, dispute_tx: &Transaction, penalty_tx: Transaction,
		height: u32,
	) -> io::Result<()> {
		let mut trackers = self.lock();
		if trackers.contains_key(&(locator, user)) {
			return Ok(());
		}
		let tracker = Tracker {
			dispute_tx: dispute_tx.clone(),
			penalty_tx,
			dispute_height: Some(height),
			penalty_height: None,
			last_broadcast: height,
		};
		self.db.put_tracker(&locator, &user, tracker.to_bytes())?;
		log::info!(
			"breach {} (locator {locator}) at block {height}: broadcasting penalty {}",
			tracker.dispute_tx.compute_txid(),
			tracker.penalty_tx.compute_txid()
		);
		self.broadcaster.broadcast_transactions(&[&tracker.penalty_tx]);
		trackers.insert((locator, user), tracker);
		Ok(())
	}

	/// The users of trackers the gatekeeper no longer has (deleted after expiry). Asked with
	/// the trackers unlocked: the watcher takes the gatekeeper's lock, then ours.
	fn users_gone(&self) -> HashSet<UserId> {
		let users: HashSet<UserId> = self.lock().keys().map(|(_, user)| *user).collect();
		users.into_iter().filter(|user| !self.gatekeeper.is_registered(user)).collect()
	}

	/// Acts on what bitcoind said about the penalties since the last block, and drops the
	/// trackers of the users `gone`.
	fn drop_hopeless(
		&self, trackers: &mut HashMap<(Locator, UserId), Tracker>, gone: &HashSet<UserId>,
	) {
		let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
		let mut dropped = Vec::new();
		for (txid, refusal) in self.refusals.take() {
			let Some((key, tracker)) =
				trackers.iter().find(|(_, t)| t.penalty_tx.compute_txid() == txid)
			else {
				// Not a penalty (a breach sent again) or no longer followed.
				continue;
			};
			if tracker.penalty_height.is_some() {
				continue;
			}
			match refusal {
				Refusal::Invalid(why) => {
					log::warn!("penalty {txid} refused as invalid ({why}): dropped");
					dropped.push(*key);
				}
				Refusal::MissingInputs(why) if tracker.dispute_height.is_some() => {
					log::warn!(
						"penalty {txid}: its inputs are spent by another transaction ({why}): dropped"
					);
					dropped.push(*key);
				}
				Refusal::MissingInputs(why) | Refusal::ForNow(why) => {
					if refused.get(&txid) != Some(&why) {
						log::warn!(
							"penalty {txid} refused for now ({why}): kept, sent again every block"
						);
						refused.insert(txid, why);
					}
				}
			}
		}
		for key in trackers.keys().filter(|(_, user)| gone.contains(user)) {
			log::info!("user {} is gone: tracker of locator {} dropped", key.1, key.0);
			dropped.push(*key);
		}
		for key in dropped {
			if let Some(tracker) = trackers.remove(&key) {
				refused.remove(&tracker.penalty_tx.compute_txid());
			}
			if let Err(e) = self.db.remove_tracker(&key.0, &key.1) {
				log::error!("removing tracker {}: {e}", key.0);
			}
		}
	}

	fn store(&self, key: &(Locator, UserId), tracker: &Tracker) {
		if let Err(e) = self.db.put_tracker(&key.0, &key.1, tracker.to_bytes()) {
			log::error!("storing tracker {}: {e}", key.0);
		}
	}
}

impl Listen for Responder {
	fn filtered_block_connected(&self, _header: &Header, txdata: &TransactionData, height: u32) {
		let gone = self.users_gone();
		let mut trackers = self.lock();
		self.drop_hopeless(&mut trackers, &gone);
		if trackers.is_empty() {
			return;
		}
		let txids: HashSet<Txid> = txdata.iter().map(|(_, tx)| tx.compute_txid()).collect();
		let mut done = Vec::new();
		for (key, tracker) in trackers.iter_mut() {
			let mut changed = false;
			if tracker.dispute_height.is_none()
				&& txids.contains(&tracker.dispute_tx.compute_txid())
			{
				let dispute = tracker.dispute_tx.compute_txid();
				log::info!("breach {dispute} confirmed again at block {height}");
				tracker.dispute_height = Some(height);
				changed = true;
			}
			if tracker.penalty_height.is_none()
				&& txids.contains(&tracker.penalty_tx.compute_txid())
			{
				tracker.penalty_height = Some(height);
				changed = true;
			}
			match tracker.penalty_height {
				Some(h) if height.saturating_sub(h) + 1 >= self.resolved_depth => {
					done.push(*key);
					continue;
				}
				Some(_) => {}
				None if tracker.last_broadcast < height => {
					// Unconfirmed: send again. If the breach itself was reorged out, send it
					// first so the penalty has its input.
					let penalty = tracker.penalty_tx.compute_txid();
					if tracker.dispute_height.is_none() {
						log::info!(
							"breach {} not in the chain: re-broadcasting it and penalty {penalty}",
							tracker.dispute_tx.compute_txid()
						);
						self.broadcaster.broadcast_transactions(&[&tracker.dispute_tx]);
					} else {
						log::info!(
							"penalty {penalty} unconfirmed at block {height}: re-broadcasting"
						);
					}
					self.broadcaster.broadcast_transactions(&[&tracker.penalty_tx]);
					tracker.last_broadcast = height;
					changed = true;
				}
				None => {}
			}
			if changed {
				self.store(key, tracker);
			}
		}
		for key in done {
			trackers.remove(&key);
			log::info!("penalty for locator {} is irrevocably resolved", key.0);
			if let Err(e) = self.db.remove_tracker(&key.0, &key.1) {
				log::error!("removing tracker {}: {e}", key.0);
			}
		}
	}

	fn blocks_disconnected(&self, fork_point: BestBlock) {
		let mut trackers = self.lock();
		for (key, tracker) in trackers.iter_mut() {
			let mut changed = false;
			if tracker.dispute_height.is_some_and(|h| h > fork_point.height) {
				log::warn!(
					"reorg: breach {} is no longer confirmed",
					tracker.dispute_tx.compute_txid()
				);
				tracker.dispute_height = None;
				changed = true;
			}
			if tracker.penalty_height.is_some_and(|h| h > fork_point.height) {
				tracker.penalty_height = None;
				changed = true;
			}
			// Broadcasts made on the abandoned branch count for nothing.
			if tracker.last_broadcast > fork_point.height {
				tracker.last_broadcast = fork_point.height;
				changed = true;
			}
			if changed {
				self.store(key, tracker);
			}
		}
	}
}
