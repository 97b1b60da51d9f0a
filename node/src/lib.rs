//! fulgur-node: a Lightning node on LDK, bitcoind and sled.
//!
//! [`Node::start`] builds every part in LDK's start-up order (see `builder`) and starts the
//! background tasks; the methods of [`Node`] are the operations the API and CLI expose, in the
//! node's own types: LDK's typed ids and [`NodeError`], which knows no HTTP (text forms and
//! statuses are the API's business, in `fulgur-web`). A node is a set of handles, one per
//! concern (`payment::Payments`, `channels::Channels`, `peers::Peers`, `onchain::Onchain`,
//! `routing::Routing`, the journal, API keys and webhooks), each built by the builder with
//! exactly the parts it uses; operations, event handlers and chores take the handle or the
//! parts they touch. Stopping is one ordered list (`shutdown`).
//!
//! Modules form layers, listed here from the bottom up; a module imports only modules listed
//! before it (the `layers` test reads this list and every `crate::` path in the sources), so
//! no import runs upwards and there is no circle:
//! 1. Vocabulary: `error`, `sealing`, `fee_policy`, `config`, `model`, `logger`, `blocking`,
//!    `private_files`, `channel_stats`, `inbound`, `parse`, `decode`, `shutdown`, `fence`.
//! 2. Storage: `store`, `records`.
//! 3. State on disk and the chain: `persistence`, `api_keys`, `journal`, `wallet`, `chain`.
//! 4. Keys and what the chain monitor sees: `keys`, `peer_events`, `startup`, `tower` (the
//!    tower client), `types` (every LDK type spelled out), `receive_delay` (the channel
//!    messages' handler in front of LDK's).
//! 5. Operations, one handle each: `peers`, `routing`, `onchain`, `webhooks`, `channels`,
//!    `payment`, `forwards`.
//! 6. What runs them: `event` (LDK's events), `tasks` (background tasks).
//! 7. Wiring: `handles`, `secrets` (the seed and credentials sealed in the store), `builder`,
//!    and [`Node`] here (its routing-node methods in `routing_node`).
#![deny(missing_docs)]

mod api_keys;
mod blocking;
pub mod chain;
pub mod channel_stats;
mod channels;
pub mod config;
pub mod decode;
pub mod error;
mod event;
pub mod fee_policy;
pub mod fence;
pub mod forwards;
mod handles;
mod inbound;
pub mod journal;
mod keys;
pub mod logger;
pub mod model;
mod onchain;
mod parse;
mod payment;
mod peer_events;
mod peers;
mod persistence;
pub mod private_files;
pub mod receive_delay;
mod records;
pub mod routing;
mod routing_node;
mod sealing;
pub mod secrets;
mod shutdown;
mod startup;
pub mod store;
mod tasks;
pub mod tower;
pub mod types;
pub mod wallet;
mod webhooks;

mod builder;
#[cfg(test)]
mod layers;

