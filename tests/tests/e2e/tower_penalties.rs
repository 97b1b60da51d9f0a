//! The tower stops following a penalty bitcoind refuses as invalid, and keeps one refused
//! for its fee (sent again every block), against a real bitcoind.

use std::str::FromStr;
use std::time::Duration;

use bitcoin::secp256k1::SecretKey;
use bitcoin::{Amount, ScriptBuf, Transaction, Txid, Witness};
use fulgur::bitcoind::{Bitcoind, BitcoindConfig};
use fulgur::regtest::launch::wait_until;
use fulgur_watchtower::api::{AddAppointmentRequest, GetAppointmentRequest};
use fulgur_watchtower::client::TowerClient;
use fulgur_watchtower::server::Tower;
use fulgur_watchtower::{Appointment, AppointmentStatus, UserId};
use serde_json::json;

use crate::tower::{spend, tower_config};

const WAIT: Duration = Duration::from_secs(60);

/// The coinbase txid of the block at `height`.
async fn coinbase(bitcoind: &Bitcoind, height: u64) -> Txid {
	let hash = bitcoind.rpc("getblockhash", &[json!(height)]).await.expect("hash");
	let block = bitcoind.rpc("getblock", &[hash, json!(1)]).await.expect("block");
	Txid::from_str(block["tx"][0].as_str().expect("coinbase")).expect("txid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_penalty_is_dropped_and_one_refused_for_its_fee_is_kept() {
	let dir = tempfile::tempdir().expect("temp dir");
	let bitcoind =
		Bitcoind::start(BitcoindConfig::new(dir.path().join("bitcoind"))).await.expect("bitcoind");
	bitcoind.mine_empty(102).await.expect("mine");
	let coins = Amount::from_btc(50.0).unwrap();
	let (breach_a, breach_b) =
		(spend(coinbase(&bitcoind, 1).await, coins), spend(coinbase(&bitcoind, 2).await, coins));
	// A: pays a fee but its witness does not open the output (script verification fails).
	let mut invalid = spend(breach_a.compute_txid(), breach_a.output[0].value);
	invalid.input[0].witness =
		Witness::from_slice(&[ScriptBuf::from_bytes(vec![0x00]).into_bytes()]);
	// B: valid, but pays no fee at all (below the minimum relay fee).
	let mut no_fee = spend(breach_b.compute_txid(), breach_b.output[0].value);
	no_fee.output[0].value = breach_b.output[0].value;

	let tower = Tower::start(tower_config(dir.path(), &bitcoind)).await.expect("tower starts");
	let client = TowerClient::new(&format!("http://{}", tower.local_addr()));
	let user_sk = SecretKey::from_slice(&[0x42; 32]).unwrap();
	client.register(UserId::from_secret_key(&user_sk)).await.expect("register");
	let appoint = |breach: &Transaction, penalty: &Transaction| {
		let appointment = Appointment::for_justice_tx(&breach.compute_txid(), penalty, 144);
		AddAppointmentRequest::new(appointment, &user_sk)
	};
	for (breach, penalty) in [(&breach_a, &invalid), (&breach_b, &no_fee)] {
		client.add_appointment(&appoint(breach, penalty)).await.expect("add_appointment");
		bitcoind.send_raw_transaction(breach).await.expect("breach");
	}
	bitcoind.mine_empty(1).await.expect("mine the breaches");
	let responder = tower.core().responder();
	wait_until("the tower responds to both breaches", WAIT, || async {
		responder.tracker_count() == 2
	})
	.await
	.unwrap();

	// bitcoind refuses both; each following block the tower acts on what it said.
	wait_until("the invalid penalty dropped", WAIT, || async {
		bitcoind.mine_empty(1).await.expect("mine");
		tokio::time::sleep(Duration::from_millis(300)).await;
		responder.tracker_count() == 1
	})
	.await
	.unwrap();
	let status = |breach: &Transaction| {
		let locator = Appointment::for_justice_tx(&breach.compute_txid(), &no_fee, 0).locator;
		let req = GetAppointmentRequest::new(locator, &user_sk);
		let client = client.clone();
		async move { client.get_appointment(&req).await.expect("get_appointment").status }
	};
	assert_eq!(status(&breach_a).await, AppointmentStatus::NotFound);
	// The one refused for its fee stays through more blocks.
	for _ in 0..3 {
		bitcoind.mine_empty(1).await.expect("mine");
	}
	let tip = bitcoind.block_count().await.expect("height") as u32;
	wait_until("the tower at the tip", WAIT, || async {
		tower.core().gatekeeper().height() == tip
	})
	.await
	.unwrap();
	assert_eq!(responder.tracker_count(), 1);
	assert_eq!(status(&breach_b).await, AppointmentStatus::DisputeResponded);

	tower.shutdown().await;
	bitcoind.stop().await.expect("stop");
}
