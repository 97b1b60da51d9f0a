//! The channel manager's view of the chain monitor, with the tower client in between: an
//! update that stages a commitment or makes an appointment counts as persisted only once
//! those writes are durable too. So no revocation is acknowledged to the counterparty before
//! the appointment that punishes its breach is safe in the outbox.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock};

use bitcoin::secp256k1::PublicKey;
use lightning::chain::chaininterface::{BroadcasterInterface, FeeEstimator};
use lightning::chain::chainmonitor::{ChainMonitor, Persist};
use lightning::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate, MonitorEvent};
use lightning::chain::transaction::OutPoint;
use lightning::chain::{ChannelMonitorUpdateStatus, Filter, Watch};
use lightning::ln::types::ChannelId;
use lightning::sign::{EntropySource, InMemorySigner};
use lightning::util::logger::Logger;

use super::outbox::Write;
use super::Towers;
use crate::logger::FulgurLogger;

type ReleasedEvents = (OutPoint, ChannelId, Vec<MonitorEvent>, PublicKey);

/// What [`TowerWatch`] wraps: LDK's [`Watch`] with a look at one channel's monitor (the
/// chain monitor; named by the node's `types`, which sit above this module).
pub trait MonitorWatch: Watch<InMemorySigner> + Send + Sync {
	/// Runs `look` on the monitor of `channel_id`; `None` when there is none.
	fn with_monitor<R>(
		&self, channel_id: ChannelId, look: impl FnOnce(&ChannelMonitor<InMemorySigner>) -> R,
	) -> Option<R>;
}

/// LDK's chain monitor, whatever its parts (the node's is `types::ChainMonitor`).
impl<C: Deref, T: Deref, F: Deref, L: Deref, P: Deref, ES: Deref> MonitorWatch
	for ChainMonitor<InMemorySigner, C, T, F, L, P, ES>
where
	C::Target: Filter,
	T::Target: BroadcasterInterface,
	F::Target: FeeEstimator,
	L::Target: Logger,
	P::Target: Persist<InMemorySigner>,
	ES::Target: EntropySource,
	Self: Send + Sync,
{
	fn with_monitor<R>(
		&self, channel_id: ChannelId, look: impl FnOnce(&ChannelMonitor<InMemorySigner>) -> R,
	) -> Option<R> {
		self.get_monitor(channel_id).ok().map(|monitor| look(&monitor))
	}
}

/// [`Watch`] for the channel manager: the chain monitor, plus the tower client's writes.
pub struct TowerWatch<M: MonitorWatch> {
	inner: Arc<M>,
	towers: Option<Arc<Towers>>,
	gate: Arc<Gate>,
	logger: Arc<FulgurLogger>,
	/// Where the waits for durable writes run (LDK may call in from any thread).
	runtime: tokio::runtime::Handle,
}

/// Monitor events held back until the tower writes of their updates are durable.
#[derive(Default)]
struct Gate {
	state: Mutex<GateState>,
	/// Makes the channel manager look at monitor events again (set once the peer manager
	/// exists).
	waker: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

#[derive(Default)]
struct GateState {
	/// Per channel, updates whose tower writes are not durable yet.
	unfinished: HashMap<ChannelId, BTreeSet<u64>>,
	/// Events held back, in the order the chain monitor released them.
	held: Vec<ReleasedEvents>,
}

impl<M: MonitorWatch> TowerWatch<M> {
	/// The chain monitor as the channel manager sees it; `towers` is `None` when no tower is
	/// configured (then this only forwards).
	pub fn new(
		inner: Arc<M>, towers: Option<Arc<Towers>>, logger: Arc<FulgurLogger>,
		runtime: tokio::runtime::Handle,
	) -> TowerWatch<M> {
		TowerWatch { inner, towers, gate: Arc::new(Gate::default()), logger, runtime }
	}

	/// The tower client, if towers are configured.
	pub fn towers(&self) -> Option<&Arc<Towers>> {
		self.towers.as_ref()
	}

	/// How to make the channel manager process monitor events (the peer manager's
	/// `process_events`); set once.
	pub fn set_waker(&self, waker: impl Fn() + Send + Sync + 'static) {
		let _ = self.gate.waker.set(Box::new(waker));
	}

	/// Holds update `update_id` of `channel_id` until `writes` are durable.
	fn hold_until_durable(
		&self, channel_id: ChannelId, update_id: u64, writes: Vec<Write>,
		status: ChannelMonitorUpdateStatus,
	) -> ChannelMonitorUpdateStatus {
		if writes.is_empty() || status == ChannelMonitorUpdateStatus::UnrecoverableError {
			return status;
		}
		{
			let mut state = self.gate.state.lock().unwrap_or_else(|e| e.into_inner());
			state.unfinished.entry(channel_id).or_default().insert(update_id);
			if status == ChannelMonitorUpdateStatus::Completed {
				// The persister finished synchronously: the completion we now owe is ours.
				let identity = self.inner.with_monitor(channel_id, |monitor| {
					(monitor.get_funding_txo(), monitor.get_counterparty_node_id())
				});
				if let Some((funding_txo, counterparty)) = identity {
					let completed = MonitorEvent::Completed {
						funding_txo,
						channel_id,
						monitor_update_id: update_id,
					};
					state.held.push((funding_txo, channel_id, vec![completed], counterparty));
				}
			}
		}
		let gate = Arc::clone(&self.gate);
		let logger = Arc::clone(&self.logger);
		let towers = self.towers.clone();
		self.runtime.spawn(async move {
			for write in writes {
				if let Err(e) = write.await {
					// Like a failed monitor write: the channel stays frozen rather than
					// acknowledging a revocation no tower could act on.
					crate::error!(
						logger,
						"tower outbox write for channel {channel_id} failed: {e}"
					);
					return;
				}
			}
			gate.finish(channel_id, update_id);
			if let Some(towers) = towers {
				towers.entries_durable();
			}
		});
		ChannelMonitorUpdateStatus::InProgress
	}
}

impl Gate {
	fn finish(&self, channel_id: ChannelId, update_id: u64) {
		let wake = {
			let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
			if let Some(pending) = state.unfinished.get_mut(&channel_id) {
				pending.remove(&update_id);
				if pending.is_empty() {
					state.unfinished.remove(&channel_id);
				}
			}
			state.held.iter().any(|(_, held, _, _)| *held == channel_id)
		};
		if wake {
			if let Some(waker) = self.waker.get() {
				waker();
			}
		}
	}

