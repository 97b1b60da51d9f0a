//! What a routing node's runner does with the node (issue 13): forwarding history, fee
//! policy, circular rebalancing, closed channels and their funds, decoding invoices and signing
//! messages. The operations are the modules' (`forwards`, `channels::policy`, `channels::closed`,
//! `payment::rebalance`, `decode`); these are the [`Node`] methods that reach them.

use bitcoin::secp256k1::PublicKey;
use lightning::ln::types::ChannelId;

use crate::model::{ChannelInfo, ClosedChannelInfo, PaymentRecord, PolicyUpdate};
use crate::{channels, decode, forwards, payment, Node, NodeError};

impl Node {
	/// Every closed channel, newest first: how it closed, its closing transaction once
	/// confirmed, and what it still holds for us on-chain.
	pub async fn closed_channels(&self) -> Result<Vec<ClosedChannelInfo>, NodeError> {
		self.handles.channels.closed.list().await
	}

	/// What a BOLT11 invoice or BOLT12 offer says (any chain; the answer names it).
	pub fn decode_invoice(&self, text: &str) -> Result<decode::DecodedInvoice, NodeError> {
		decode::decode(text)
	}

	/// `message` signed with the node's key: zbase32, as LND and Core Lightning sign.
	pub fn sign_message(&self, message: &[u8]) -> String {
		self.handles.keys.sign_message(message)
	}

	/// The signer a message signature recovers to, and whether it is a node this node knows
	/// (itself, a peer, a channel's counterparty, a node of the graph): LND's `valid`.
	pub fn verify_message(
		&self, message: &[u8], signature: &str,
	) -> Result<(PublicKey, bool), NodeError> {
		let signer = decode::recover_signer(message, signature)?;
		let text = signer.to_string();
		let known = signer == self.node_id()
			|| self.handles.peers.list().iter().any(|p| p.node_id == text)
			|| self
				.handles
				.channels
				.channel_manager
				.list_channels()
				.iter()
				.any(|c| c.counterparty.node_id == signer)
			|| self.graph_node(&signer).is_some();
		Ok((signer, known))
	}

	/// Changes one channel's forwarding policy (the fields `update` gives); answers the channel
	/// as it reads afterwards, once the change is on disk. An announced channel's new policy
	/// is gossiped.
	pub async fn update_channel_policy(
		&self, channel_id: &ChannelId, update: &PolicyUpdate,
	) -> Result<ChannelInfo, NodeError> {
		channels::policy::update(&self.handles.channels, channel_id, update).await
	}

	/// Changes every channel's forwarding policy; answers how many channels it changed, once
	/// the changes are on disk.
	pub async fn update_all_channel_policies(
		&self, update: &PolicyUpdate,
	) -> Result<usize, NodeError> {
		channels::policy::update_all(&self.handles.channels, update).await
	}

	/// Pays ourselves out through one channel and back in through another (a circular
	/// rebalance); answers the payment's record (kind `rebalance`) once it is final.
	pub async fn rebalance(
		&self, req: payment::rebalance::RebalanceRequest,
	) -> Result<PaymentRecord, NodeError> {
		payment::rebalance::rebalance(&self.handles.payments, req).await
	}

	/// One page of forwarding records matching `filter`, newest first, after `cursor` (the
	/// `next_cursor` of the page before).
	pub fn list_forwards(
		&self, filter: &forwards::query::ForwardFilter, limit: usize, cursor: Option<&str>,
	) -> forwards::query::ForwardPage {
		forwards::query::page(self.handles.forwards.records.all(), filter, limit, cursor)
	}

	/// Settled forwards matching `filter`, summed by day or by channel.
	pub fn forward_summary(
		&self, filter: &forwards::query::ForwardFilter, grouping: forwards::query::ForwardGrouping,
	) -> forwards::query::ForwardSummary {
		forwards::query::summary(self.handles.forwards.records.all(), filter, grouping)
	}

	/// Counters over every forwarding record, for the metrics.
	pub fn forward_stats(&self) -> forwards::query::ForwardStats {
		self.handles.forwards.stats()
	}
}
