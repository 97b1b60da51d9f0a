//! Everything a running node holds, built once by the builder and shared by the operations,
//! the event handler and the background tasks.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use lightning::ln::types::ChannelId;
use serde::{Deserialize, Serialize};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::api_keys::ApiKeys;
use crate::chain::BitcoindClient;
use crate::channel_stats::EngineStats;
use crate::config::NodeConfig;
use crate::journal::Journal;
use crate::logger::FulgurLogger;
use crate::model::{InvoiceRecord, PaymentRecord};
use crate::peer_events::PeerEvents;
use crate::persistence::{EngineStore, ManagerBarrier};
use crate::records::RecordStore;
use crate::store::DynStore;
use crate::types::{
	BumpTxEventHandler, ChainMonitor, ChannelManager, NetworkGraph, OnionMessenger, PeerManager,
	Sweeper,
};
use crate::wallet::OnchainWallet;
use crate::webhooks::Webhooks;

/// A peer we reconnect to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PeerRecord {
	/// Node id, hex.
	pub node_id: String,
	/// `host:port`.
	pub address: String,
}

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

/// The running node's parts.
pub struct Context {
	/// Configuration it was started with.
	pub config: NodeConfig,
	/// Log.
	pub logger: Arc<FulgurLogger>,
	/// The sled store.
	pub store: Arc<DynStore>,
	/// bitcoind.
	pub bitcoind: Arc<BitcoindClient>,
	/// On-chain wallet.
	pub wallet: Arc<OnchainWallet>,
	/// Channel monitors.
	pub chain_monitor: Arc<ChainMonitor>,
	/// Channels.
	pub channel_manager: Arc<ChannelManager>,
	/// The tower client, when towers are configured.
	pub towers: Option<Arc<crate::tower::Towers>>,
	/// The chain monitor as the channel manager sees it (with the tower client in between).
	pub tower_watch: Arc<crate::types::TowerWatch>,
	/// How long each start-up step took.
	pub startup: Mutex<Vec<(&'static str, std::time::Duration)>>,
	/// The network graph.
	pub graph: Arc<NetworkGraph>,
	/// The payment router (the channel manager's), for showing routes.
	pub router: Arc<crate::types::Router>,
	/// The scorer, learning from payments and probes.
	pub scorer: Arc<std::sync::Mutex<crate::types::Scorer>>,
	/// Onion messages.
	pub onion_messenger: Arc<OnionMessenger>,
	/// Peers.
	pub peer_manager: Arc<PeerManager>,
	/// Output sweeper.
	pub sweeper: Arc<Sweeper>,
	/// Anchor fee bumps.
	pub bump_handler: Arc<BumpTxEventHandler>,
	/// Invoices we issued, by payment hash.
	pub invoices: Arc<RecordStore<InvoiceRecord>>,
	/// Our outbound payments, by payment id (see `payment::keyspaces`).
	pub payments: Arc<RecordStore<PaymentRecord>>,
	/// Payments we received without an invoice record of ours, by payment hash; apart from
	/// `payments`, so a payment to us can never replace the record of one we made.
	pub received: Arc<RecordStore<PaymentRecord>>,
	/// Peers to reconnect to, by node id.
	pub peers: Arc<RecordStore<PeerRecord>>,
	/// The event log.
	pub journal: Arc<Journal>,
	/// Peer connections coming and going, queued for the journal.
	pub peer_events: Arc<PeerEvents>,
	/// Scoped API keys.
	pub api_keys: ApiKeys,
	/// Webhook registrations and delivery cursors.
	pub webhooks: Webhooks,
	/// Per-channel persistence counters of the channel-state engine.
	pub engine_stats: Arc<EngineStats>,
	/// The store monitor and manager writes go through.
	pub engine_store: Arc<EngineStore>,
	/// Orders manager writes before monitor writes (not with the stock fs-sync baseline).
	pub barrier: Option<Arc<ManagerBarrier>>,
	/// The barrier's writer task, stopped last.
	pub barrier_task: Mutex<Option<JoinHandle<()>>>,
	/// Channels of batch opens, by user channel id.
	pub funding_batches: DashMap<u128, Arc<FundingBatch>>,
	/// Channel opens waiting for their funding to be settled, by user channel id.
	pub pending_opens: DashMap<u128, oneshot::Sender<OpenOutcome>>,
	/// True once caught up with bitcoind's tip.
	pub synced: AtomicBool,
	/// Where the node stands with the chain, in words.
	pub sync_status: Arc<crate::chain::SyncStatus>,
	/// Set to true to stop the peer, chain and chore tasks.
	pub stop: watch::Sender<bool>,
	/// Set to true, after peers are gone, to stop the background processor: its last round
	/// persists the channel manager, which must come after the last message was handled.
	pub stop_processor: watch::Sender<bool>,
	/// Background tasks but the processor, joined on stop.
	pub tasks: Mutex<Vec<JoinHandle<()>>>,
	/// The background processor's task.
	pub processor: Mutex<Option<JoinHandle<()>>>,
}

impl Context {
	/// Resolves when the node is told to stop.
	pub async fn stopped(&self) {
		let mut rx = self.stop.subscribe();
		// An error means the sender is gone, which also means stop.
		let _ = rx.wait_for(|stop| *stop).await;
	}

	/// Keeps a background task so stop can wait for it.
	pub fn keep_task(&self, task: JoinHandle<()>) {
		self.tasks.lock().unwrap_or_else(|e| e.into_inner()).push(task);
	}
}
