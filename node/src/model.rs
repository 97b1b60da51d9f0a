//! The records the node hands out: what the API serialises to JSON, field for field.
//!
//! Amounts carry their unit in the name (`_msat`, `_sat`); ids and hashes are lowercase hex;
//! times are UNIX seconds.

use lightning::types::payment::PaymentPreimage;
use serde::{Deserialize, Serialize};

/// Node-wide state.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeInfo {
	/// Our node id (hex public key).
	pub node_id: String,
	/// `regtest`, `signet`, `testnet` or `bitcoin`.
	pub network: String,
	/// Height of the best block the node has processed.
	pub block_height: u32,
	/// Hash of that block.
	pub block_hash: String,
	/// True once the node has caught up with bitcoind's tip.
	pub synced: bool,
	/// "synced", or what the node is waiting for (bitcoind behind the node's best block,
	/// bitcoind unreachable, catching up).
	#[serde(default)]
	pub sync_status: String,
	/// Connected peers.
	pub num_peers: usize,
	/// All channels, pending ones included.
	pub num_channels: usize,
	/// Channels that can carry payments now.
	pub num_usable_channels: usize,
	/// Addresses we accept peer connections on.
	pub listening_addresses: Vec<String>,
	/// Nodes in our view of the network graph.
	pub graph_nodes: usize,
	/// Channels in our view of the network graph with both directions' updates (routable).
	pub graph_channels: usize,
	/// Monitor updates issued and not yet durable, over all channels.
	pub monitor_updates_in_flight: u64,
	/// Monitor updates made durable since the node started, over all channels.
	pub monitor_updates_done: u64,
	/// Latency of the most recent monitor update, in microseconds.
	pub last_persist_latency_us: Option<u64>,
}

/// On-chain and Lightning balances.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Balance {
	/// Confirmed and spendable on-chain.
	pub onchain_confirmed_sat: u64,
	/// Unconfirmed, or immature coinbase.
	pub onchain_unconfirmed_sat: u64,
	/// What we can send over our channels.
	pub lightning_outbound_msat: u64,
	/// What we can receive over our channels.
	pub lightning_inbound_msat: u64,
	/// Funds in closing channels not yet back in the wallet.
	pub lightning_claimable_sat: u64,
	/// Funds of closed channels still to come back on-chain: what their monitors can still
	/// claim and the sweeper's outputs whose sweep has not confirmed yet.
	pub onchain_claimable_sat: u64,
}

/// A peer we know of.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PeerInfo {
	/// The peer's node id.
	pub node_id: String,
	/// The address we reach it on, when known.
	pub address: Option<String>,
	/// Whether a connection is up.
	pub connected: bool,
	/// Whether we reconnect to it on start and on loss (true for channel peers).
	pub persisted: bool,
}

/// A channel, from our side.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChannelInfo {
	/// Channel id (hex).
	pub channel_id: String,
	/// The counterparty's node id.
	pub counterparty_node_id: String,
	/// Funding outpoint `txid:vout`, once known.
	pub funding_txo: Option<String>,
	/// Short channel id `block x tx x output`, once confirmed.
	pub short_channel_id: Option<String>,
	/// Channel size.
	pub capacity_sat: u64,
	/// Our balance in the channel.
	pub local_balance_msat: u64,
	/// What we can send now.
	pub outbound_capacity_msat: u64,
	/// What we can receive now.
	pub inbound_capacity_msat: u64,
	/// Confirmations of the funding transaction.
	pub confirmations: Option<u32>,
	/// `pending` (funding not ready), `ready` (usable when the peer is connected) or `usable`.
	pub state: String,
	/// Announced to the network.
	pub announced: bool,
	/// We opened it.
	pub is_outbound: bool,
	/// Whether the channel can carry payments now, both ways: false also when LDK could send
	/// but would refuse incoming HTLCs (see `unusable_reason`).
	pub is_usable: bool,
	/// Why a channel LDK calls usable cannot receive (its dust exposure is at the limit).
	#[serde(default)]
	pub unusable_reason: Option<String>,
	/// The commitment transaction's fee rate, sat per 1000 weight (set by the funder).
	#[serde(default)]
	pub commitment_feerate_sat_per_kw: Option<u32>,
	/// An anchor channel (fees added when closing) rather than one whose commitment carries
	/// its fees.
	#[serde(default)]
	pub anchors: bool,
	/// Monitor updates issued and not yet durable.
	pub updates_in_flight: u64,
	/// Monitor updates made durable since the node started.
	pub updates_done: u64,
	/// How long the last monitor update took to become durable, in microseconds.
	pub last_persist_latency_us: Option<u64>,
	/// When the channel's state last changed (UNIX seconds), since the node started.
	pub last_activity_at: Option<u64>,
	/// How we forward payments out over this channel (what our `channel_update` announces).
	pub policy: ForwardingPolicy,
}

