//! What the tower client keeps in the store:
//!
//! - `fulgur_tower_staged`: counterparty commitments not yet revoked, by channel (secondary
//!   namespace) and `{commitment number}_{txid}`; the justice transaction is built from one
//!   when its secret arrives;
//! - `fulgur_tower_outbox`: signed-off appointments by sequence number, kept until every
//!   tower has taken them;
//! - `fulgur_tower_revoked`: revoked commitment locator -> channel and justice txid, so the
//!   node recognises a breach on chain (secondary namespace empty), and per channel (secondary
//!   namespace) the locators it holds, so a closed channel's records can be dropped;
//! - `fulgur_tower_awaited`: justice txid -> breach, once the breach is seen on chain;
//! - `fulgur_tower_towers`: each tower's delivery cursor and subscription.
//!
//! Writes are issued in call order on the group-commit store; callers await them before the
//! monitor update they belong to is acknowledged.
//!
//! No gap stops delivery: a sequence number is "in flight" from the moment it is taken until
//! its write finished (or was dropped), and a reader waits only at an in-flight gap; one whose
//! write failed is skipped (that appointment's monitor update never completes, so its channel
//! stays frozen, but the others go on). The head never falls back below a tower's cursor.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bitcoin::hex::DisplayHex;
use fulgur_tower_protocol::Appointment;
use lightning::io::ErrorKind;
use lightning::ln::chan_utils::CommitmentTransaction;
use lightning::ln::types::ChannelId;
use lightning::util::async_poll::AsyncResult;
use lightning::util::persist::{KVStore, KVStoreSync};
use lightning::util::ser::{Readable, Writeable};
use serde::{Deserialize, Serialize};

use crate::store::DynStore;
use crate::NodeError;

pub(super) const STAGED_NAMESPACE: &str = "fulgur_tower_staged";
pub(super) const OUTBOX_NAMESPACE: &str = "fulgur_tower_outbox";
pub(super) const REVOKED_NAMESPACE: &str = "fulgur_tower_revoked";
const AWAITED_NAMESPACE: &str = "fulgur_tower_awaited";
pub(super) const TOWERS_NAMESPACE: &str = "fulgur_tower_towers";
/// Under `TOWERS_NAMESPACE`: facts about the store itself.
pub(super) const META_NAMESPACE: &str = "meta";
/// Set once every revoked record has its per-channel index entry.
const REVOKED_INDEXED_KEY: &str = "revoked_indexed";

/// A store write in flight; done when durable.
pub type Write = AsyncResult<'static, (), lightning::io::Error>;

/// One appointment waiting for the towers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutboxEntry {
	/// Position in the outbox.
	pub seq: u64,
	/// Channel of the revoked commitment (hex).
	pub channel_id: String,
	/// Its commitment number.
	pub commitment_number: u64,
	/// The appointment (locator, encrypted justice tx, to_self_delay).
	pub appointment: Appointment,
}

/// What the node remembers of a revoked commitment, to recognise it on chain.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RevokedRecord {
	/// The channel (hex).
	pub channel_id: String,
	/// The revoked commitment's txid.
	pub commitment_txid: String,
	/// The justice transaction's txid.
	pub justice_txid: String,
	/// Value the justice transaction pays us (sat).
	pub justice_value_sat: u64,
	/// HTLC outputs it takes.
	pub htlc_outputs: usize,
}

/// The durable side of the tower client.
pub struct Outbox {
	store: Arc<DynStore>,
	/// Sequence number the next entry gets.
	head: AtomicU64,
	/// Lowest sequence number still stored.
	tail: AtomicU64,
	/// Sequence numbers taken whose entry is still being written.
	in_flight: Arc<Mutex<BTreeSet<u64>>>,
}

fn lock(set: &Mutex<BTreeSet<u64>>) -> MutexGuard<'_, BTreeSet<u64>> {
	// Inserts and removes cannot leave the set half-updated.
	set.lock().unwrap_or_else(|e| e.into_inner())
}

/// Takes a sequence number out of flight when its write is done or dropped.
struct InFlight {
	set: Arc<Mutex<BTreeSet<u64>>>,
	seq: u64,
}

impl Drop for InFlight {
	fn drop(&mut self) {
		lock(&self.set).remove(&self.seq);
	}
}

fn io(e: impl std::fmt::Display) -> NodeError {
	NodeError::Persistence(format!("tower outbox: {e}"))
}

fn seq_key(seq: u64) -> String {
	format!("{seq:016x}")
}

