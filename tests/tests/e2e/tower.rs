//! The watchtower against a real bitcoind: a breach is punished, and punished again after a
//! reorg takes the breach block away and bitcoind forgets the justice transaction.

use std::str::FromStr;
use std::time::Duration;

use bitcoin::absolute::LockTime;
use bitcoin::address::KnownHrp;
use bitcoin::secp256k1::SecretKey;
use bitcoin::transaction::Version;
use bitcoin::{
	Address, Amount, CompressedPublicKey, Network, OutPoint, ScriptBuf, Sequence, Transaction,
	TxIn, TxOut, Txid, Witness,
};
use fulgur::bitcoind::{
	anyone_can_spend_address, anyone_can_spend_script, Bitcoind, BitcoindConfig,
};
use fulgur::regtest::launch::wait_until;
use fulgur_watchtower::api::{AddAppointmentRequest, AppointmentData, GetAppointmentRequest};
use fulgur_watchtower::client::TowerClient;
use fulgur_watchtower::server::{Tower, TowerConfig, TowerOptions};
use fulgur_watchtower::{Appointment, AppointmentStatus, UserId};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);

/// Spends output 0 of `prev` (an anyone-can-spend output) to a new one, minus a fee.
fn spend(prev: Txid, value: Amount) -> Transaction {
	Transaction {
		version: Version::TWO,
		lock_time: LockTime::ZERO,
		input: vec![TxIn {
			previous_output: OutPoint::new(prev, 0),
			script_sig: ScriptBuf::new(),
			sequence: Sequence::MAX,
			witness: Witness::from_slice(&[anyone_can_spend_script().into_bytes()]),
		}],
		output: vec![TxOut {
			value: value - Amount::from_sat(10_000),
			script_pubkey: anyone_can_spend_address().script_pubkey(),
		}],
	}
}

async fn in_mempool(bitcoind: &Bitcoind, txid: Txid) -> bool {
	bitcoind.rpc("getmempoolentry", &[json!(txid.to_string())]).await.is_ok()
}

async fn confirmations(bitcoind: &Bitcoind, txid: Txid) -> u64 {
	let tx = bitcoind.rpc("getrawtransaction", &[json!(txid.to_string()), json!(1)]).await;
	tx.ok().and_then(|tx| tx["confirmations"].as_u64()).unwrap_or(0)
}

fn tower_config(dir: &std::path::Path, bitcoind: &Bitcoind) -> TowerConfig {
	TowerConfig {
		data_dir: dir.join("tower"),
		bind: "127.0.0.1:0".parse().unwrap(),
		network: Network::Regtest,
		bitcoind_rpc: format!("127.0.0.1:{}", bitcoind.rpc_port()),
		rpc_user: bitcoind.rpc_user().to_string(),
		rpc_password: bitcoind.rpc_password().to_string(),
		poll_interval: Duration::from_millis(100),
		options: TowerOptions::default(),
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tower_punishes_a_breach_and_again_after_a_reorg() {
	let dir = tempfile::tempdir().expect("temp dir");
	let config = BitcoindConfig::new(dir.path().join("bitcoind"));
	let bitcoind = Bitcoind::start(config.clone()).await.expect("bitcoind");
	let hashes = bitcoind.mine_empty(101).await.expect("mine");
	let block = bitcoind.rpc("getblock", &[json!(hashes[0].to_string()), json!(1)]).await;
	let coinbase = Txid::from_str(block.expect("block")["tx"][0].as_str().expect("tx")).unwrap();
	let breach = spend(coinbase, Amount::from_btc(50.0).unwrap());
	let justice = spend(breach.compute_txid(), breach.output[0].value);

	let tower = Tower::start(tower_config(dir.path(), &bitcoind)).await.expect("tower starts");
	let client = TowerClient::new(&format!("http://{}", tower.local_addr()));
	let user_sk = SecretKey::from_slice(&[0x42; 32]).unwrap();
	let user = UserId::from_secret_key(&user_sk);
	let registered = client.register(user).await.expect("register");
	assert!(registered.verify(&tower.tower_id()));
	assert_eq!(registered.subscription_start, 101);
	let appointment = Appointment::for_justice_tx(&breach.compute_txid(), &justice, 144);
	let locator = appointment.locator;
	let req = AddAppointmentRequest::new(appointment, &user_sk);
	let receipt = client.add_appointment(&req).await.expect("add_appointment");
	assert!(receipt.verify(&req.signature, &tower.tower_id()));

	// The breach confirms; the tower broadcasts the justice transaction, which confirms.
	bitcoind.send_raw_transaction(&breach).await.expect("breach");
	let breach_block = bitcoind.mine_empty(1).await.expect("mine")[0];
	wait_until("the tower broadcasts the justice tx", WAIT, || {
		in_mempool(&bitcoind, justice.compute_txid())
	})
	.await
	.unwrap();
	let got = client.get_appointment(&GetAppointmentRequest::new(locator, &user_sk)).await;
	let got = got.expect("get_appointment");
	assert_eq!(got.status, AppointmentStatus::DisputeResponded);
	match got.appointment {
		Some(AppointmentData::Tracker(t)) => {
			assert_eq!(
				(t.dispute_txid, t.penalty_txid),
				(breach.compute_txid(), justice.compute_txid())
			)
		}
		other => panic!("expected a tracker, got {other:?}"),
	}
	bitcoind.mine_empty(1).await.expect("mine");
	assert_eq!(confirmations(&bitcoind, justice.compute_txid()).await, 1);

	// A reorg takes both blocks away, and bitcoind restarts without its mempool: nobody but
	// the tower still has the justice transaction.
	bitcoind.invalidate_block(&breach_block).await.expect("invalidateblock");
	let ports =
		BitcoindConfig { rpc_port: bitcoind.rpc_port(), p2p_port: bitcoind.p2p_port(), ..config };
	bitcoind.stop().await.expect("stop bitcoind");
	let _ = std::fs::remove_file(dir.path().join("bitcoind").join("regtest").join("mempool.dat"));
	let bitcoind = Bitcoind::start(ports).await.expect("bitcoind restarts");
	assert_eq!(bitcoind.block_count().await.unwrap(), 101);
	assert_eq!(bitcoind.mempool_size().await.unwrap(), 0);

	// The breach confirms again on a longer branch; the tower sends the justice tx again.
	bitcoind.send_raw_transaction(&breach).await.expect("breach again");
	// To another address: the same coinbase and transaction could rebuild the invalid block.
	let other = Address::p2wpkh(&CompressedPublicKey(user.0), KnownHrp::Regtest);
	bitcoind.mine(3, &other).await.expect("mine the new branch");
	assert_eq!(confirmations(&bitcoind, breach.compute_txid()).await, 3);
	wait_until("the tower re-sends the justice tx", WAIT, || {
		in_mempool(&bitcoind, justice.compute_txid())
	})
	.await
	.unwrap();
	bitcoind.mine_empty(1).await.expect("mine");
	assert_eq!(confirmations(&bitcoind, justice.compute_txid()).await, 1);
	let info: Value = bitcoind.rpc("getblockchaininfo", &[]).await.unwrap();
	assert_eq!(info["blocks"], json!(105));

	tower.shutdown().await;
	bitcoind.stop().await.expect("stop");
}
