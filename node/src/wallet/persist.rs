//! BDK's change sets, kept in the node's store as a log: each persist appends one record with
//! just the new changes, and now and then the log is folded into one snapshot record.
//!
//! Invariant: the wallet is the latest snapshot record merged with every later increment, in
//! sequence order; records older than the latest snapshot are never read (a fold that stopped
//! before removing them leaves nothing wrong behind). Every record is durable before
//! `persist` returns. A persist costs the size of its changes, not of the wallet; a fold,
//! which rewrites the wallet, comes only once the increments weigh as much as the snapshot
//! (or are [`MAX_INCREMENTS`] many), so its cost per persist stays bounded too.
//!
//! The form before the log, one JSON value under `bdk_wallet//changeset` rewritten whole on
//! every persist, is taken over on first open: it becomes the log's first snapshot, then goes.

use std::sync::Arc;

use bdk_wallet::chain::Merge;
use bdk_wallet::{ChangeSet, WalletPersister};
use lightning::util::persist::KVStoreSync;

use crate::store::DynStore;

const NAMESPACE: &str = "bdk_wallet";
/// The log: records keyed by their sequence number, [`SEQUENCE_DIGITS`] digits.
const LOG_NAMESPACE: &str = "log";
/// Where the whole change set was kept before the log (read once, to migrate it).
const LEGACY_KEY: &str = "changeset";
/// Zero-padded, so that keys sort as numbers do.
const SEQUENCE_DIGITS: usize = 20;
/// A record: this version byte, a kind byte, the change set as JSON.
const FORMAT_VERSION: u8 = 1;
const INCREMENT: u8 = 0;
const SNAPSHOT: u8 = 1;
/// At most this many increments follow a snapshot: they are all read at every start.
pub(super) const MAX_INCREMENTS: u64 = 1024;
/// Increments below this many bytes in all are not worth a fold, however small the snapshot.
const MIN_FOLD_BYTES: u64 = 64 * 1024;

/// The wallet's change sets in the node's store; see the module documentation.
pub struct WalletStore {
	store: Arc<DynStore>,
	/// What the log holds, once it was opened (by BDK's `initialize`).
	log: Option<LogState>,
}

/// Where the log stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LogState {
	/// The sequence number the next record gets.
	next: u64,
	/// The latest snapshot's sequence number and size, if there is one.
	snapshot: Option<(u64, u64)>,
	/// Increments after the snapshot: how many, and their bytes.
	increments: u64,
	increment_bytes: u64,
}

fn invalid(what: String) -> std::io::Error {
	std::io::Error::new(std::io::ErrorKind::InvalidData, what)
}

fn store_error(e: lightning::io::Error) -> std::io::Error {
	let kind = match e.kind() {
		lightning::io::ErrorKind::NotFound => std::io::ErrorKind::NotFound,
		_ => std::io::ErrorKind::Other,
	};
	std::io::Error::new(kind, e.to_string())
}

fn sequence_key(sequence: u64) -> String {
	format!("{sequence:0width$}", width = SEQUENCE_DIGITS)
}

fn encode(kind: u8, changeset: &ChangeSet) -> Result<Vec<u8>, std::io::Error> {
	let mut bytes = vec![FORMAT_VERSION, kind];
	serde_json::to_writer(&mut bytes, changeset)
		.map_err(|e| invalid(format!("encoding the wallet's changes: {e}")))?;
	Ok(bytes)
}

/// A record's kind and change set; `key` names it in errors.
fn decode(key: &str, bytes: &[u8]) -> Result<(u8, ChangeSet), std::io::Error> {
	match bytes {
		[FORMAT_VERSION, kind @ (INCREMENT | SNAPSHOT), json @ ..] => {
			let changeset = serde_json::from_slice(json)
				.map_err(|e| invalid(format!("wallet record {key} unreadable: {e}")))?;
			Ok((*kind, changeset))
		}
		[version, kind, ..] => Err(invalid(format!(
			"wallet record {key} has format {version} kind {kind}, this node reads format \
			 {FORMAT_VERSION} kinds {INCREMENT} and {SNAPSHOT}"
		))),
		_ => Err(invalid(format!("wallet record {key} is truncated ({} bytes)", bytes.len()))),
	}
}

impl WalletStore {
	/// A persister over the node's store.
	pub fn new(store: Arc<DynStore>) -> WalletStore {
		WalletStore { store, log: None }
	}

	fn read_record(&self, sequence: u64) -> Result<(u8, ChangeSet, u64), std::io::Error> {
		let key = sequence_key(sequence);
		let bytes =
			KVStoreSync::read(&*self.store, NAMESPACE, LOG_NAMESPACE, &key).map_err(store_error)?;
		let (kind, changeset) = decode(&key, &bytes)?;
		Ok((kind, changeset, bytes.len() as u64))
	}

	fn write_record(
		&self, sequence: u64, kind: u8, changeset: &ChangeSet,
	) -> Result<u64, std::io::Error> {
		let bytes = encode(kind, changeset)?;
		let len = bytes.len() as u64;
		KVStoreSync::write(&*self.store, NAMESPACE, LOG_NAMESPACE, &sequence_key(sequence), bytes)
			.map_err(store_error)?;
		Ok(len)
	}

	/// The log's sequence numbers, in order.
	fn sequences(&self) -> Result<Vec<u64>, std::io::Error> {
		let keys =
			KVStoreSync::list(&*self.store, NAMESPACE, LOG_NAMESPACE).map_err(store_error)?;
		let mut sequences = keys
			.iter()
			.map(|key| {
				key.parse::<u64>().map_err(|_| invalid(format!("wallet record key {key:?}")))
			})
			.collect::<Result<Vec<_>, _>>()?;
		sequences.sort_unstable();
		Ok(sequences)
	}

