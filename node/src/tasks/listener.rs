//! Fans each connected or disconnected block out to every LDK component that follows the chain.

use std::sync::Arc;

use bitcoin::block::Header;
use lightning::chain::transaction::TransactionData;
use lightning::chain::{BestBlock, Listen};

use crate::types::{ChainMonitor, ChannelManager, Sweeper};

/// The chain listener the block poller drives.
pub struct ChainListener {
	/// Channel state machine.
	pub channel_manager: Arc<ChannelManager>,
	/// Channel monitors (punishment, claims).
	pub chain_monitor: Arc<ChainMonitor>,
	/// Sweeps closed channels' outputs.
	pub sweeper: Arc<Sweeper>,
	/// Records closing transactions.
	pub closing_spends: crate::channels::closed::ClosingSpendWatcher,
	/// Reports breaches the tower client prepared for (when towers are configured).
	pub breaches: Option<crate::tower::breach::BreachListener>,
}

impl Listen for ChainListener {
	fn filtered_block_connected(&self, header: &Header, txdata: &TransactionData, height: u32) {
		// Monitors first: they must see a breach before the manager reacts to the block.
		self.chain_monitor.filtered_block_connected(header, txdata, height);
		self.channel_manager.filtered_block_connected(header, txdata, height);
		self.sweeper.filtered_block_connected(header, txdata, height);
		self.closing_spends.filtered_block_connected(header, txdata, height);
		if let Some(breaches) = &self.breaches {
			breaches.filtered_block_connected(header, txdata, height);
		}
	}

	fn blocks_disconnected(&self, fork_point_block: BestBlock) {
		self.chain_monitor.blocks_disconnected(fork_point_block);
		self.channel_manager.blocks_disconnected(fork_point_block);
		self.sweeper.blocks_disconnected(fork_point_block);
		self.closing_spends.blocks_disconnected(fork_point_block);
		if let Some(breaches) = &self.breaches {
			breaches.blocks_disconnected(fork_point_block);
		}
	}
}
