//! Peer connections coming and going, for the journal: LDK has no event for them, so this
//! handler, plugged into the peer manager as its custom message handler (it handles no
//! messages), hears of each one and queues it, in order, for `tasks::record_peer_events`.
//!
//! Invariant: nothing a stranger can repeat at will reaches the journal or grows memory. A
//! connection is recorded only when it is ours (we connected out: an operator's connect, a
//! channel open, the reconnect loop) or the peer has a channel with us or is one we remember;
//! its disconnection only when its connection was recorded or the peer still has a channel.
//! Anyone else (an inbound handshake from a throwaway key) leaves no trace. The queue is
//! bounded: when full, events are dropped and counted, never buffered without end.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use bitcoin::secp256k1::PublicKey;
use lightning::ln::msgs::{DecodeError, Init, LightningError};
use lightning::ln::peer_handler::CustomMessageHandler;
use lightning::ln::wire::CustomMessageReader;
use lightning::types::features::{InitFeatures, NodeFeatures};
use tokio::sync::mpsc;

use crate::journal::NodeEvent;

/// Peer events queued for the journal at most; more are dropped (and counted) until the
/// recorder catches up.
pub const PEER_EVENT_QUEUE: usize = 1024;

/// Whether a peer is one of ours: it has a channel with us, or we remember it.
pub type IsOurPeer = dyn Fn(&PublicKey) -> bool + Send + Sync;

/// The handler: decides which connections are worth recording and queues them.
pub struct PeerEvents {
	is_ours: Box<IsOurPeer>,
	/// Peers whose connection was recorded and who have not disconnected since: bounded by
	/// our own peers, since a stranger's connection is never recorded.
	recorded: Mutex<HashSet<PublicKey>>,
	sender: mpsc::Sender<NodeEvent>,
	receiver: Mutex<Option<mpsc::Receiver<NodeEvent>>>,
	dropped: AtomicU64,
}

impl PeerEvents {
	/// A handler with an empty queue of [`PEER_EVENT_QUEUE`] events; `is_ours` tells our
	/// peers from strangers.
	pub fn new(is_ours: Box<IsOurPeer>) -> PeerEvents {
		PeerEvents::with_capacity(is_ours, PEER_EVENT_QUEUE)
	}

	fn with_capacity(is_ours: Box<IsOurPeer>, capacity: usize) -> PeerEvents {
		let (sender, receiver) = mpsc::channel(capacity);
		PeerEvents {
			is_ours,
			recorded: Mutex::new(HashSet::new()),
			sender,
			receiver: Mutex::new(Some(receiver)),
			dropped: AtomicU64::new(0),
		}
	}

	/// The queue's receiving end, once.
	pub fn take_receiver(&self) -> Option<mpsc::Receiver<NodeEvent>> {
		self.receiver.lock().unwrap_or_else(|e| e.into_inner()).take()
	}

	/// Events dropped because the queue was full, since start.
	pub fn dropped(&self) -> u64 {
		self.dropped.load(Ordering::Relaxed)
	}

	fn queue(&self, event: NodeEvent) {
		match self.sender.try_send(event) {
			Ok(()) => {}
			Err(mpsc::error::TrySendError::Full(_)) => {
				self.dropped.fetch_add(1, Ordering::Relaxed);
			}
			// Nobody receiving means the node is stopping; the event is moot then.
			Err(mpsc::error::TrySendError::Closed(_)) => {}
		}
	}

	fn recorded(&self) -> std::sync::MutexGuard<'_, HashSet<PublicKey>> {
		self.recorded.lock().unwrap_or_else(|e| e.into_inner())
	}
}

impl CustomMessageReader for PeerEvents {
	type CustomMessage = Infallible;
	fn read<R: lightning::io::Read>(
		&self, _message_type: u16, _buffer: &mut R,
	) -> Result<Option<Infallible>, DecodeError> {
		Ok(None)
	}
}

