//! Node configuration and every interval and timeout as a named constant.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bitcoin::Network;
use lightning::routing::router::{PaymentParameters, DEFAULT_MAX_TOTAL_CLTV_EXPIRY_DELTA};
pub use lightning::util::logger::Level;

/// Which storage engine the node persists to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StoreKind {
	/// sled with group commit: durable, concurrent writes share fsyncs. The default.
	#[default]
	Sled,
	/// Memory only, nothing survives the process (benchmark baseline, load generators).
	Memory,
	/// LDK's `FilesystemStore`, written synchronously (the stock baseline).
	FsSync,
	/// PostgreSQL at [`NodeConfig::postgres_url`], with group commit.
	Postgres,
}

impl StoreKind {
	/// `sled`, `memory`, `fs-sync` or `postgres`.
	pub fn as_str(&self) -> &'static str {
		match self {
			StoreKind::Sled => "sled",
			StoreKind::Memory => "memory",
			StoreKind::FsSync => "fs-sync",
			StoreKind::Postgres => "postgres",
		}
	}
}

impl std::str::FromStr for StoreKind {
	type Err = String;
	fn from_str(s: &str) -> Result<Self, Self::Err> {
		match s {
			"sled" => Ok(StoreKind::Sled),
			"memory" => Ok(StoreKind::Memory),
			"fs-sync" => Ok(StoreKind::FsSync),
			"postgres" => Ok(StoreKind::Postgres),
			other => Err(format!("unknown store {other:?}: sled, memory, fs-sync or postgres")),
		}
	}
}

/// How the node is set up. Built by the daemon from flags, environment and a file.
#[derive(Clone, Debug)]
pub struct NodeConfig {
	/// Where the node keeps its seed, sled database and logs.
	pub data_dir: PathBuf,
	/// The chain.
	pub network: Network,
	/// Where we accept peer connections (Noise over TCP).
	pub listen_addr: SocketAddr,
	/// Name announced in gossip.
	pub alias: String,
	/// bitcoind JSON-RPC `host:port`.
	pub bitcoind_rpc_addr: String,
	/// bitcoind RPC user.
	pub bitcoind_rpc_user: String,
	/// bitcoind RPC password.
	pub bitcoind_rpc_password: String,
	/// Fee rate used when bitcoind has no estimate (always the case on regtest), sat per 1000
	/// weight units. LDK never goes below 253.
	pub fee_rate_floor_sat_per_kw: u32,
	/// The storage engine.
	pub store: StoreKind,
	/// The database of [`StoreKind::Postgres`] (`postgres://user[:password]@host[:port]/db`);
	/// required by that store, unused by the others.
	pub postgres_url: Option<String>,
	/// The key that seals the seed in the PostgreSQL store (see `secrets`): with it the seed
	/// lives in the database, so a standby on the same database is the same node; without it,
	/// in `DATA_DIR/seed` as with the other stores.
	pub secrets_key: Option<crate::sealing::SecretsKey>,
	/// Start as a standby (only with [`StoreKind::Postgres`]): wait until the leader lease is
	/// free, then take it and start from the database.
	pub standby: bool,
	/// The leader lease of [`StoreKind::Postgres`].
	pub lease: LeaseTiming,
	/// Whether to accept peer connections on `listen_addr` (a node that only connects out,
	/// like a benchmark's load generator, needs no listener).
	pub accept_peers: bool,
	/// How often bitcoind's tip is polled.
	pub chain_poll_interval: Duration,
	/// How often the on-chain wallet syncs.
	pub wallet_sync_interval: Duration,
	/// The least severe level written to the log file.
	pub log_level: Level,
	/// The router's limits for every payment sent.
	pub routing: RoutingLimits,
	/// Watchtowers every revoked state is handed to (`host:port` or `pubkey@host:port`).
	pub towers: Vec<String>,
	/// How far peers' fee rates may differ from ours (dust exposure).
	pub fee_policy: crate::fee_policy::FeePolicy,
	/// Whether to propose and accept anchor channels (the default); without them a channel's
	/// commitment carries its own fees, set by the funder with `update_fee`.
	pub anchor_channels: bool,
	/// How long events stay in the event log; older ones are removed unless a webhook or an
	/// open stream has not passed them yet.
	pub events_retention: Duration,
	/// The forwarding policy new channels start with.
	pub forwarding: ForwardingDefaults,
	/// Inbound peer connections the node keeps open at once (see `inbound`).
	pub inbound_limits: InboundLimitsConfig,
	/// Whether HTLCs paying this node wait for LDK's random hold (`--receive-delay`; see
	/// [`crate::receive_delay`] for the privacy it trades).
	pub receive_delay: ReceiveDelay,
}

