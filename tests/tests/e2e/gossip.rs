//! Channel announcements are checked against bitcoind before the graph takes them: a channel
//! whose funding output exists with the 2-of-2 script of its announced keys is accepted;
//! one pointing at another script or at no transaction is not.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::hashes::{sha256d, Hash};
use bitcoin::secp256k1::{Message, PublicKey, Secp256k1, SecretKey};
use bitcoin::{Amount, OutPoint, Txid};
use fulgur::bench::chain::fan_out;
use fulgur::bitcoind::{Bitcoind, BitcoindConfig};
use fulgur_node::chain::BitcoindClient;
use fulgur_node::config::Level;
use fulgur_node::logger::FulgurLogger;
use fulgur_router::{ChainGossipCheck, ChainSource, ChainUtxoLookup};
use lightning::bitcoin::constants::ChainHash;
use lightning::ln::chan_utils::make_funding_redeemscript;
use lightning::ln::msgs::{
	ChannelAnnouncement, RoutingMessageHandler, UnsignedChannelAnnouncement,
};
use lightning::routing::gossip::{NetworkGraph, NodeId, P2PGossipSync};
use lightning::types::features::ChannelFeatures;
use lightning::util::ser::Writeable;
use serde_json::json;

fn key(byte: u8) -> SecretKey {
	SecretKey::from_slice(&[byte; 32]).expect("key")
}

/// A channel announcement for `scid` between nodes 1 and 2 with funding keys 3 and 4, signed.
fn announcement(scid: u64) -> ChannelAnnouncement {
	let secp = Secp256k1::new();
	let public = |k: &SecretKey| PublicKey::from_secret_key(&secp, k);
	let (mut n1, mut n2) = (key(1), key(2));
	if public(&n1).serialize() > public(&n2).serialize() {
		std::mem::swap(&mut n1, &mut n2);
	}
	let (b1, b2) = (key(3), key(4));
	let contents = UnsignedChannelAnnouncement {
		features: ChannelFeatures::empty(),
		chain_hash: ChainHash::using_genesis_block(bitcoin::Network::Regtest),
		short_channel_id: scid,
		node_id_1: NodeId::from_pubkey(&public(&n1)),
		node_id_2: NodeId::from_pubkey(&public(&n2)),
		bitcoin_key_1: NodeId::from_pubkey(&public(&b1)),
		bitcoin_key_2: NodeId::from_pubkey(&public(&b2)),
		excess_data: Vec::new(),
	};
	let digest = sha256d::Hash::hash(&contents.encode());
	let message = Message::from_digest(digest.to_byte_array());
	let sign = |k: &SecretKey| secp.sign_ecdsa(&message, k);
	ChannelAnnouncement {
		node_signature_1: sign(&n1),
		node_signature_2: sign(&n2),
		bitcoin_signature_1: sign(&b1),
		bitcoin_signature_2: sign(&b2),
		contents,
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_announcements_are_checked_against_the_chain() {
	let dir = tempfile::tempdir().expect("temp dir");
	let bitcoind =
		Bitcoind::start(BitcoindConfig::new(dir.path().join("bitcoind"))).await.expect("bitcoind");
	let rpc = bitcoind.client();
	let mined = rpc.mine_empty(101).await.expect("mine");
	let block = rpc.rpc("getblock", &[json!(mined[0].to_string()), json!(1)]).await.expect("block");
	let coinbase = Txid::from_str(block["tx"][0].as_str().expect("coinbase")).expect("txid");

	// The funding output: the 2-of-2 of keys 3 and 4, as output 0 of the block's second tx.
	let secp = Secp256k1::new();
	let (b1, b2) = (key(3).public_key(&secp), key(4).public_key(&secp));
	let funding_script = make_funding_redeemscript(&b1, &b2).to_p2wsh();
	let tx =
		fan_out(OutPoint::new(coinbase, 0), Amount::from_int_btc(50), &funding_script, &[100_000])
			.expect("funding tx");
	rpc.send_raw_transaction(&tx).await.expect("broadcast");
	rpc.mine_empty(1).await.expect("mine");
	let height = rpc.block_count().await.expect("height");
	let scid = |tx_index: u64, output: u64| height << 40 | tx_index << 16 | output;
	let (real, other_script, no_tx) = (scid(1, 0), scid(1, 1), scid(7, 0));

	let logger = Arc::new(
		FulgurLogger::new(&dir.path().join("gossip.log"), "gossip", Level::Debug).expect("log"),
	);
	let source = BitcoindClient::connect(
		&bitcoind.rpc_url(),
		bitcoind.rpc_user(),
		bitcoind.rpc_password(),
		bitcoin::Network::Regtest,
		253,
		fulgur_node::fee_policy::FeePolicy::default(),
		Arc::clone(&logger),
	)
	.await
	.expect("bitcoind client");
	let graph = Arc::new(NetworkGraph::new(bitcoin::Network::Regtest, Arc::clone(&logger)));
	let check = Arc::new(ChainGossipCheck::new(
		Arc::new(source) as Arc<ChainSource>,
		Arc::clone(&graph),
		tokio::runtime::Handle::current(),
	));
	let lookup = Arc::clone(&check) as Arc<ChainUtxoLookup>;
	let gossip =
		Arc::new(P2PGossipSync::new(Arc::clone(&graph), Some(lookup), Arc::clone(&logger)));
	check.forward_through(&gossip);

	for scid in [other_script, no_tx, real] {
		// The answer comes later: LDK reports the announcement as pending meanwhile.
		let _ = gossip.handle_channel_announcement(None, &announcement(scid));
	}
	let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
	while graph.read_only().channel(real).is_none() {
		assert!(tokio::time::Instant::now() < deadline, "the real channel was never accepted");
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
	let accepted = graph.read_only().channel(real).and_then(|c| c.capacity_sats);
	assert_eq!(accepted, Some(100_000), "capacity comes from the funding output");
	// The forged ones were looked up before the real one; give them the same time again.
	tokio::time::sleep(Duration::from_millis(500)).await;
	assert!(graph.read_only().channel(other_script).is_none(), "wrong script accepted");
	assert!(graph.read_only().channel(no_tx).is_none(), "missing transaction accepted");
	let _ = bitcoind.stop().await;
}