pub use api_keys::{constant_time_eq, ApiKeyInfo, ApiScope};
/// The ids the node's operations take: LDK's own types (a node id is a public key, a short
/// channel id a `u64`). Their text forms are the API's business (`fulgur-web` parses them).
pub use bitcoin::secp256k1::PublicKey;
pub use config::{NodeConfig, StoreKind};
pub use error::NodeError;
/// The logging macros (`crate::info!(logger, ...)`), fulgur's one logger's.
pub use fulgur_base::{debug, error, info, warn};
pub use journal::{
	kind_readable_by, EventPage, EventReader, EventRecord, NodeEvent, EVENT_KINDS,
	INVOICE_SCOPE_KINDS,
};
pub use lightning::ln::channelmanager::PaymentId;
pub use lightning::ln::types::ChannelId;
pub use lightning::types::payment::{PaymentHash, PaymentPreimage};
pub use model::*;
pub use payment::rebalance::RebalanceRequest;
pub use startup::Startup;
pub use webhooks::{
	signature as webhook_signature, signed_message as webhook_signed_message, DeliveryState,
	WebhookInfo, MAX_CA_CERT_PEM, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::handles::Handles;
use crate::shutdown::Stage;

/// A running node. Cheap to clone; every clone is the same node.
#[derive(Clone)]
pub struct Node {
	handles: Arc<Handles>,
}

impl Node {
	/// Starts the node: reads its state from disk, syncs to bitcoind's tip, listens for peers.
	/// Must be called inside a multi-threaded tokio runtime.
	pub async fn start(config: NodeConfig) -> Result<Node, NodeError> {
		Node::start_reporting(config, Startup::new()).await
	}

	/// [`Node::start`], saying in `startup` what the start is doing or waiting for (bitcoind
	/// catching up to the node's best block): the daemon's API shows it while the node starts.
	pub async fn start_reporting(
		config: NodeConfig, startup: Arc<Startup>,
	) -> Result<Node, NodeError> {
		let node = Node { handles: Arc::new(builder::build(config, startup).await?) };
		node.stop_when_fenced();
		Ok(node)
	}

	/// Stops the node at once when its fence is raised (the leader lease lost); the task
	/// ends with the node. Weak: it never keeps a node alive.
	fn stop_when_fenced(&self) {
		let (fence, stopped) = (self.handles.fence.clone(), self.handles.stop.clone());
		let handles = Arc::downgrade(&self.handles);
		tokio::spawn(async move {
			tokio::select! {
				reason = fence.raised() => {
					let Some(handles) = handles.upgrade() else { return };
					crate::error!(handles.payments.logger, "stopping at once: {reason}");
					handles.shutdown.run().await;
				}
				() = stopped.stopped() => {}
			}
		});
	}

	/// Resolves with the reason once the node has lost the right to act as the node (its
	/// leader lease on the PostgreSQL store): it then sends, settles and broadcasts nothing,
	/// writes nothing, and stops by itself. Never resolves on other stores.
	pub async fn fenced(&self) -> String {
		self.handles.fence.raised().await
	}

	/// Stops the node cleanly: the listener, chain poller and chores end, peers are
	/// disconnected, then the background processor handles what is left and persists the
	/// channel manager on its way out (after the last peer message, so the manager on disk is
	/// never behind its monitors), and the store is flushed.
	pub async fn stop(&self) {
		self.handles.shutdown.run().await
	}

	/// The store's counters since start (writes, flushes, bytes): what persistence costs.
	pub fn store_stats(&self) -> store::StoreStats {
		self.handles.store.stats()
	}

	/// How many times HTLCs paying this node were processed at once, without LDK's hold
	/// (`--receive-delay none`; always 0 with `random`).
	pub fn receives_processed_early(&self) -> u64 {
		self.handles.receive_gate.early_calls()
	}

	/// Our node id (its `Display` is the hex the API shows).
	pub fn node_id(&self) -> PublicKey {
		self.handles.peers.our_node_id
	}

	/// The address peers reach us on.
	pub fn listen_addr(&self) -> std::net::SocketAddr {
		self.handles.listen_addr
	}

	/// Node-wide state.
	pub fn info(&self) -> NodeInfo {
		let h = &self.handles;
		let best = h.channels.channel_manager.current_best_block();
		let channels = h.channels.channel_manager.list_channels();
		let engine = h.channels.engine_stats.total();
		let graph = routing::graph::summary(&h.routing.graph);
		NodeInfo {
			node_id: self.node_id().to_string(),
			network: h.network.to_string(),
			block_height: best.height,
			block_hash: best.block_hash.to_string(),
			synced: h.synced.load(Ordering::Acquire),
			sync_status: h.sync_status.get(),
			num_peers: h.peers.connected_count(),
			num_channels: channels.len(),
			num_usable_channels: channels.iter().filter(|c| c.is_usable).count(),
			listening_addresses: vec![h.listen_addr.to_string()],
			graph_nodes: graph.node_count,
			graph_channels: graph.channel_count_both_directions,
			monitor_updates_in_flight: engine.updates_in_flight,
			monitor_updates_done: engine.updates_done,
			last_persist_latency_us: engine.last_persist_latency_us,
		}
	}

	/// Balances.
	pub fn balance(&self) -> Balance {
		let onchain = self.handles.onchain.balance();
		let channels = self.handles.channels.channel_manager.list_channels();
		Balance {
			onchain_confirmed_sat: onchain.confirmed_sat,
			onchain_unconfirmed_sat: onchain.unconfirmed_sat,
			lightning_outbound_msat: channels.iter().map(|c| c.outbound_capacity_msat).sum(),
			lightning_inbound_msat: channels.iter().map(|c| c.inbound_capacity_msat).sum(),
			lightning_claimable_sat: channels::claimable_sat(&self.handles.channels),
			onchain_claimable_sat: self.handles.channels.closed.onchain_claimable_sat(&channels),
		}
	}

	/// A fresh on-chain receive address.
	pub fn new_onchain_address(&self) -> Result<String, NodeError> {
		self.handles.onchain.new_address()
	}

	/// Sends on-chain; returns the txid once bitcoind accepted the transaction.
	pub async fn send_onchain(&self, address: &str, amount_sat: u64) -> Result<String, NodeError> {
		self.handles.onchain.send(address, amount_sat).await
	}

	/// Connects to a peer (`address` = `host:port`) and remembers it.
	pub async fn connect_peer(&self, node_id: PublicKey, address: &str) -> Result<(), NodeError> {
		self.handles.peers.connect(node_id, address).await
	}

	/// Disconnects a peer and forgets it.
	pub async fn disconnect_peer(&self, node_id: PublicKey) -> Result<(), NodeError> {
		self.handles.peers.disconnect(node_id).await
	}

	/// Known peers.
	pub fn list_peers(&self) -> Vec<PeerInfo> {
		self.handles.peers.list()
	}

	/// Opens a channel; returns once the funding transaction is broadcast.
	pub async fn open_channel(&self, req: OpenChannelRequest) -> Result<OpenedChannel, NodeError> {
		channels::open(&self.handles.channels, req).await
	}

	/// Opens several channels funded by one transaction; returns once every channel is pending
	/// (LDK broadcasts the transaction as soon as every counterparty has signed).
	pub async fn open_channels(
		&self, reqs: Vec<OpenChannelRequest>,
	) -> Result<Vec<OpenedChannel>, NodeError> {
		channels::open_batch(&self.handles.channels, reqs).await
	}

	/// All channels.
	pub fn list_channels(&self) -> Vec<ChannelInfo> {
		channels::list(&self.handles.channels)
	}

	/// One channel; `None` when we have no channel with that id.
	pub fn get_channel(&self, channel_id: &ChannelId) -> Option<ChannelInfo> {
		channels::get(&self.handles.channels, channel_id)
	}

	/// Closes a channel cooperatively (waiting up to 30 s while LDK refuses it for a passing
	/// reason: the peer reconnecting, a monitor update in flight), or by broadcasting our
	/// commitment when `force`.
	pub async fn close_channel(
		&self, channel_id: &ChannelId, force: bool,
	) -> Result<(), NodeError> {
		channels::close(&self.handles.channels, channel_id, force).await
	}

	/// Candidate routes to a node or an invoice's payee, best first.
	pub fn find_routes(
		&self, req: &routing::RoutesRequest,
	) -> Result<routing::RoutesResponse, NodeError> {
		routing::find_routes(&self.handles.routing, req)
	}

	/// Sends probes along the route a payment would take (the scorer learns from their
	/// outcome); returns how many probes left.
	pub fn probe(&self, req: &routing::RoutesRequest) -> Result<usize, NodeError> {
		routing::probe(&self.handles.routing, req)
	}

	/// The configured watchtowers with their delivery state; `None` when none is configured.
	pub fn towers(&self) -> Option<Vec<tower::TowerStatus>> {
		self.handles.towers.as_ref().map(|towers| towers.status())
	}

	/// Appointments waiting in the outbox for at least one tower.
	pub fn tower_outbox_len(&self) -> u64 {
		self.handles.towers.as_ref().map_or(0, |towers| towers.outbox_len())
	}

	/// How long each step of the last start took (store, monitors, manager, chain sync, ...).
	pub fn startup_timings(&self) -> Vec<(&'static str, std::time::Duration)> {
		self.handles.startup_timings.clone()
	}

	/// Counts of the gossiped graph.
	pub fn graph_summary(&self) -> routing::graph::GraphSummary {
		routing::graph::summary(&self.handles.routing.graph)
	}

	/// One node of the graph; `None` when the graph does not know it.
	pub fn graph_node(&self, node_id: &PublicKey) -> Option<routing::graph::GraphNode> {
		routing::graph::node(&self.handles.routing.graph, node_id)
	}

	/// One channel of the graph, by short channel id; `None` when the graph does not know it.
	pub fn graph_channel(&self, short_channel_id: u64) -> Option<routing::graph::GraphChannel> {
		routing::graph::channel(&self.handles.routing.graph, short_channel_id)
	}

	/// Creates a BOLT11 invoice.
	pub async fn create_invoice(
		&self, amount_msat: Option<u64>, description: &str, expiry_secs: Option<u32>,
	) -> Result<InvoiceRecord, NodeError> {
		payment::bolt11::create_invoice(
			&self.handles.payments,
			amount_msat,
			description,
			expiry_secs,
			None,
			None,
			None,
		)
		.await
	}

	/// Creates a BOLT11 invoice for a preimage the caller chose (LND's `r_preimage`): a
	/// payment to it is claimed with that preimage, as with any invoice of ours. The caller
	/// must keep the preimage secret until paid: whoever knows it can claim the payment.
	pub async fn create_invoice_with_preimage(
		&self, preimage: PaymentPreimage, amount_msat: Option<u64>, description: &str,
		expiry_secs: Option<u32>,
	) -> Result<InvoiceRecord, NodeError> {
		payment::bolt11::create_invoice(
			&self.handles.payments,
			amount_msat,
			description,
			expiry_secs,
			None,
			Some(preimage),
			None,
		)
		.await
	}

	/// Creates a BOLT11 invoice that commits to `description_hash` (the SHA-256 of a
	/// description kept elsewhere, as LNURL-pay's metadata) instead of carrying a
	/// description; `memo` is kept in the record only. With `preimage`, as
	/// [`Node::create_invoice_with_preimage`].
	pub async fn create_invoice_with_description_hash(
		&self, description_hash: [u8; 32], memo: &str, amount_msat: Option<u64>,
		expiry_secs: Option<u32>, preimage: Option<PaymentPreimage>,
	) -> Result<InvoiceRecord, NodeError> {
		payment::bolt11::create_invoice(
			&self.handles.payments,
			amount_msat,
			memo,
			expiry_secs,
			None,
			preimage,
			Some(description_hash),
		)
		.await
	}

	/// Creates a hold invoice for `payment_hash`, whose preimage only the caller knows:
	/// a payment to it is held (`accepted`) until [`Node::settle_invoice`] or
	/// [`Node::cancel_invoice`].
	pub async fn create_hold_invoice(
		&self, payment_hash: PaymentHash, amount_msat: Option<u64>, description: &str,
		expiry_secs: Option<u32>,
	) -> Result<InvoiceRecord, NodeError> {
		payment::bolt11::create_invoice(
			&self.handles.payments,
			amount_msat,
			description,
			expiry_secs,
			Some(payment_hash),
			None,
			None,
		)
		.await
	}

	/// Settles an accepted hold invoice with its preimage: the held payment is claimed and the
	/// invoice turns paid.
	pub async fn settle_invoice(
		&self, payment_hash: PaymentHash, preimage: PaymentPreimage,
	) -> Result<InvoiceRecord, NodeError> {
		payment::hold::settle(&self.handles.payments, payment_hash, preimage).await
	}

	/// Cancels an open invoice, or an accepted hold invoice whose payment is failed back.
	pub async fn cancel_invoice(
		&self, payment_hash: PaymentHash,
	) -> Result<InvoiceRecord, NodeError> {
		payment::hold::cancel(&self.handles.payments, payment_hash).await
	}

	/// One invoice by payment hash; `None` when we issued none for it.
	pub fn get_invoice(&self, payment_hash: &PaymentHash) -> Option<InvoiceRecord> {
		self.handles.payments.invoice(payment_hash)
	}

	/// All invoices, newest first.
	pub fn list_invoices(&self) -> Vec<InvoiceRecord> {
		self.handles.payments.all_invoices()
	}

	/// Up to `limit` invoices whose `add_index` is above `after`, by `add_index` (as they read
	/// now: an open invoice past its expiry reads expired).
	pub fn invoices_added_after(&self, after: u64, limit: usize) -> Vec<InvoiceRecord> {
		self.handles.payments.invoices_after(after, limit, |r| Some(r.add_index))
	}

	/// Up to `limit` paid invoices whose `settle_index` is above `after`, by `settle_index`.
	pub fn invoices_settled_after(&self, after: u64, limit: usize) -> Vec<InvoiceRecord> {
		self.handles.payments.invoices_after(after, limit, |r| r.settle_index)
	}

	/// The largest `add_index` of an invoice stored durably, changing as invoices are added
	/// (invoices are added without an event in the journal).
	pub fn subscribe_invoice_adds(&self) -> tokio::sync::watch::Receiver<u64> {
		self.handles.payments.invoice_indexes.subscribe_added()
	}

	/// Pays a BOLT11 invoice or BOLT12 offer. With `wait`, returns once the payment is final.
	pub async fn pay(&self, req: PayRequest, wait: bool) -> Result<PaymentRecord, NodeError> {
		payment::pay(&self.handles.payments, req, config::PAYMENT_RETRY_TIMEOUT, wait).await
	}

	/// [`Node::pay`], retried over other routes for `retry` (from 1 second to an hour) instead
	/// of the node's default before it fails (LND's `timeout_seconds`).
	pub async fn pay_within(
		&self, req: PayRequest, retry: std::time::Duration, wait: bool,
	) -> Result<PaymentRecord, NodeError> {
		payment::pay(&self.handles.payments, req, retry, wait).await
	}

	/// Sends a spontaneous payment. With `wait`, returns once the payment is final.
	///
	/// `payment_id` makes retries safe: a keysend under an id already recorded sends
	/// nothing and answers with that payment (refused if it names another payee or amount).
	/// Without one, every call is a new payment.
	pub async fn keysend(
		&self, node_id: PublicKey, amount_msat: u64, payment_id: Option<PaymentId>, wait: bool,
	) -> Result<PaymentRecord, NodeError> {
		self.keysend_with(node_id, amount_msat, payment_id, KeysendOptions::default(), wait).await
	}

	/// [`Node::keysend`] with the caller's preimage and custom onion records (LND clients
	/// choose the preimage; a preimage used before can be claimed by every hop that saw it, so
	/// a caller must draw a fresh one each time). A retry under a recorded `payment_id` with a
	/// chosen preimage must name the same payment hash.
	pub async fn keysend_with(
		&self, node_id: PublicKey, amount_msat: u64, payment_id: Option<PaymentId>,
		options: KeysendOptions, wait: bool,
	) -> Result<PaymentRecord, NodeError> {
		let pay = &self.handles.payments;
		payment::keysend::send(pay, node_id, amount_msat, payment_id, options, wait).await
	}

	/// Sends a keysend whose preimage the caller chose and waits for it. For tests of what
	/// someone who learned a preimage can do to us.
	#[doc(hidden)]
	pub async fn keysend_with_preimage(
		&self, node_id: PublicKey, amount_msat: u64, preimage: PaymentPreimage,
	) -> Result<PaymentRecord, NodeError> {
		let options = KeysendOptions { preimage: Some(preimage), ..KeysendOptions::default() };
		self.keysend_with(node_id, amount_msat, None, options, true).await
	}

	/// One payment by id: ours by payment id, else one we received by payment hash (a received
	/// payment's id is its hash's bytes; a payment we made wins when both share the hash; both
	/// are in [`Node::list_payments`]). `None` when there is neither.
	pub fn get_payment(&self, payment_id: &PaymentId) -> Option<PaymentRecord> {
		self.handles.payments.payment(payment_id)
	}

	/// All payments, made and received, newest first.
	pub fn list_payments(&self) -> Vec<PaymentRecord> {
		self.handles.payments.all_payments()
	}

	/// Creates a BOLT12 offer.
	pub fn create_offer(
		&self, amount_msat: Option<u64>, description: &str,
	) -> Result<String, NodeError> {
		payment::bolt12::create_offer(&self.handles.payments, amount_msat, description)
	}

	/// Up to `limit` events with an index above `after`, oldest first (see [`journal`]).
	pub async fn events(&self, after: u64, limit: usize) -> Result<Vec<EventRecord>, NodeError> {
		self.handles.journal.read_async(after, limit).await
	}

	/// A page of the events a key with `scope` may read, after `after` (see
	/// [`journal::EventPage`]: a page may stop short of `limit` without reaching the head;
	/// go on after its `scanned_to`).
	pub async fn events_for(
		&self, scope: ApiScope, after: u64, limit: usize,
	) -> Result<EventPage, NodeError> {
		self.handles.journal.read_for(scope, after, limit).await
	}

	/// The index of the latest event (0 before the first one).
	pub fn latest_event_index(&self) -> u64 {
		self.handles.journal.latest()
	}

	/// The oldest index still in the log (0 when it is empty): events before it were removed
	/// by the retention policy.
	pub fn oldest_event_index(&self) -> u64 {
		self.handles.journal.oldest()
	}

	/// Registers a reader of the log that has passed every event up to `passed` (an event
	/// stream): while the returned handle lives, the retention policy keeps every event it
	/// has not passed. At most [`journal::MAX_READERS`] at once (`busy` beyond).
	pub fn register_event_reader(&self, passed: u64) -> Result<EventReader, NodeError> {
		self.handles.journal.register_reader(passed)
	}

	/// How many events the log holds.
	pub fn event_count(&self) -> u64 {
		self.handles.journal.total()
	}

	/// Follows the latest event index: `changed()` resolves when events were appended. The
	/// events themselves are read with [`Node::events`], so a slow reader misses nothing.
	pub fn subscribe_events(&self) -> tokio::sync::watch::Receiver<u64> {
		self.handles.journal.subscribe()
	}

	/// Creates an API key with `scope`; returns it and its secret (shown once).
	pub async fn create_api_key(
		&self, scope: ApiScope, label: Option<String>,
	) -> Result<(ApiKeyInfo, String), NodeError> {
		self.handles.api_keys.create(scope, label).await
	}

	/// Every API key but the admin key file's, newest first.
	pub fn list_api_keys(&self) -> Vec<ApiKeyInfo> {
		self.handles.api_keys.list()
	}

	/// Revokes an API key at once.
	pub async fn revoke_api_key(&self, id: &str) -> Result<ApiKeyInfo, NodeError> {
		self.handles.api_keys.revoke(id).await
	}

	/// Whether API key `id` exists: created and not revoked.
	pub fn api_key_exists(&self, id: &str) -> bool {
		self.handles.api_keys.exists(id)
	}

	/// The API key whose secret this is, if any.
	pub fn authenticate_api_key(&self, secret: &str) -> Option<ApiKeyInfo> {
		self.handles.api_keys.authenticate(secret)
	}

	/// Registers a webhook for `events` (empty: every kind) from the next event on, and
	/// starts delivering; returns it and its signing secret (shown once). `ca_cert_pem`: for
	/// an `https://` receiver with its own (e.g. self-signed) certificate, the CA it chains
	/// to, trusted instead of Mozilla's roots.
	pub async fn create_webhook(
		&self, url: &str, events: Vec<String>, ca_cert_pem: Option<String>,
	) -> Result<(WebhookInfo, String), NodeError> {
		let h = &self.handles;
		let created = h.webhooks.webhooks.create(&h.journal, url, events, ca_cert_pem).await?;
		h.shutdown.keep(Stage::Tasks, h.webhooks.spawn(created.0.id.clone()));
		Ok(created)
	}

	/// Every webhook with its delivery state, newest first.
	pub fn list_webhooks(&self) -> Vec<WebhookInfo> {
		self.handles.webhooks.webhooks.list()
	}

	/// Removes a webhook; undelivered events are dropped.
	pub async fn delete_webhook(&self, id: &str) -> Result<WebhookInfo, NodeError> {
		self.handles.webhooks.webhooks.delete(id).await
	}

	/// How long monitor writes took to become durable since start (Prometheus buckets).
	pub fn persist_latency_histogram(&self) -> channel_stats::HistogramSnapshot {
		self.handles.channels.engine_stats.persist_latency.snapshot()
	}

	/// Resolves once the node is stopping.
	pub async fn stopped(&self) {
		self.handles.stop.stopped().await
	}

	/// Brings the on-chain wallet up to date now (it also syncs every few seconds).
	pub async fn sync_wallet(&self) -> Result<(), NodeError> {
		self.handles.onchain.sync().await
	}
}