/// Our forwarding policy on one channel: what we charge and require to forward a payment out
/// over it, as our `channel_update` for our direction announces it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ForwardingPolicy {
	/// Fixed fee per forwarded HTLC, in msat.
	pub fee_base_msat: u32,
	/// Proportional fee, in millionths of the forwarded amount.
	pub fee_ppm: u32,
	/// Blocks between an incoming HTLC's expiry and the one we forward.
	pub cltv_expiry_delta: u16,
	/// Smallest HTLC we forward: the peer's minimum, set by the peer at open (LDK cannot
	/// change it); `None` until the peer said.
	pub htlc_minimum_msat: Option<u64>,
	/// Largest HTLC we forward: 90% of the capacity or what the peer allows in flight,
	/// whichever is less (LDK derives it; it cannot be set).
	pub htlc_maximum_msat: Option<u64>,
}

/// A change of forwarding policy: the fields given are changed, the others kept. Only the
/// fees and the CLTV delta can be set; the HTLC limits are fixed (see [`ForwardingPolicy`]),
/// so a change naming them is refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PolicyUpdate {
	/// New fixed fee, in msat.
	pub fee_base_msat: Option<u32>,
	/// New proportional fee, in millionths.
	pub fee_ppm: Option<u32>,
	/// New CLTV delta, in blocks (at least LDK's minimum, 48).
	pub cltv_expiry_delta: Option<u16>,
	/// Refused: fixed at open.
	pub htlc_minimum_msat: Option<u64>,
	/// Refused: derived by LDK.
	pub htlc_maximum_msat: Option<u64>,
}

/// Status of an invoice we issued.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum InvoiceStatus {
	/// Can still be paid.
	Open,
	/// A hold invoice whose payment arrived: its HTLCs are held until the invoice is settled
	/// (with the preimage) or canceled.
	Accepted,
	/// Paid (funds claimed).
	Paid,
	/// Expired before being paid.
	Expired,
	/// Canceled by us.
	Canceled,
}

/// An invoice we issued, with its full detail.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct InvoiceRecord {
	/// Payment hash (hex); the invoice's id.
	pub payment_hash: String,
	/// The BOLT11 string.
	pub bolt11: String,
	/// Description shown to the payer.
	pub description: String,
	/// Requested amount; `None` for an amountless invoice.
	pub amount_msat: Option<u64>,
	/// What was received, once paid.
	pub amount_received_msat: Option<u64>,
	/// Creation time.
	pub created_at: u64,
	/// Expiry time.
	pub expires_at: u64,
	/// When it was paid.
	pub paid_at: Option<u64>,
	/// The preimage (hex), revealed once paid.
	pub preimage: Option<String>,
	/// Current status.
	pub status: InvoiceStatus,
	/// A hold invoice: issued for a payment hash whose preimage the node does not know; a
	/// payment to it waits, `accepted`, until it is settled or canceled.
	#[serde(default)]
	pub hold: bool,
	/// Hold invoices: the block height at which LDK fails the held payment back unless the
	/// invoice is settled before; set when a payment is accepted, and kept (for the record)
	/// when the payment is failed back.
	#[serde(default)]
	pub claim_deadline: Option<u32>,
	/// The invoice's place in the order invoices were added (from 1; LND's `add_index`):
	/// a stored counter, assigned once when the invoice is created and never changed. Not in
	/// the API's JSON (nor in the journal's invoice events, which read 0).
	#[serde(skip)]
	pub add_index: u64,
	/// The invoice's place in the order invoices were paid (from 1; LND's `settle_index`):
	/// assigned once when it turns paid; `None` until then. Not in the API's JSON.
	#[serde(skip)]
	pub settle_index: Option<u64>,
}

