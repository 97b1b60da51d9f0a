//! The channel manager as the peer manager's channel message handler, with the
//! [`ReceiveGate`] watching HTLCs go by: every message goes to the manager unchanged; an
//! incoming `update_add_htlc` whose onion says "forward" is tracked until the HTLC leaves on
//! the next channel (an outgoing `update_add_htlc` with its hash) or is failed back.

use std::sync::Arc;

use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{PublicKey, Secp256k1, VerifyOnly};
use lightning::ln::channelmanager::PendingHTLCRouting;
use lightning::ln::msgs::{self, BaseMessageHandler, ChannelMessageHandler, MessageSendEvent};
use lightning::ln::onion_payment::peel_payment_onion;
use lightning::ln::types::ChannelId;
use lightning::types::features::{InitFeatures, NodeFeatures};

use super::{ReceiveDelay, ReceiveGate};
use crate::keys::NodeKeysManager;
use crate::logger::FulgurLogger;
use crate::types::ChannelManager;

/// The channel manager, with its HTLCs watched by the gate.
pub struct ChannelHandler {
	manager: Arc<ChannelManager>,
	gate: Arc<ReceiveGate>,
	keys: Arc<NodeKeysManager>,
	logger: Arc<FulgurLogger>,
	secp: Secp256k1<VerifyOnly>,
}

impl ChannelHandler {
	/// `manager`'s messages, watched by `gate`; `keys` peel the onions.
	pub fn new(
		manager: Arc<ChannelManager>, gate: Arc<ReceiveGate>, keys: Arc<NodeKeysManager>,
		logger: Arc<FulgurLogger>,
	) -> ChannelHandler {
		ChannelHandler { manager, gate, keys, logger, secp: Secp256k1::verification_only() }
	}

	/// Whether `msg` is to be forwarded: its onion's next hop is another node. An onion we
	/// cannot read counts as a forward (its failure goes back the way a forward's does, and
	/// it keeps the hold).
	fn is_forward(&self, msg: &msgs::UpdateAddHTLC) -> bool {
		let height = self.manager.current_best_block().height;
		match peel_payment_onion(msg, &*self.keys, &*self.logger, &self.secp, height, false) {
			Ok(info) => matches!(
				info.routing,
				PendingHTLCRouting::Forward { .. } | PendingHTLCRouting::TrampolineForward { .. }
			),
			Err(_) => true,
		}
	}

	fn watching(&self) -> bool {
		self.gate.mode() == ReceiveDelay::None
	}
}

impl BaseMessageHandler for ChannelHandler {
	fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
		let events = self.manager.get_and_clear_pending_msg_events();
		if self.watching() {
			for event in &events {
				if let MessageSendEvent::UpdateHTLCs { updates, .. } = event {
					for add in &updates.update_add_htlcs {
						self.gate.forward_left(&add.payment_hash);
					}
					for fail in &updates.update_fail_htlcs {
						self.gate.forward_failed_back(fail.channel_id, fail.htlc_id);
					}
					for fail in &updates.update_fail_malformed_htlcs {
						self.gate.forward_failed_back(fail.channel_id, fail.htlc_id);
					}
				}
			}
			// The manager handles completed monitor writes here: HTLCs they commit wait now.
			self.gate.process_if_only_receives();
		}
		events
	}

	fn peer_disconnected(&self, their_node_id: PublicKey) {
		self.manager.peer_disconnected(their_node_id)
	}

	fn provided_node_features(&self) -> NodeFeatures {
		self.manager.provided_node_features()
	}

	fn provided_init_features(&self, their_node_id: PublicKey) -> InitFeatures {
		self.manager.provided_init_features(their_node_id)
	}

	fn peer_connected(
		&self, their_node_id: PublicKey, msg: &msgs::Init, inbound: bool,
	) -> Result<(), ()> {
		self.manager.peer_connected(their_node_id, msg, inbound)
	}
}

/// Methods handed to the manager as they are.
macro_rules! delegate {
	($($name:ident($msg:ty);)*) => {
		$(fn $name(&self, their_node_id: PublicKey, msg: $msg) {
			self.manager.$name(their_node_id, msg)
		})*
	};
}

impl ChannelMessageHandler for ChannelHandler {
	delegate! {
		handle_open_channel(&msgs::OpenChannel);
		handle_open_channel_v2(&msgs::OpenChannelV2);
		handle_accept_channel(&msgs::AcceptChannel);
		handle_accept_channel_v2(&msgs::AcceptChannelV2);
		handle_funding_created(&msgs::FundingCreated);
		handle_funding_signed(&msgs::FundingSigned);
		handle_channel_ready(&msgs::ChannelReady);
		handle_peer_storage(msgs::PeerStorage);
		handle_peer_storage_retrieval(msgs::PeerStorageRetrieval);
		handle_shutdown(&msgs::Shutdown);
		handle_closing_signed(&msgs::ClosingSigned);
		handle_stfu(&msgs::Stfu);
		handle_splice_init(&msgs::SpliceInit);
		handle_splice_ack(&msgs::SpliceAck);
		handle_splice_locked(&msgs::SpliceLocked);
		handle_tx_add_input(&msgs::TxAddInput);
		handle_tx_add_output(&msgs::TxAddOutput);
		handle_tx_remove_input(&msgs::TxRemoveInput);
		handle_tx_remove_output(&msgs::TxRemoveOutput);
		handle_tx_complete(&msgs::TxComplete);
		handle_tx_signatures(&msgs::TxSignatures);
		handle_tx_init_rbf(&msgs::TxInitRbf);
		handle_tx_ack_rbf(&msgs::TxAckRbf);
		handle_tx_abort(&msgs::TxAbort);
		handle_update_fulfill_htlc(msgs::UpdateFulfillHTLC);
		handle_update_fail_htlc(&msgs::UpdateFailHTLC);
		handle_update_fail_malformed_htlc(&msgs::UpdateFailMalformedHTLC);
		handle_update_fee(&msgs::UpdateFee);
		handle_announcement_signatures(&msgs::AnnouncementSignatures);
		handle_channel_reestablish(&msgs::ChannelReestablish);
		handle_channel_update(&msgs::ChannelUpdate);
		handle_error(&msgs::ErrorMessage);
	}

	fn handle_update_add_htlc(&self, their_node_id: PublicKey, msg: &msgs::UpdateAddHTLC) {
		if self.watching() && self.is_forward(msg) {
			self.gate.forward_arrived(msg.payment_hash, msg.channel_id, msg.htlc_id);
		}
		self.manager.handle_update_add_htlc(their_node_id, msg)
	}

	fn handle_commitment_signed(&self, their_node_id: PublicKey, msg: &msgs::CommitmentSigned) {
		self.manager.handle_commitment_signed(their_node_id, msg);
		self.gate.process_if_only_receives();
	}

	fn handle_commitment_signed_batch(
		&self, their_node_id: PublicKey, channel_id: ChannelId, batch: Vec<msgs::CommitmentSigned>,
	) {
		self.manager.handle_commitment_signed_batch(their_node_id, channel_id, batch);
		self.gate.process_if_only_receives();
	}

	fn handle_revoke_and_ack(&self, their_node_id: PublicKey, msg: &msgs::RevokeAndACK) {
		self.manager.handle_revoke_and_ack(their_node_id, msg);
		self.gate.process_if_only_receives();
	}

	fn get_chain_hashes(&self) -> Option<Vec<ChainHash>> {
		self.manager.get_chain_hashes()
	}

	fn message_received(&self) {
		self.manager.message_received()
	}
}