/// The leader lease of the PostgreSQL store: how long a lease lasts (by the database
/// server's clock) and how often the leader renews it. A leader that could not renew it for
/// four fifths of `duration` stops; a standby takes over once `duration` passed without one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseTiming {
	/// How long a lease lasts from its last renewal.
	pub duration: Duration,
	/// How often the leader renews it.
	pub renew_every: Duration,
}

impl Default for LeaseTiming {
	fn default() -> LeaseTiming {
		LeaseTiming { duration: Duration::from_secs(10), renew_every: Duration::from_secs(2) }
	}
}

impl LeaseTiming {
	/// Refuses timings where a renewal could not happen at least twice before the leader
	/// has to stop (so one lost renewal never stops a node).
	pub fn check(&self) -> Result<(), String> {
		let safe_for = self.duration - self.duration / 5;
		if self.renew_every.is_zero() || self.renew_every * 2 > safe_for {
			return Err(format!(
				"a lease of {:?} renewed every {:?}: renew at least twice within four fifths \
				 of the lease",
				self.duration, self.renew_every
			));
		}
		Ok(())
	}
}

/// How many inbound peer connections the node keeps open at once, in all and from one
/// address; beyond, a connection is closed at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InboundLimitsConfig {
	/// In all.
	pub max_connections: usize,
	/// From one IPv4 address or IPv6 /64.
	pub max_per_address: usize,
}

impl Default for InboundLimitsConfig {
	fn default() -> InboundLimitsConfig {
		InboundLimitsConfig {
			max_connections: MAX_INBOUND_CONNECTIONS,
			max_per_address: MAX_INBOUND_PER_ADDRESS,
		}
	}
}

impl NodeConfig {
	/// A configuration with the defaults for everything but the essentials.
	pub fn new(
		data_dir: impl Into<PathBuf>, network: Network, listen_addr: SocketAddr,
		bitcoind_rpc_addr: impl Into<String>, bitcoind_rpc_user: impl Into<String>,
		bitcoind_rpc_password: impl Into<String>,
	) -> Self {
		NodeConfig {
			data_dir: data_dir.into(),
			network,
			listen_addr,
			alias: "fulgur".to_string(),
			bitcoind_rpc_addr: bitcoind_rpc_addr.into(),
			bitcoind_rpc_user: bitcoind_rpc_user.into(),
			bitcoind_rpc_password: bitcoind_rpc_password.into(),
			fee_rate_floor_sat_per_kw: DEFAULT_FEE_RATE_FLOOR_SAT_PER_KW,
			store: StoreKind::default(),
			postgres_url: None,
			secrets_key: None,
			standby: false,
			lease: LeaseTiming::default(),
			accept_peers: true,
			chain_poll_interval: CHAIN_POLL_INTERVAL,
			wallet_sync_interval: WALLET_SYNC_INTERVAL,
			log_level: Level::Debug,
			routing: RoutingLimits::default(),
			towers: Vec::new(),
			fee_policy: crate::fee_policy::FeePolicy::default(),
			anchor_channels: true,
			events_retention: Duration::from_secs(
				DEFAULT_EVENTS_RETENTION_DAYS as u64 * SECONDS_PER_DAY,
			),
			forwarding: ForwardingDefaults::default(),
			inbound_limits: InboundLimitsConfig::default(),
			receive_delay: ReceiveDelay::default(),
		}
	}
}

/// The forwarding policy every new channel starts with (changed per channel later through
/// `Node::update_channel_policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardingDefaults {
	/// Fixed fee per forwarded HTLC, in msat.
	pub fee_base_msat: u32,
	/// Proportional fee, in millionths of the forwarded amount.
	pub fee_ppm: u32,
	/// Blocks between an incoming HTLC's expiry and the one forwarded; at least
	/// [`MIN_CLTV_EXPIRY_DELTA`].
	pub cltv_expiry_delta: u16,
}

impl Default for ForwardingDefaults {
	/// LDK's own defaults.
	fn default() -> Self {
		let ldk = lightning::util::config::ChannelConfig::default();
		ForwardingDefaults {
			fee_base_msat: ldk.forwarding_fee_base_msat,
			fee_ppm: ldk.forwarding_fee_proportional_millionths,
			cltv_expiry_delta: ldk.cltv_expiry_delta,
		}
	}
}

/// The smallest CLTV delta LDK forwards with: enough blocks to claim an HTLC on chain before
/// the incoming one expires.
pub const MIN_CLTV_EXPIRY_DELTA: u16 = lightning::ln::channelmanager::MIN_CLTV_EXPIRY_DELTA;
/// The largest CLTV delta we announce: a delta above the longest route senders accept
/// (2016 blocks) would make the channel unusable for forwarding.
pub const MAX_CLTV_EXPIRY_DELTA: u16 = 2016;
/// The largest proportional fee we announce: 100% of the forwarded amount.
pub const MAX_FEE_PPM: u32 = 1_000_000;