/// Status of a payment.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
	/// In flight.
	Pending,
	/// Final: the payee claimed it.
	Succeeded,
	/// Final: it will not complete; see the failure reason.
	Failed,
}

/// How a payment was requested.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PaymentKind {
	/// Paying a BOLT11 invoice.
	Bolt11,
	/// Paying a BOLT12 offer.
	Bolt12,
	/// Spontaneous payment (no invoice).
	Keysend,
	/// A circular rebalance: paid to ourselves, out through one channel and in through
	/// another.
	Rebalance,
}

/// Direction of a payment.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PaymentDirection {
	/// We pay.
	Outbound,
	/// We are paid without an invoice of ours (keysend, BOLT12).
	Inbound,
}

/// A payment, with its full detail.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PaymentRecord {
	/// Payment id (hex); the payment's id.
	pub payment_id: String,
	/// Payment hash (hex); unknown for a BOLT12 payment until the invoice arrives.
	pub payment_hash: Option<String>,
	/// How it was requested.
	pub kind: PaymentKind,
	/// Outbound or inbound.
	pub direction: PaymentDirection,
	/// The payee (outbound) or `None` when unknown.
	pub destination: Option<String>,
	/// The BOLT11 invoice or BOLT12 offer paid.
	pub invoice: Option<String>,
	/// Description from the invoice or offer.
	pub description: Option<String>,
	/// Amount delivered to the payee.
	pub amount_msat: Option<u64>,
	/// Routing fees paid, once known.
	pub fee_msat: Option<u64>,
	/// Fee limit requested.
	pub max_fee_msat: Option<u64>,
	/// The preimage (hex), the proof of payment.
	pub preimage: Option<String>,
	/// Current status.
	pub status: PaymentStatus,
	/// Why it failed.
	pub failure_reason: Option<String>,
	/// When it was started (or received).
	pub created_at: u64,
	/// When it reached a final status.
	pub completed_at: Option<u64>,
}

/// A request to open a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenChannelRequest {
	/// Counterparty node id.
	pub node_id: bitcoin::secp256k1::PublicKey,
	/// Its address, `host:port`.
	pub address: String,
	/// Channel size.
	pub amount_sat: u64,
	/// Given to the counterparty at opening.
	pub push_msat: Option<u64>,
	/// Announce to the network (default true).
	pub announce: Option<bool>,
}

/// The result of starting a channel open.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct OpenedChannel {
	/// The channel id (temporary until the funding transaction is built, then final).
	pub channel_id: String,
	/// The counterparty.
	pub counterparty_node_id: String,
	/// The funding transaction id, once broadcast.
	pub funding_txid: Option<String>,
}

/// A request to pay an invoice or offer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PayRequest {
	/// A BOLT11 invoice or a BOLT12 offer.
	pub invoice: String,
	/// Amount, required for amountless invoices and offers.
	pub amount_msat: Option<u64>,
	/// Upper bound on routing fees.
	pub max_fee_msat: Option<u64>,
}

/// How a channel closed, from our side.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClosingType {
	/// Both sides signed a closing transaction.
	Cooperative,
	/// We broadcast our commitment (asked to, or to resolve an error or HTLCs on chain).
	LocalForce,
	/// The counterparty force-closed: its error, or its commitment confirmed.
	RemoteForce,
	/// The counterparty broadcast a revoked commitment and we claim its outputs.
	Breach,
	/// The channel never got a funding transaction that confirmed.
	FundingFailed,
	/// None of the above (a close LDK has no better word for).
	Other,
}