impl CustomMessageHandler for PeerEvents {
	fn handle_custom_message(
		&self, msg: Infallible, _sender_node_id: PublicKey,
	) -> Result<(), LightningError> {
		// `read` never produces a message.
		match msg {}
	}

	fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, Infallible)> {
		Vec::new()
	}

	fn peer_disconnected(&self, their_node_id: PublicKey) {
		// LDK tells the channel manager first: unfunded channels are gone by now, so a
		// stranger's channel request does not make it one of ours.
		let was_recorded = self.recorded().remove(&their_node_id);
		if was_recorded || (self.is_ours)(&their_node_id) {
			self.queue(NodeEvent::PeerDisconnected { node_id: their_node_id.to_string() });
		}
	}

	fn peer_connected(
		&self, their_node_id: PublicKey, _msg: &Init, inbound: bool,
	) -> Result<(), ()> {
		if !inbound || (self.is_ours)(&their_node_id) {
			self.recorded().insert(their_node_id);
			self.queue(NodeEvent::PeerConnected { node_id: their_node_id.to_string(), inbound });
		}
		Ok(())
	}

	fn provided_node_features(&self) -> NodeFeatures {
		NodeFeatures::empty()
	}

	fn provided_init_features(&self, _their_node_id: PublicKey) -> InitFeatures {
		InitFeatures::empty()
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use bitcoin::secp256k1::{Secp256k1, SecretKey};

	fn key(n: u8) -> PublicKey {
		let secret = SecretKey::from_slice(&[n.max(1); 32]).expect("key");
		PublicKey::from_secret_key(&Secp256k1::new(), &secret)
	}

	fn init() -> Init {
		Init { features: InitFeatures::empty(), networks: None, remote_network_address: None }
	}

	fn drain(receiver: &mut mpsc::Receiver<NodeEvent>) -> Vec<NodeEvent> {
		let mut events = Vec::new();
		while let Ok(event) = receiver.try_recv() {
			events.push(event);
		}
		events
	}

	#[test]
	fn strangers_leave_no_trace_our_peers_do() {
		let channel_peer = key(1);
		let events = PeerEvents::new(Box::new(move |peer| *peer == channel_peer));
		let mut queue = events.take_receiver().expect("receiver");
		for n in 10..=200 {
			let stranger = key(n);
			events.peer_connected(stranger, &init(), true).expect("accepted");
			events.peer_disconnected(stranger);
		}
		assert!(drain(&mut queue).is_empty());
		assert!(events.recorded().is_empty());

		// A channel peer connecting to us, and one we connect to.
		events.peer_connected(channel_peer, &init(), true).expect("accepted");
		events.peer_connected(key(2), &init(), false).expect("accepted");
		events.peer_disconnected(key(2));
		events.peer_disconnected(channel_peer);
		let expected = vec![
			NodeEvent::PeerConnected { node_id: channel_peer.to_string(), inbound: true },
			NodeEvent::PeerConnected { node_id: key(2).to_string(), inbound: false },
			NodeEvent::PeerDisconnected { node_id: key(2).to_string() },
			NodeEvent::PeerDisconnected { node_id: channel_peer.to_string() },
		];
		assert_eq!(drain(&mut queue), expected);
		assert!(events.recorded().is_empty());
	}

	#[test]
	fn a_full_queue_drops_and_counts() {
		let events = PeerEvents::with_capacity(Box::new(|_| true), 4);
		let mut queue = events.take_receiver().expect("receiver");
		for _ in 0..10 {
			events.peer_connected(key(3), &init(), false).expect("accepted");
			events.peer_disconnected(key(3));
		}
		assert_eq!(drain(&mut queue).len(), 4);
		assert_eq!(events.dropped(), 16);
		// Room again once the recorder caught up.
		events.peer_connected(key(3), &init(), false).expect("accepted");
		assert_eq!(drain(&mut queue).len(), 1);
	}
}