/// The router's limits for every payment the node sends, and for the routes it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoutingLimits {
	/// Most paths one payment is split over (1 turns multi-path payments off).
	pub max_path_count: u8,
	/// Most blocks an HTLC of ours may be locked for, over the whole route.
	pub max_total_cltv_expiry_delta: u32,
	/// A path may use at most 1/2^n of a channel's capacity (higher = smaller share).
	pub max_channel_saturation_power_of_half: u8,
}

impl Default for RoutingLimits {
	fn default() -> Self {
		RoutingLimits {
			max_path_count: 10,
			max_total_cltv_expiry_delta: DEFAULT_MAX_TOTAL_CLTV_EXPIRY_DELTA,
			max_channel_saturation_power_of_half: 2,
		}
	}
}

impl RoutingLimits {
	/// `params` within these limits.
	pub fn apply(&self, params: PaymentParameters) -> PaymentParameters {
		let mut params = params.with_max_path_count(self.max_path_count);
		params.max_total_cltv_expiry_delta = self.max_total_cltv_expiry_delta;
		params.max_channel_saturation_power_of_half = self.max_channel_saturation_power_of_half;
		params
	}

	/// LDK's per-payment route settings with these limits and `max_fee_msat`.
	pub fn route_config(
		&self, max_fee_msat: Option<u64>,
	) -> lightning::routing::router::RouteParametersConfig {
		lightning::routing::router::RouteParametersConfig {
			max_total_routing_fee_msat: max_fee_msat,
			max_total_cltv_expiry_delta: self.max_total_cltv_expiry_delta,
			max_path_count: self.max_path_count,
			max_channel_saturation_power_of_half: self.max_channel_saturation_power_of_half,
		}
	}
}