impl Outbox {
	/// Opens the outbox, finding its head and tail.
	pub fn open(store: Arc<DynStore>) -> Result<Outbox, NodeError> {
		let keys = KVStoreSync::list(&*store, OUTBOX_NAMESPACE, "").map_err(io)?;
		let seqs: Vec<u64> =
			keys.iter().filter_map(|key| u64::from_str_radix(key, 16).ok()).collect();
		let head = seqs.iter().max().map_or(0, |max| max + 1);
		let tail = seqs.iter().min().copied().unwrap_or(head);
		let outbox = Outbox {
			store,
			head: AtomicU64::new(head),
			tail: AtomicU64::new(tail),
			in_flight: Arc::default(),
		};
		outbox.index_revoked()?;
		Ok(outbox)
	}

	/// Sequence number of the next entry.
	pub fn head(&self) -> u64 {
		self.head.load(Ordering::Acquire)
	}

	/// Makes sure the next entry gets at least `seq`: a tower's cursor may be past every entry
	/// still stored (all delivered and pruned), and a number below it would never reach it.
	pub fn raise_head(&self, seq: u64) {
		let _in_flight = lock(&self.in_flight);
		let old = self.head.fetch_max(seq, Ordering::AcqRel);
		if self.tail.load(Ordering::Acquire) == old {
			// Nothing stored: nothing below the new head to prune either.
			self.tail.fetch_max(seq, Ordering::AcqRel);
		}
	}

	/// Gives every revoked record written before the per-channel index its entry (once).
	fn index_revoked(&self) -> Result<(), NodeError> {
		let store = &*self.store;
		let done = KVStoreSync::read(store, TOWERS_NAMESPACE, META_NAMESPACE, REVOKED_INDEXED_KEY);
		if done.is_ok() {
			return Ok(());
		}
		for locator in KVStoreSync::list(store, REVOKED_NAMESPACE, "").map_err(io)? {
			let Some(revoked) = self.revoked(&locator) else { continue };
			KVStoreSync::write(store, REVOKED_NAMESPACE, &revoked.channel_id, &locator, Vec::new())
				.map_err(io)?;
		}
		KVStoreSync::write(store, TOWERS_NAMESPACE, META_NAMESPACE, REVOKED_INDEXED_KEY, Vec::new())
			.map_err(io)
	}

	/// Keeps `commitment` until its secret arrives.
	pub fn stage(&self, channel_id: &ChannelId, commitment: &CommitmentTransaction) -> Write {
		let key = format!("{:012x}_{}", commitment.commitment_number(), commitment.trust().txid());
		let channel = channel_id.0.to_lower_hex_string();
		KVStore::write(&*self.store, STAGED_NAMESPACE, &channel, &key, commitment.encode())
	}

	/// The staged commitments with `commitment_number`, with their keys.
	pub fn staged(
		&self, channel_id: &ChannelId, commitment_number: u64,
	) -> Result<Vec<(String, CommitmentTransaction)>, NodeError> {
		let channel = channel_id.0.to_lower_hex_string();
		let prefix = format!("{commitment_number:012x}_");
		let keys = KVStoreSync::list(&*self.store, STAGED_NAMESPACE, &channel).map_err(io)?;
		let mut found = Vec::new();
		for key in keys.into_iter().filter(|key| key.starts_with(&prefix)) {
			let bytes = KVStoreSync::read(&*self.store, STAGED_NAMESPACE, &channel, &key);
			let bytes = bytes.map_err(io)?;
			let commitment = CommitmentTransaction::read(&mut &bytes[..])
				.map_err(|e| io(format!("staged commitment {key} unreadable: {e:?}")))?;
			found.push((key, commitment));
		}
		Ok(found)
	}

	/// Drops a staged commitment (its appointment is in the outbox, or there is none to make).
	pub fn unstage(&self, channel_id: &ChannelId, key: &str) -> Write {
		let channel = channel_id.0.to_lower_hex_string();
		KVStore::remove(&*self.store, STAGED_NAMESPACE, &channel, key, false)
	}

