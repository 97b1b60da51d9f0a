//! A closed channel's records stay while a revoked commitment could still confirm, and go
//! once the close is buried past the CSV delay; a reorg undoes a close.

use std::sync::Arc;

use bitcoin::absolute::LockTime;
use bitcoin::hashes::Hash;
use bitcoin::transaction::Version;
use bitcoin::{OutPoint, ScriptBuf, Sequence, Transaction, TxIn, Txid, Witness};
use lightning::ln::types::ChannelId;

use super::*;
use crate::tower::outbox::STAGED_NAMESPACE;
use crate::tower::retention::Channels;

fn funding(channel: u8) -> OutPoint {
	OutPoint { txid: Txid::from_byte_array([channel; 32]), vout: 1 }
}

/// A transaction spending `outpoint` (a close, when it is a funding outpoint).
fn spending(outpoint: OutPoint) -> Transaction {
	Transaction {
		version: Version::TWO,
		lock_time: LockTime::ZERO,
		input: vec![TxIn {
			previous_output: outpoint,
			script_sig: ScriptBuf::new(),
			sequence: Sequence::MAX,
			witness: Witness::new(),
		}],
		output: Vec::new(),
	}
}

async fn block(channels: &Channels, outbox: &Outbox, txs: &[Transaction], height: u32) {
	let txdata: Vec<(usize, &Transaction)> = txs.iter().enumerate().collect();
	let (_, writes) = channels.block_connected(outbox, &txdata, height);
	for write in writes {
		write.await.unwrap();
	}
}

/// The locator hex of appointment `n` made by [`append`].
fn locator(n: u64) -> String {
	format!("{:02x}", n as u8).repeat(16)
}

#[tokio::test]
async fn a_channel_is_forgotten_once_its_close_is_buried_past_the_csv_delay() {
	let store = memory_store();
	let outbox = Outbox::open(Arc::clone(&store)).unwrap();
	let channels = Channels::open(Arc::clone(&store)).unwrap();
	let (closing, open) = (ChannelId([7; 32]), ChannelId([8; 32]));
	for (channel, n) in [(7, 0), (7, 1), (7, 2), (8, 3)] {
		append(&outbox, channel, n).await;
	}
	KVStoreSync::write(&*store, STAGED_NAMESPACE, &"07".repeat(32), "0001_aa", vec![1]).unwrap();
	channels.track(&closing, funding(7), None).unwrap().await.unwrap();
	channels.track(&open, funding(8), Some(10)).unwrap().await.unwrap();
	assert!(channels.track(&closing, funding(7), None).is_none(), "known: nothing to write");
	channels.track(&closing, funding(7), Some(10)).unwrap().await.unwrap();

	// Closed at 100, then reorged out: nothing is forgotten on the strength of that close.
	block(&channels, &outbox, &[spending(funding(7))], 100).await;
	for write in channels.blocks_disconnected(99) {
		write.await.unwrap();
	}
	for height in 100..=120 {
		block(&channels, &outbox, &[], height).await;
	}
	assert!(outbox.revoked(&locator(0)).is_some());

	// Closed again at 121: a revoked commitment is recognised until 131 (CSV delay 10).
	block(&channels, &outbox, &[spending(funding(7))], 121).await;
	for height in 122..131 {
		block(&channels, &outbox, &[], height).await;
		assert!(outbox.revoked(&locator(2)).is_some(), "still kept at {height}");
	}
	// A restart in between keeps the close.
	let channels = Channels::open(Arc::clone(&store)).unwrap();
	block(&channels, &outbox, &[], 131).await;
	for n in 0..3 {
		assert_eq!(outbox.revoked(&locator(n)), None, "appointment {n} of the closed channel");
	}
	let staged = KVStoreSync::list(&*store, STAGED_NAMESPACE, &"07".repeat(32)).unwrap();
	assert!(staged.is_empty(), "{staged:?}");
	assert!(outbox.revoked(&locator(3)).is_some(), "the open channel keeps its records");
	let reopened = Channels::open(Arc::clone(&store)).unwrap();
	assert_eq!(reopened.len(), 1, "only the open channel is left");
	let left = KVStoreSync::list(&*store, "fulgur_tower_revoked", &"07".repeat(32)).unwrap();
	assert!(left.is_empty(), "index entries of the closed channel: {left:?}");
}
