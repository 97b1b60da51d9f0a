//! The periodic chores and the peer event recorder, each with the parts it touches.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lightning::ln::msgs::SocketAddress;
use tokio::sync::mpsc;

use crate::journal::{Journal, NodeEvent};
use crate::logger::FulgurLogger;
use crate::peer_events::PeerEvents;
use crate::peers::PeerManager;
use crate::shutdown::StopSignal;
use crate::types::ChannelManager;
use crate::wallet::OnchainWallet;
use crate::webhooks::Webhooks;

/// Syncs the wallet, then records an `onchain_received` event for each confirmed
/// transaction that gave it funds. `recorded` holds the txids already in the journal, so
/// each sync only asks the journal about new ones.
pub(crate) async fn sync_wallet(
	wallet: Arc<OnchainWallet>, journal: &Journal, logger: &FulgurLogger,
	recorded: &Mutex<HashSet<bitcoin::Txid>>,
) {
	let receipts = match tokio::task::spawn_blocking(move || {
		wallet.sync().map(|()| wallet.confirmed_receipts())
	})
	.await
	{
		Ok(Ok(receipts)) => receipts,
		Ok(Err(e)) => return crate::warn!(logger, "wallet sync: {e}"),
		Err(e) => return crate::error!(logger, "wallet sync task: {e}"),
	};
	for (txid, amount_sat, block_height) in receipts {
		if recorded.lock().unwrap_or_else(|e| e.into_inner()).contains(&txid) {
			continue;
		}
		let event = NodeEvent::OnchainReceived { txid: txid.to_string(), amount_sat, block_height };
		match journal.append(event).await {
			Ok(_) => {
				recorded.lock().unwrap_or_else(|e| e.into_inner()).insert(txid);
			}
			// Tried again at the next sync.
			Err(e) => crate::warn!(logger, "recording on-chain receipt {txid}: {e}"),
		}
	}
}

/// Records peer connections and disconnections in the order the peer manager reported them,
/// and says so in the log when some were dropped because the queue was full.
pub(crate) async fn record_peer_events(
	peer_events: Arc<PeerEvents>, mut queue: mpsc::Receiver<NodeEvent>, journal: Arc<Journal>,
	logger: Arc<FulgurLogger>, stop: StopSignal,
) {
	let mut dropped_seen = 0;
	loop {
		let event = tokio::select! {
			_ = stop.stopped() => return,
			event = queue.recv() => event,
		};
		let Some(event) = event else { return };
		if let Err(e) = journal.append(event).await {
			crate::warn!(logger, "recording a peer event: {e}");
		}
		let dropped = peer_events.dropped();
		if dropped > dropped_seen {
			crate::warn!(
				logger,
				"{} peer events not recorded: more than {} were waiting",
				dropped - dropped_seen,
				crate::peer_events::PEER_EVENT_QUEUE
			);
			dropped_seen = dropped;
		}
	}
}

/// Broadcasts our node announcement (name and address), once we have an announced channel.
pub(crate) fn announce_node(
	channel_manager: &ChannelManager, peer_manager: &PeerManager, name: &str,
	listen_addr: SocketAddr,
) {
	// Only nodes with announced channels are relayed; LDK checks that.
	if !channel_manager.list_channels().iter().any(|c| c.is_announced && c.is_channel_ready) {
		return;
	}
	let mut alias = [0u8; 32];
	let name = name.as_bytes();
	let len = name.len().min(32);
	alias[..len].copy_from_slice(&name[..len]);
	let addr = listen_addr;
	let address = match addr.ip() {
		std::net::IpAddr::V4(ip) => SocketAddress::TcpIpV4 { addr: ip.octets(), port: addr.port() },
		std::net::IpAddr::V6(ip) => SocketAddress::TcpIpV6 { addr: ip.octets(), port: addr.port() },
	};
	peer_manager.broadcast_node_announcement([0xf5, 0xc3, 0x1a], alias, vec![address]);
}

/// Drops events older than `retention`, keeping what a webhook has not delivered yet (and,
/// inside the journal, what an open stream has not passed).
pub(crate) async fn compact_events(
	journal: &Arc<Journal>, webhooks: &Webhooks, retention: Duration, logger: &FulgurLogger,
) {
	let older_than = fulgur_base::clock::unix_now().saturating_sub(retention.as_secs());
	let keep_from = webhooks.oldest_cursor().unwrap_or(u64::MAX);
	let journal = Arc::clone(journal);
	match tokio::task::spawn_blocking(move || journal.compact(older_than, keep_from)).await {
		Ok(Ok(0)) => {}
		Ok(Ok(removed)) => crate::info!(
			logger,
			"event log: {removed} events older than {} days removed",
			retention.as_secs() / crate::config::SECONDS_PER_DAY
		),
		Ok(Err(e)) => crate::warn!(logger, "event log compaction: {e}"),
		Err(e) => crate::error!(logger, "event log compaction task: {e}"),
	}
}