	/// Appends an appointment and records its revoked commitment.
	pub fn append(
		&self, channel_id: &ChannelId, commitment_number: u64, appointment: Appointment,
		revoked: &RevokedRecord,
	) -> Result<Vec<Write>, NodeError> {
		let seq = {
			let mut in_flight = lock(&self.in_flight);
			let seq = self.head.fetch_add(1, Ordering::AcqRel);
			in_flight.insert(seq);
			seq
		};
		// Whatever happens from here, the number leaves flight with this guard.
		let in_flight = InFlight { set: Arc::clone(&self.in_flight), seq };
		let locator = appointment.locator.as_bytes().to_lower_hex_string();
		let entry = OutboxEntry {
			seq,
			channel_id: channel_id.0.to_lower_hex_string(),
			commitment_number,
			appointment,
		};
		let entry = serde_json::to_vec(&entry).map_err(io)?;
		let revoked = serde_json::to_vec(revoked).map_err(io)?;
		let channel = channel_id.0.to_lower_hex_string();
		let entry_write = KVStore::write(&*self.store, OUTBOX_NAMESPACE, "", &seq_key(seq), entry);
		let entry_write: Write = Box::pin(async move {
			let result = entry_write.await;
			drop(in_flight);
			result
		});
		Ok(vec![
			entry_write,
			KVStore::write(&*self.store, REVOKED_NAMESPACE, "", &locator, revoked),
			KVStore::write(&*self.store, REVOKED_NAMESPACE, &channel, &locator, Vec::new()),
		])
	}

	/// Entries from `from` on, at most `limit` of them, in order, and where the next read
	/// starts. Stops at an entry still being written; skips one whose write failed.
	pub fn read_from(&self, from: u64, limit: usize) -> Result<(Vec<OutboxEntry>, u64), NodeError> {
		let head = self.head();
		let mut seq = from.max(self.tail.load(Ordering::Acquire));
		let mut entries = Vec::new();
		while seq < head && entries.len() < limit {
			let entry = match self.entry(seq)? {
				Some(entry) => Some(entry),
				None if lock(&self.in_flight).contains(&seq) => break,
				// Its write may have finished since the first look.
				None => self.entry(seq)?,
			};
			entries.extend(entry);
			seq += 1;
		}
		Ok((entries, seq))
	}

	fn entry(&self, seq: u64) -> Result<Option<OutboxEntry>, NodeError> {
		match KVStoreSync::read(&*self.store, OUTBOX_NAMESPACE, "", &seq_key(seq)) {
			Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).map_err(io)?)),
			Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
			Err(e) => Err(io(e)),
		}
	}

	/// Drops entries below `seq`: every tower has them.
	pub fn prune_below(&self, seq: u64) -> Result<(), NodeError> {
		let tail = self.tail.load(Ordering::Acquire);
		for old in tail..seq.min(self.head()) {
			KVStoreSync::remove(&*self.store, OUTBOX_NAMESPACE, "", &seq_key(old), true)
				.map_err(io)?;
		}
		self.tail.fetch_max(seq.min(self.head()), Ordering::AcqRel);
		Ok(())
	}

	/// The revoked commitment with this locator (hex), if we made an appointment for it.
	pub fn revoked(&self, locator: &str) -> Option<RevokedRecord> {
		let bytes = KVStoreSync::read(&*self.store, REVOKED_NAMESPACE, "", locator).ok()?;
		serde_json::from_slice(&bytes).ok()
	}

	/// Remembers that `revoked`'s justice transaction is expected on chain.
	pub fn await_justice(&self, revoked: &RevokedRecord) -> Result<(), NodeError> {
		let bytes = serde_json::to_vec(revoked).map_err(io)?;
		KVStoreSync::write(&*self.store, AWAITED_NAMESPACE, "", &revoked.justice_txid, bytes)
			.map_err(io)
	}

	/// The breach whose justice transaction is `txid`, if one is expected.
	pub fn awaited_justice(&self, txid: &str) -> Option<RevokedRecord> {
		let bytes = KVStoreSync::read(&*self.store, AWAITED_NAMESPACE, "", txid).ok()?;
		serde_json::from_slice(&bytes).ok()
	}

	/// Forgets a channel: its staged commitments and revoked records (lazily removed: the
	/// caller's next durable write covers them).
	pub fn forget_channel(&self, channel_id: &ChannelId) -> Result<usize, NodeError> {
		let store = &*self.store;
		let channel = channel_id.0.to_lower_hex_string();
		let mut removed = 0;
		for key in KVStoreSync::list(store, STAGED_NAMESPACE, &channel).map_err(io)? {
			KVStoreSync::remove(store, STAGED_NAMESPACE, &channel, &key, true).map_err(io)?;
			removed += 1;
		}
		for locator in KVStoreSync::list(store, REVOKED_NAMESPACE, &channel).map_err(io)? {
			KVStoreSync::remove(store, REVOKED_NAMESPACE, "", &locator, true).map_err(io)?;
			KVStoreSync::remove(store, REVOKED_NAMESPACE, &channel, &locator, true).map_err(io)?;
			removed += 1;
		}
		Ok(removed)
	}

	/// The store, for the towers' records.
	pub fn store(&self) -> &Arc<DynStore> {
		&self.store
	}
}