	/// Splits `events` into what may go to the channel manager now and what waits: a
	/// channel's events wait from its first completion that covers an unfinished update.
	fn release(&self, fresh: Vec<ReleasedEvents>) -> Vec<ReleasedEvents> {
		let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
		if state.unfinished.is_empty() && state.held.is_empty() {
			return fresh;
		}
		let mut all = std::mem::take(&mut state.held);
		all.extend(fresh);
		let mut out = Vec::with_capacity(all.len());
		let mut blocked = HashSet::new();
		for (funding_txo, channel_id, mut events, counterparty) in all {
			let split = if blocked.contains(&channel_id) {
				0
			} else {
				let unfinished = state.unfinished.get(&channel_id);
				events
					.iter()
					.position(|event| match (event, unfinished) {
						(MonitorEvent::Completed { monitor_update_id, .. }, Some(pending)) => {
							pending.first().is_some_and(|first| first <= monitor_update_id)
						}
						_ => false,
					})
					.unwrap_or(events.len())
			};
			let waiting = events.split_off(split);
			if !events.is_empty() {
				out.push((funding_txo, channel_id, events, counterparty));
			}
			if !waiting.is_empty() {
				blocked.insert(channel_id);
				state.held.push((funding_txo, channel_id, waiting, counterparty));
			}
		}
		out
	}
}

impl<M: MonitorWatch> Watch<InMemorySigner> for TowerWatch<M> {
	fn watch_channel(
		&self, channel_id: ChannelId, monitor: ChannelMonitor<InMemorySigner>,
	) -> Result<ChannelMonitorUpdateStatus, ()> {
		let Some(towers) = &self.towers else {
			return self.inner.watch_channel(channel_id, monitor);
		};
		let writes = towers.on_new_monitor(&channel_id, &monitor);
		let update_id = monitor.get_latest_update_id();
		let status = self.inner.watch_channel(channel_id, monitor)?;
		Ok(self.hold_until_durable(channel_id, update_id, writes, status))
	}

	fn update_channel(
		&self, channel_id: ChannelId, update: &ChannelMonitorUpdate,
	) -> ChannelMonitorUpdateStatus {
		let status = self.inner.update_channel(channel_id, update);
		let Some(towers) = &self.towers else { return status };
		let writes = self
			.inner
			.with_monitor(channel_id, |monitor| towers.on_update(&channel_id, update, monitor))
			.unwrap_or_default();
		self.hold_until_durable(channel_id, update.update_id, writes, status)
	}

	fn release_pending_monitor_events(&self) -> Vec<ReleasedEvents> {
		self.gate.release(self.inner.release_pending_monitor_events())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use bitcoin::hashes::Hash;
	use bitcoin::secp256k1::{Secp256k1, SecretKey};

	fn released(channel: u8, updates: &[u64]) -> ReleasedEvents {
		let txid = bitcoin::Txid::from_byte_array([channel; 32]);
		let funding_txo = OutPoint { txid, index: 0 };
		let channel_id = ChannelId([channel; 32]);
		let events = updates
			.iter()
			.map(|&monitor_update_id| MonitorEvent::Completed {
				funding_txo,
				channel_id,
				monitor_update_id,
			})
			.collect();
		let key = SecretKey::from_slice(&[1; 32]).unwrap();
		(funding_txo, channel_id, events, PublicKey::from_secret_key(&Secp256k1::new(), &key))
	}

	fn completed(out: &[ReleasedEvents]) -> Vec<(u8, u64)> {
		out.iter()
			.flat_map(|(_, channel, events, _)| {
				events.iter().filter_map(move |e| match e {
					MonitorEvent::Completed { monitor_update_id, .. } => {
						Some((channel.0[0], *monitor_update_id))
					}
					_ => None,
				})
			})
			.collect()
	}

	#[test]
	fn completions_wait_for_their_tower_writes_and_others_pass() {
		let gate = Gate::default();
		gate.state.lock().unwrap().unfinished.insert(ChannelId([1; 32]), [5].into());
		// Channel 1's update 4 may go; 5 waits, and 6 after it. Channel 2 is not held.
		let out = gate.release(vec![released(1, &[4, 5, 6]), released(2, &[9])]);
		assert_eq!(completed(&out), vec![(1, 4), (2, 9)]);
		// Still unfinished: a later completion of channel 1 waits behind the held ones.
		let out = gate.release(vec![released(1, &[7])]);
		assert!(completed(&out).is_empty());
		gate.finish(ChannelId([1; 32]), 5);
		let out = gate.release(Vec::new());
		assert_eq!(completed(&out), vec![(1, 5), (1, 6), (1, 7)]);
		assert!(gate.release(Vec::new()).is_empty());
	}
}
