//! Channel opens in flight: who waits for which open's outcome, and the channels of a batch
//! open collected until all of them can be funded by one transaction. In memory only: an open
//! interrupted by a restart is LDK's to finish or fail.

use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use lightning::ln::types::ChannelId;
use tokio::sync::oneshot;

/// What a pending channel open is told once its funding is settled: the final channel id and
/// funding txid, or why it failed.
pub type OpenOutcome = Result<(ChannelId, String), String>;

/// Channels of one batch open, collected as LDK asks for their funding; funded together once
/// all are in.
pub struct FundingBatch {
	expected: usize,
	ready: Mutex<Vec<ReadyFunding>>,
}

/// One channel of a batch, ready to be funded.
pub struct ReadyFunding {
	/// LDK's temporary channel id.
	pub temporary_channel_id: ChannelId,
	/// The counterparty.
	pub counterparty: bitcoin::secp256k1::PublicKey,
	/// The funding output's script.
	pub script: bitcoin::ScriptBuf,
	/// The channel's size.
	pub amount_sat: u64,
	/// Our id of the channel.
	pub user_channel_id: u128,
}

impl FundingBatch {
	/// A batch of `expected` channels.
	pub fn new(expected: usize) -> FundingBatch {
		FundingBatch { expected, ready: Mutex::new(Vec::new()) }
	}

	/// Adds a channel; returns the whole batch once the last one arrived.
	pub fn add(&self, ready: ReadyFunding) -> Option<Vec<ReadyFunding>> {
		let mut all = self.ready.lock().unwrap_or_else(|e| e.into_inner());
		all.push(ready);
		(all.len() == self.expected).then(|| std::mem::take(&mut *all))
	}
}

/// The opens in flight, by user channel id.
#[derive(Default)]
pub struct PendingOpens {
	/// Channels of batch opens.
	pub funding_batches: DashMap<u128, Arc<FundingBatch>>,
	/// Opens waiting for their funding to be settled.
	pub waiting: DashMap<u128, oneshot::Sender<OpenOutcome>>,
}

impl PendingOpens {
	/// Tells the open waiting under `user_channel_id` how it fared, once: the first outcome
	/// (a channel event) takes the waiter, later ones find nobody.
	pub fn settle(&self, user_channel_id: u128, outcome: OpenOutcome) {
		if let Some((_, waiter)) = self.waiting.remove(&user_channel_id) {
			// The opener may have given up waiting; nothing to do then.
			let _ = waiter.send(outcome);
		}
	}
}