impl ClosingType {
	/// The name the API shows.
	pub fn as_str(self) -> &'static str {
		match self {
			ClosingType::Cooperative => "cooperative",
			ClosingType::LocalForce => "local_force",
			ClosingType::RemoteForce => "remote_force",
			ClosingType::Breach => "breach",
			ClosingType::FundingFailed => "funding_failed",
			ClosingType::Other => "other",
		}
	}
}

/// A closed channel, as recorded when LDK reported the close (`fulgur_closed_channels`,
/// keyed by channel id).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClosedChannelRecord {
	/// Channel id (hex).
	pub channel_id: String,
	/// The counterparty's node id, when LDK knew it.
	pub counterparty_node_id: Option<String>,
	/// Funding outpoint `txid:vout`, when the channel was funded.
	pub funding_txo: Option<String>,
	/// Channel size (0 when LDK did not say).
	pub capacity_sat: u64,
	/// How it closed.
	pub closing_type: ClosingType,
	/// LDK's reason, in words.
	pub reason: String,
	/// Our balance in the channel when it closed, in sat (rounded down).
	pub settled_balance_sat: u64,
	/// When the close was recorded (UNIX seconds).
	pub closed_at: u64,
}

/// The transaction that spent a channel's funding output, once it confirmed
/// (`fulgur_closing_spends`, keyed by channel id).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClosingSpend {
	/// The closing transaction.
	pub txid: String,
	/// The height of the block it confirmed in.
	pub height: u32,
}

/// A closed channel with what it still holds for us.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClosedChannelInfo {
	/// What was recorded at the close.
	pub record: ClosedChannelRecord,
	/// The closing transaction, once its spend of the funding output confirmed.
	pub closing_txid: Option<String>,
	/// The height it confirmed at.
	pub closing_height: Option<u32>,
	/// Ours still to come back on-chain (0 once swept).
	pub claimable_sat: u64,
}

/// What a keysend may carry beyond its payee and amount.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeysendOptions {
	/// The preimage to send; a fresh random one when `None`. A caller that chooses it must never
	/// use one twice: every hop of a payment learns its preimage and could claim a second
	/// payment under the same hash.
	pub preimage: Option<PaymentPreimage>,
	/// Custom TLV records for the payee's onion, `(type, value)`: types at least 65536, each
	/// once, never the keysend type (5482373484, which carries the preimage) or 77777.
	pub custom_records: Vec<(u64, Vec<u8>)>,
	/// How long the payment is retried over other routes before it fails (the node's
	/// default when `None`; from 1 second to an hour).
	pub retry: Option<std::time::Duration>,
}

/// What became of an HTLC we were asked to forward.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum ForwardStatus {
	/// The next hop claimed it and we claimed ours: the fee is earned.
	Settled,
	/// We failed it back (we could not forward it, or the next hop failed it).
	Failed,
}

/// One HTLC forwarded through us, settled or failed.
///
/// Amounts of a failed forward are not known (LDK's failure event carries none): `None`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ForwardRecord {
	/// Stable id: `<timestamp>_<sequence in that second>_<digest>` (`_2`, `_3`, ... after it
	/// should two ever be alike); ids sort in the order forwards were recorded.
	pub id: String,
	/// When the forward settled or failed (UNIX seconds).
	pub timestamp: u64,
	/// The channel the HTLC came in on.
	pub in_channel_id: Option<String>,
	/// The channel it went out on.
	pub out_channel_id: Option<String>,
	/// The peer that sent it to us.
	pub in_peer_node_id: Option<String>,
	/// The peer we sent it to.
	pub out_peer_node_id: Option<String>,
	/// What came in (out plus fee).
	pub in_amount_msat: Option<u64>,
	/// What went out.
	pub out_amount_msat: Option<u64>,
	/// What we earned (`None` while an on-chain claim's cost is unknown, and when failed).
	pub fee_msat: Option<u64>,
	/// `settled` or `failed`.
	pub status: ForwardStatus,
	/// Why it failed.
	pub failure_reason: Option<String>,
}