/// 2 sat/vB: relayable everywhere, and what regtest falls back to.
pub const DEFAULT_FEE_RATE_FLOOR_SAT_PER_KW: u32 = 500;
/// How often the chain tip is polled.
pub const CHAIN_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How often the on-chain wallet syncs its mempool view.
pub const WALLET_SYNC_INTERVAL: Duration = Duration::from_secs(2);
/// How often fee estimates are refreshed.
pub const FEE_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// How long a cooperative close waits for LDK to stop refusing it for a passing reason (the
/// peer reconnecting, a monitor update in flight); see `channels::close`.
pub const COOPERATIVE_CLOSE_WAIT: Duration = Duration::from_secs(30);
/// How often a cooperative close LDK refused for a passing reason is asked again.
pub const COOPERATIVE_CLOSE_RETRY: Duration = Duration::from_millis(200);
/// How often we try to reconnect to channel peers that are offline.
pub const PEER_RECONNECT_INTERVAL: Duration = Duration::from_secs(5);
/// How often the node announcement is re-broadcast (with announced channels).
pub const NODE_ANNOUNCEMENT_INTERVAL: Duration = Duration::from_secs(60);
/// Inbound peer connections open at once (handshaking or not); more are closed at once.
pub const MAX_INBOUND_CONNECTIONS: usize = 512;
/// Inbound peer connections open at once from one IPv4 address or IPv6 /64.
pub const MAX_INBOUND_PER_ADDRESS: usize = 16;
/// How long a TCP connect to a peer may take.
pub const PEER_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Days events stay in the event log by default.
pub const DEFAULT_EVENTS_RETENTION_DAYS: u32 = 90;
/// Seconds in a day, for retention given in days.
pub const SECONDS_PER_DAY: u64 = 24 * 3600;
/// At a restart: how long LDK's hand-over of what the channel manager on disk still held may
/// take, and how far before the previous run's last forward record its records may be among
/// those handed over again (see `forwards`).
pub const FORWARD_REPLAY_WINDOW_SECS: u64 = 600;
/// Failed forwards kept, at most: peers fail HTLCs through us at will, so the oldest failed
/// records go beyond this. Settled forwards (fees earned) are all kept.
pub const MAX_FAILED_FORWARDS: usize = 10_000;
/// `forward_failed` events appended to the journal in one hour, at most (the records are
/// all made, up to [`MAX_FAILED_FORWARDS`]): failed forwards cost a peer nothing.
pub const MAX_FAILED_FORWARD_EVENTS_PER_HOUR: usize = 600;
/// How often the event log drops events older than the retention.
pub const EVENT_COMPACTION_INTERVAL: Duration = Duration::from_secs(3600);
/// How often invoice expiry is checked.
pub const INVOICE_EXPIRY_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// Default BOLT11 invoice expiry.
pub const DEFAULT_INVOICE_EXPIRY_SECS: u32 = 3600;
/// Longest invoice expiry we issue (one year).
pub const MAX_INVOICE_EXPIRY_SECS: u32 = 365 * 24 * 3600;
/// Retries of a payment over other routes before it is failed.
pub const PAYMENT_RETRY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a payment waits for a free HTLC slot on a channel that has the balance for it
/// (see `payment::slots`) before it fails; with the retry window, within a waiting pay's wait.
pub const PAYMENT_SLOT_WAIT: Duration = Duration::from_secs(40);
/// How often the payments waiting for a slot are tried again (one route search per tick while
/// the channel stays full).
pub const PAYMENT_SLOT_RETRY_TICK: Duration = Duration::from_millis(20);
/// Payments that may wait for a slot at once; beyond, a payment fails as it did before.
pub const MAX_PAYMENTS_WAITING_FOR_SLOT: usize = 10_000;
/// HTLCs a peer may have in flight towards us on one channel: BOLT 2's maximum, 483 (LDK
/// lowers it to what the channel type allows; its default is 50). Bursts over one channel
/// queue on this. What it costs: a commitment with every slot taken weighs about 84,000 WU
/// (172 per HTLC output), which LDK makes the channel's funder able to pay for before it
/// accepts each HTLC (fee spike buffer); dust HTLCs stay within the dust-exposure limit
/// (`fee_policy`) however many slots there are; a force close with many HTLCs in flight
/// claims each non-dust HTLC on chain, as it would with fewer slots, just more of them.
pub const MAX_ACCEPTED_HTLCS: u16 = 483;
/// The longest retry time a caller may give a payment (LND's `timeout_seconds`).
pub const MAX_PAYMENT_RETRY_TIMEOUT: Duration = Duration::from_secs(3600);
/// How long stopping waits for each stage's tasks before giving up on them (see `shutdown`).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a locked store is tried again at start-up (a node stopped and started again in
/// one process may still hold it for a moment), [`STORE_OPEN_ATTEMPTS`] times.
pub const STORE_OPEN_RETRY_DELAY: Duration = Duration::from_millis(200);
/// How often opening a locked store is tried before giving up.
pub const STORE_OPEN_ATTEMPTS: u32 = 25;
/// How often bitcoind is asked again while the node waits for it to reach its best block.
pub const CATCH_UP_RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// How often that wait is logged.
pub const CATCH_UP_LOG_INTERVAL: Duration = Duration::from_secs(5);
/// How often a connection's handshake is checked for completion while connecting to a peer.
pub const PEER_HANDSHAKE_POLL_INTERVAL: Duration = Duration::from_millis(10);
/// Pause after accepting a peer connection failed (e.g. out of file descriptors).
pub const PEER_ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);
/// At most one log line per this interval about connections refused by the inbound limits.
pub const INBOUND_REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(60);
/// How long a channel open waits for the peer to accept and the funding to be built.
pub const CHANNEL_OPEN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a waiting pay or keysend waits beyond the retry window before answering with the
/// pending record.
pub const PAYMENT_WAIT_SLACK: Duration = Duration::from_secs(50);
/// How long settling a hold invoice waits for LDK to report the claim (the preimage durable
/// in the channel monitors, which takes no peer round trip) before answering with the invoice
/// as it reads.
pub const HOLD_SETTLE_WAIT: Duration = Duration::from_secs(10);
/// First wait after a failed webhook delivery; doubled after each further one.
pub const WEBHOOK_FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);
/// Longest wait between webhook delivery attempts.
pub const WEBHOOK_MAX_RETRY_DELAY: Duration = Duration::from_secs(600);
/// How long a webhook receiver may take to answer.
pub const WEBHOOK_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// First wait after a failed delivery to a tower; doubles up to [`TOWER_MAX_BACKOFF`].
pub const TOWER_MIN_BACKOFF: Duration = Duration::from_millis(500);
/// Longest wait between deliveries to a failing tower.
pub const TOWER_MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long one request to a tower may take.
pub const TOWER_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// An idle tower task looks at the outbox at least this often.
pub const TOWER_IDLE_RECHECK: Duration = Duration::from_secs(30);
/// How many monitor updates are kept as deltas before the whole monitor is rewritten.
pub const PERSISTER_MAX_PENDING_UPDATES: u64 = 100;
/// The most a single on-chain send can be (21M BTC in sat).
pub const MAX_SAT: u64 = 21_000_000 * 100_000_000;
/// The most a single Lightning amount can be, in msat.
pub const MAX_MSAT: u64 = MAX_SAT * 1000;

/// What the node does with HTLCs paying it (`--receive-delay`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReceiveDelay {
	/// LDK's random hold for every HTLC (the default): receives are timed like forwards.
	#[default]
	Random,
	/// Receives are processed as soon as they are committed when no forward is on its way
	/// through; forwards keep LDK's hold. Faster payments, at the cost of the timing privacy
	/// the hold gives the payer (a peer can tell this node is the payee from how fast it
	/// answers).
	None,
}
