//! Recognises on chain what the tower client prepared for: a revoked commitment of ours
//! (`breach_seen`) and then the justice transaction taking its outputs (`breach_punished`).
//! Both are journal events, so a merchant or a node runner hears of a breach even when the
//! node was offline while it happened (the blocks are scanned when it catches up). Every
//! block also goes to the tower client's [`retention`](super::retention) of closed channels.

use std::sync::Arc;

use bitcoin::block::Header;
use bitcoin::hex::DisplayHex;
use fulgur_tower_protocol::Locator;
use lightning::chain::transaction::TransactionData;
use lightning::chain::{BestBlock, Listen};

use super::Towers;
use crate::journal::{Journal, NodeEvent};

/// A chain listener raising the breach events.
pub struct BreachListener {
	towers: Arc<Towers>,
	journal: Arc<Journal>,
	runtime: tokio::runtime::Handle,
}

impl BreachListener {
	/// Listens for the appointments `towers` made.
	pub fn new(
		towers: Arc<Towers>, journal: Arc<Journal>, runtime: tokio::runtime::Handle,
	) -> BreachListener {
		BreachListener { towers, journal, runtime }
	}

	/// Waits for `writes` off the chain's path, logging failures (the next block or restart
	/// does the same work again).
	fn settle(&self, writes: Vec<super::outbox::Write>) {
		if writes.is_empty() {
			return;
		}
		let logger = Arc::clone(&self.towers.logger);
		self.runtime.spawn(async move {
			for write in writes {
				if let Err(e) = write.await {
					crate::error!(logger, "tower client: storing a channel's close: {e}");
				}
			}
		});
	}

	fn record(&self, event: NodeEvent) {
		let journal = Arc::clone(&self.journal);
		let logger = Arc::clone(&self.towers.logger);
		self.runtime.spawn(async move {
			if let Err(e) = journal.append(event).await {
				crate::error!(logger, "recording a breach event: {e}");
			}
		});
	}
}

impl Listen for BreachListener {
	fn filtered_block_connected(&self, _header: &Header, txdata: &TransactionData, height: u32) {
		// One store lookup per transaction, and a durable write per breach: off the runtime's
		// workers (the chain poller is an async task).
		crate::blocking::off_runtime(|| self.scan_block(txdata, height));
		// After the breaches: a channel is never forgotten before its closing block is seen.
		self.settle(self.towers.block_connected(txdata, height));
	}

	fn blocks_disconnected(&self, fork_point: BestBlock) {
		// The events stay: a reorged breach confirms again, and each event is recorded once.
		self.settle(self.towers.blocks_disconnected(fork_point.height));
	}
}

impl BreachListener {
	fn scan_block(&self, txdata: &TransactionData, height: u32) {
		for (_, tx) in txdata {
			let txid = tx.compute_txid();
			let locator = Locator::from_txid(&txid).as_bytes().to_lower_hex_string();
			if let Some(revoked) = self.towers.outbox().revoked(&locator) {
				crate::warn!(
					self.towers.logger,
					"breach: channel {} revoked commitment {txid} confirmed at {height}",
					revoked.channel_id
				);
				if let Err(e) = self.towers.outbox().await_justice(&revoked) {
					crate::error!(self.towers.logger, "remembering a breach: {e}");
				}
				self.record(NodeEvent::BreachSeen {
					channel_id: revoked.channel_id.clone(),
					txid: txid.to_string(),
				});
			}
			if let Some(revoked) = self.towers.outbox().awaited_justice(&txid.to_string()) {
				crate::info!(
					self.towers.logger,
					"breach punished: justice transaction {txid} took {} sat ({} HTLC outputs)",
					revoked.justice_value_sat,
					revoked.htlc_outputs
				);
				self.record(NodeEvent::BreachPunished {
					channel_id: revoked.channel_id,
					txid: txid.to_string(),
				});
			}
		}
	}
}
