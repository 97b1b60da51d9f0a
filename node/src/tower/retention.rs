//! When the tower client may forget a channel. Its revoked records are what lets the node
//! recognise a breach on chain, so they stay until no revoked commitment can confirm any
//! more: the channel's funding output is spent, and that spend is buried deeper than the
//! channel's CSV delay (at least LDK's reorg margin). Then the channel's staged commitments
//! and revoked records go: what each payment adds ends with its channel.
//!
//! One record per channel in `fulgur_tower_channels`: its funding outpoint, the CSV delay of
//! its appointments and, once seen, the height its funding was spent at (undone by a reorg).
//! Nothing here waits for the disk on the chain's thread: the writes are returned to the
//! caller, and pruning removes lazily before one durable write.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bitcoin::hex::{DisplayHex, FromHex};
use bitcoin::OutPoint;
use lightning::chain::channelmonitor::ANTI_REORG_DELAY;
use lightning::chain::transaction::TransactionData;
use lightning::ln::types::ChannelId;
use lightning::util::persist::{KVStore, KVStoreSync};
use serde::{Deserialize, Serialize};

use super::outbox::{Outbox, Write};
use crate::store::DynStore;
use crate::NodeError;

const CHANNELS_NAMESPACE: &str = "fulgur_tower_channels";
/// The CSV delay assumed for a channel no appointment told it for: the largest LDK accepts.
const MAX_TO_SELF_DELAY: u32 = 2016;

/// What is kept per channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ChannelRecord {
	/// The funding outpoint (`txid:vout`).
	funding: OutPoint,
	/// Largest CSV delay of its appointments' `to_local` outputs, once one was made.
	to_self_delay: Option<u32>,
	/// Height of the block spending the funding output, in the current chain.
	closed_at: Option<u32>,
}

impl ChannelRecord {
	/// Blocks the funding spend must be buried before the channel is forgotten.
	fn retention(&self) -> u32 {
		self.to_self_delay.unwrap_or(MAX_TO_SELF_DELAY).max(ANTI_REORG_DELAY)
	}
}

#[derive(Default)]
struct State {
	channels: HashMap<ChannelId, ChannelRecord>,
	by_funding: HashMap<OutPoint, ChannelId>,
}

/// The channels the tower client holds records for.
pub struct Channels {
	store: Arc<DynStore>,
	state: Mutex<State>,
}

fn io(e: impl std::fmt::Display) -> NodeError {
	NodeError::Persistence(format!("tower channels: {e}"))
}

impl Channels {
	/// Loads the channel records.
	pub fn open(store: Arc<DynStore>) -> Result<Channels, NodeError> {
		let mut state = State::default();
		for key in KVStoreSync::list(&*store, CHANNELS_NAMESPACE, "").map_err(io)? {
			let bytes = KVStoreSync::read(&*store, CHANNELS_NAMESPACE, "", &key).map_err(io)?;
			let record: ChannelRecord = serde_json::from_slice(&bytes).map_err(io)?;
			let id = <[u8; 32]>::from_hex(&key).map_err(io)?;
			state.by_funding.insert(record.funding, ChannelId(id));
			state.channels.insert(ChannelId(id), record);
		}
		Ok(Channels { store, state: Mutex::new(state) })
	}

	fn lock(&self) -> MutexGuard<'_, State> {
		// Every critical section updates both maps before anything can fail.
		self.state.lock().unwrap_or_else(|e| e.into_inner())
	}

	/// Remembers `channel_id`, funded by `funding`, whose appointments' CSV delay is at least
	/// `to_self_delay`; the write to wait for when that is news.
	pub fn track(
		&self, channel_id: &ChannelId, funding: OutPoint, to_self_delay: Option<u32>,
	) -> Option<Write> {
		let mut state = self.lock();
		let record = match state.channels.get(channel_id) {
			Some(known) if known.to_self_delay >= to_self_delay => return None,
			Some(known) => ChannelRecord { to_self_delay, ..known.clone() },
			None => ChannelRecord { funding, to_self_delay, closed_at: None },
		};
		let write = self.write(channel_id, &record);
		state.by_funding.insert(record.funding, *channel_id);
		state.channels.insert(*channel_id, record);
		Some(write)
	}

	fn write(&self, channel_id: &ChannelId, record: &ChannelRecord) -> Write {
		let key = channel_id.0.to_lower_hex_string();
		match serde_json::to_vec(record) {
			Ok(bytes) => KVStore::write(&*self.store, CHANNELS_NAMESPACE, "", &key, bytes),
			Err(e) => {
				let e = lightning::io::Error::new(lightning::io::ErrorKind::Other, e.to_string());
				Box::pin(std::future::ready(Err(e)))
			}
		}
	}

	/// A block at `height`: a funding spend marks its channel closed, and a channel whose
	/// close is buried past its retention is forgotten in `outbox`. Returns the forgotten
	/// channels and the writes that make this durable.
	pub fn block_connected(
		&self, outbox: &Outbox, txdata: &TransactionData, height: u32,
	) -> (Vec<ChannelId>, Vec<Write>) {
		let mut state = self.lock();
		let mut writes = Vec::new();
		for (_, tx) in txdata {
			for input in &tx.input {
				let Some(channel_id) = state.by_funding.get(&input.previous_output).copied() else {
					continue;
				};
				if let Some(record) = state.channels.get_mut(&channel_id) {
					record.closed_at = Some(height);
					let record = record.clone();
					writes.push(self.write(&channel_id, &record));
				}
			}
		}
		let due: Vec<ChannelId> = state
			.channels
			.iter()
			.filter(|(_, r)| r.closed_at.is_some_and(|at| height >= at + r.retention()))
			.map(|(id, _)| *id)
			.collect();
		let mut forgotten = Vec::new();
		for channel_id in due {
			// Kept (and tried again next block) if the records cannot be listed.
			if outbox.forget_channel(&channel_id).is_err() {
				continue;
			}
			let key = channel_id.0.to_lower_hex_string();
			// Durable with (and after) the lazy removes of its records.
			writes.push(KVStore::remove(&*self.store, CHANNELS_NAMESPACE, "", &key, false));
			if let Some(record) = state.channels.remove(&channel_id) {
				state.by_funding.remove(&record.funding);
			}
			forgotten.push(channel_id);
		}
		(forgotten, writes)
	}

	/// Blocks above `fork_height` are gone: so are the closes they held.
	pub fn blocks_disconnected(&self, fork_height: u32) -> Vec<Write> {
		let mut state = self.lock();
		let mut writes = Vec::new();
		for (channel_id, record) in state.channels.iter_mut() {
			if record.closed_at.is_some_and(|at| at > fork_height) {
				record.closed_at = None;
				writes.push(self.write(channel_id, record));
			}
		}
		writes
	}

	/// How many channels are tracked.
	pub fn len(&self) -> usize {
		self.lock().channels.len()
	}

	/// Whether no channel is tracked.
	pub fn is_empty(&self) -> bool {
		self.len() == 0
	}
}