	/// Takes over the form before the log, if it is still there; says whether it was.
	fn migrate_legacy(&self, log_is_empty: bool) -> Result<bool, std::io::Error> {
		let legacy = match KVStoreSync::read(&*self.store, NAMESPACE, "", LEGACY_KEY) {
			Ok(bytes) => bytes,
			Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => return Ok(false),
			Err(e) => return Err(store_error(e)),
		};
		// A log beside the old value was started from it (the remove below did not happen).
		if log_is_empty {
			let changeset: ChangeSet = serde_json::from_slice(&legacy)
				.map_err(|e| invalid(format!("the stored wallet is unreadable: {e}")))?;
			self.write_record(0, SNAPSHOT, &changeset)?;
		}
		KVStoreSync::remove(&*self.store, NAMESPACE, "", LEGACY_KEY, false).map_err(store_error)?;
		Ok(true)
	}

	/// Reads the wallet: the latest snapshot and the increments after it.
	fn open(&mut self) -> Result<ChangeSet, std::io::Error> {
		let mut sequences = self.sequences()?;
		if self.migrate_legacy(sequences.is_empty())? {
			sequences = self.sequences()?;
		}
		let next = sequences.last().map_or(0, |last| last + 1);
		// Newest first, down to the latest snapshot.
		let mut later = Vec::new();
		let mut base = None;
		for &sequence in sequences.iter().rev() {
			let (kind, changeset, len) = self.read_record(sequence)?;
			if kind == SNAPSHOT {
				base = Some((sequence, changeset, len));
				break;
			}
			later.push((changeset, len));
		}
		let mut state = LogState {
			next,
			snapshot: base.as_ref().map(|(sequence, _, len)| (*sequence, *len)),
			increments: later.len() as u64,
			increment_bytes: later.iter().map(|(_, len)| len).sum(),
		};
		let mut wallet = base.map(|(_, changeset, _)| changeset).unwrap_or_default();
		for (changeset, _) in later.into_iter().rev() {
			wallet.merge(changeset);
		}
		// What a fold left behind.
		if let Some((snapshot, _)) = state.snapshot {
			for &old in sequences.iter().take_while(|&&sequence| sequence < snapshot) {
				KVStoreSync::remove(
					&*self.store,
					NAMESPACE,
					LOG_NAMESPACE,
					&sequence_key(old),
					true,
				)
				.map_err(store_error)?;
			}
		}
		if state.increments >= MAX_INCREMENTS {
			state = self.fold(state, &wallet)?;
		}
		self.log = Some(state);
		Ok(wallet)
	}

	/// Writes `wallet` (everything the log holds) as one snapshot, then drops the records
	/// before it.
	fn fold(&self, state: LogState, wallet: &ChangeSet) -> Result<LogState, std::io::Error> {
		let sequence = state.next;
		let len = self.write_record(sequence, SNAPSHOT, wallet)?;
		for old in self.sequences()?.into_iter().filter(|&old| old < sequence) {
			// Lazily: a record before the latest snapshot is never read again.
			KVStoreSync::remove(&*self.store, NAMESPACE, LOG_NAMESPACE, &sequence_key(old), true)
				.map_err(store_error)?;
		}
		Ok(LogState {
			next: sequence + 1,
			snapshot: Some((sequence, len)),
			increments: 0,
			increment_bytes: 0,
		})
	}

	fn append(&mut self, changeset: &ChangeSet) -> Result<(), std::io::Error> {
		let mut state = match self.log {
			Some(state) => state,
			None => {
				// BDK opens the store before it persists; this is for a caller that did not.
				self.open()?;
				self.log.ok_or_else(|| invalid("the wallet log did not open".into()))?
			}
		};
		let sequence = state.next;
		// Whether or not the write lands, the next record takes the next number: a record
		// written by a failed persist is a subset of the retry (BDK keeps its changes).
		state.next += 1;
		self.log = Some(state);
		let len = self.write_record(sequence, INCREMENT, changeset)?;
		state.increments += 1;
		state.increment_bytes += len;
		let snapshot_bytes = state.snapshot.map_or(0, |(_, len)| len);
		if state.increments >= MAX_INCREMENTS
			|| state.increment_bytes >= snapshot_bytes.max(MIN_FOLD_BYTES)
		{
			let wallet = self.read_all()?;
			state = self.fold(state, &wallet)?;
		}
		self.log = Some(state);
		Ok(())
	}

	/// Everything the log holds, merged (what `open` returns, without side effects).
	fn read_all(&self) -> Result<ChangeSet, std::io::Error> {
		let sequences = self.sequences()?;
		let mut records = Vec::new();
		for &sequence in sequences.iter().rev() {
			let (kind, changeset, _) = self.read_record(sequence)?;
			records.push(changeset);
			if kind == SNAPSHOT {
				break;
			}
		}
		let mut wallet = ChangeSet::default();
		for changeset in records.into_iter().rev() {
			wallet.merge(changeset);
		}
		Ok(wallet)
	}
}

impl WalletPersister for WalletStore {
	type Error = std::io::Error;

	fn initialize(persister: &mut Self) -> Result<ChangeSet, Self::Error> {
		persister.open()
	}

	fn persist(persister: &mut Self, changeset: &ChangeSet) -> Result<(), Self::Error> {
		if changeset.is_empty() {
			return Ok(());
		}
		persister.append(changeset)
	}
}

#[cfg(test)]
mod tests;
