//! The watchtower against a real bitcoind: a breach is punished, and punished again after a
//! reorg takes the breach block away and bitcoind forgets the justice transaction.

use std::str::FromStr;
use std::time::Duration;

use bitcoin::absolute::LockTime;
use bitcoin::address::KnownHrp;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
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
use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_tests::TestNet;
use fulgur_watchtower::api::{AddAppointmentRequest, AppointmentData, GetAppointmentRequest};
use fulgur_watchtower::client::TowerClient;
use fulgur_watchtower::server::{Tower, TowerConfig, TowerOptions};
use fulgur_watchtower::{Appointment, AppointmentStatus, UserId};
use hyper::Method;
use lightning::util::persist::KVStoreSync;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);

/// Spends output 0 of `prev` (an anyone-can-spend output) to a new one, minus a fee.
pub(crate) fn spend(prev: Txid, value: Amount) -> Transaction {
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

pub(crate) fn tower_config(dir: &std::path::Path, bitcoind: &Bitcoind) -> TowerConfig {
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

/// The node's view of its towers (`GET /v1/towers`).
async fn towers_of(net: &TestNet, name: &str) -> Value {
	net.api(name).request(Method::GET, "/v1/towers", None).await.expect("GET /v1/towers")
}

fn tower_field(towers: &Value, field: &str) -> u64 {
	towers["towers"][0][field].as_u64().unwrap_or(u64::MAX)
}

/// Pays `amount_msat` from `from` to `to` through a fresh invoice and waits for success.
async fn pay(net: &TestNet, from: &str, to: &str, amount_msat: u64, label: &str) {
	let invoice =
		net.api(to).create_invoice(Some(amount_msat), label, None).await.expect("invoice");
	let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
	let paid = net.api(from).pay(&req, true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{label}: {paid:?}");
}

/// Restarts `name` with `tower` as its only watchtower.
async fn give_tower(net: &mut TestNet, name: &str, tower: String) {
	let (index, node) = net.take(name);
	node.stop().await;
	net.start_again_with(name, index, move |c| c.towers = vec![tower]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appointments_wait_in_the_outbox_while_the_tower_is_down() {
	let mut net = TestNet::new(&["alice", "bob"]).await;
	let tower_port = fulgur::bitcoind::free_port().expect("port");
	give_tower(&mut net, "alice", format!("127.0.0.1:{tower_port}")).await;
	let channel = net.open_channel("alice", "bob", 1_000_000, 200_000_000).await;
	let _ = channel;

	// Nothing listens on the tower's port: payments go through all the same.
	for round in 0..4 {
		pay(&net, "alice", "bob", 5_000_000, &format!("to bob {round}")).await;
		pay(&net, "bob", "alice", 3_000_000, &format!("to alice {round}")).await;
	}
	let towers = towers_of(&net, "alice").await;
	let waiting = tower_field(&towers, "pending");
	assert!(waiting >= 8, "each payment revokes bob's older states: {towers}");
	assert_eq!(tower_field(&towers, "delivered"), 0, "{towers}");
	assert_eq!(towers["outbox"].as_u64(), Some(waiting), "{towers}");
	let metrics = net.api("alice").metrics().await.expect("metrics");
	assert!(metrics.contains(&format!("fulgur_tower_outbox {waiting}")), "{metrics}");

	// The tower comes up on that port: the whole backlog arrives, receipts signed by it.
	let mut config = tower_config(net.dir.path(), &net.bitcoind);
	config.bind = format!("127.0.0.1:{tower_port}").parse().unwrap();
	let tower = Tower::start(config).await.expect("tower starts");
	net.wait_for("the backlog reaches the tower", || async {
		let towers = towers_of(&net, "alice").await;
		// The last payment's final revocation may add one after `waiting` was read.
		tower_field(&towers, "pending") == 0 && tower_field(&towers, "delivered") >= waiting
	})
	.await;
	let towers = towers_of(&net, "alice").await;
	assert_eq!(towers["towers"][0]["state"], "active", "{towers}");
	assert_eq!(towers["towers"][0]["tower_id"], tower.tower_id().to_string(), "{towers}");
	assert_eq!(towers["towers"][0]["rejected"], 0, "{towers}");
	let delivered = tower_field(&towers, "delivered");

	// New appointments follow without waiting for a retry timer.
	pay(&net, "alice", "bob", 5_000_000, "with the tower up").await;
	net.wait_for("new appointments delivered", || async {
		let towers = towers_of(&net, "alice").await;
		tower_field(&towers, "pending") == 0 && tower_field(&towers, "delivered") > delivered
	})
	.await;
	tower.shutdown().await;
	net.shutdown().await;
}

/// Copies a stopped node's directory (its whole state).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
	std::fs::create_dir_all(to).expect("mkdir");
	for entry in std::fs::read_dir(from).expect("read dir").flatten() {
		let target = to.join(entry.file_name());
		if entry.file_type().expect("file type").is_dir() {
			copy_dir(&entry.path(), &target);
		} else {
			std::fs::copy(entry.path(), &target).expect("copy");
		}
	}
}

/// The mempool transaction spending only outputs of `txid`, if any (not an anchor's CPFP
/// child, which brings wallet inputs).
async fn mempool_spender(bitcoind: &Bitcoind, txid: &str) -> Option<Value> {
	let mempool = bitcoind.rpc("getrawmempool", &[]).await.ok()?;
	for candidate in mempool.as_array()? {
		let tx = bitcoind.rpc("getrawtransaction", &[candidate.clone(), json!(1)]).await.ok()?;
		if tx["vin"].as_array()?.iter().all(|input| input["txid"] == txid) {
			return Some(tx);
		}
	}
	None
}

/// Waits for [`mempool_spender`] of `txid`.
async fn wait_spender(net: &TestNet, txid: &str, what: &str) -> Value {
	let start = std::time::Instant::now();
	loop {
		if let Some(tx) = mempool_spender(&net.bitcoind, txid).await {
			return tx;
		}
		assert!(
			start.elapsed() < fulgur_tests::STEP,
			"no {what} in the mempool\n{}",
			net.log_tails()
		);
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}

/// A hold invoice of `name` for a fresh preimage: (payment hash, preimage, bolt11).
async fn hold_invoice(net: &TestNet, name: &str, amount_msat: u64) -> (String, String, String) {
	let preimage: [u8; 32] = rand::random();
	let hash = sha256::Hash::hash(&preimage).to_string();
	let body = json!({"amount_msat": amount_msat, "description": "held", "payment_hash": hash});
	let invoice = net.api(name).request(Method::POST, "/v1/invoices", Some(body)).await;
	let bolt11 = invoice.expect("hold invoice")["bolt11"].as_str().expect("bolt11").to_string();
	(hash, preimage.to_lower_hex_string(), bolt11)
}

async fn invoice_status(net: &TestNet, name: &str, hash: &str) -> String {
	let invoice = net.api(name).get_invoice(hash).await.expect("invoice");
	serde_json::to_value(invoice.status).unwrap().as_str().unwrap_or_default().to_string()
}

async fn event_kinds(net: &TestNet, name: &str) -> Vec<String> {
	let events = net.api(name).request(Method::GET, "/v1/events?limit=500", None).await;
	let events = events.expect("events");
	let list = events["events"].as_array().cloned().unwrap_or_default();
	list.iter().filter_map(|e| e["type"].as_str().map(str::to_string)).collect()
}

/// Bob broadcasts a revoked state with two HTLCs in flight while alice is offline; alice's
/// tower takes `to_local` and both HTLC outputs, and again after the breach block is reorged
/// out and mined again; alice finds the money in her wallet when she returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_commitment_with_htlcs_is_punished_by_the_tower() {
	let mut net = TestNet::new(&["alice", "bob"]).await;
	let tower = Tower::start(tower_config(net.dir.path(), &net.bitcoind)).await.expect("tower");
	give_tower(&mut net, "alice", tower.local_addr().to_string()).await;
	let channel = net.open_channel("alice", "bob", 1_000_000, 300_000_000).await;
	for round in 0..2 {
		pay(&net, "alice", "bob", 20_000_000, &format!("to bob {round}")).await;
		pay(&net, "bob", "alice", 10_000_000, &format!("to alice {round}")).await;
	}

	// Two HTLCs in flight, one each way, held by hold invoices.
	let (alice_hash, alice_preimage, alice_invoice) = hold_invoice(&net, "alice", 40_000_000).await;
	let (bob_hash, bob_preimage, bob_invoice) = hold_invoice(&net, "bob", 30_000_000).await;
	let to_alice = PayRequest { invoice: alice_invoice, amount_msat: None, max_fee_msat: None };
	net.api("bob").pay(&to_alice, false).await.expect("bob pays the hold invoice");
	let to_bob = PayRequest { invoice: bob_invoice, amount_msat: None, max_fee_msat: None };
	net.api("alice").pay(&to_bob, false).await.expect("alice pays the hold invoice");
	net.wait_for("both hold invoices accepted", || async {
		invoice_status(&net, "alice", &alice_hash).await == "accepted"
			&& invoice_status(&net, "bob", &bob_hash).await == "accepted"
	})
	.await;

	// Bob keeps a copy of this state.
	let bob_dir = net.dir.path().join("bob");
	let old_state = net.dir.path().join("bob-old-state");
	let (index, bob) = net.take("bob");
	bob.stop().await;
	copy_dir(&bob_dir, &old_state);
	net.start_again("bob", index).await;
	net.wait_for("channel usable after bob's restart", || async {
		net.channel("alice", &channel).await.is_some_and(|c| c.is_usable)
	})
	.await;

	// The HTLCs settle and more payments revoke the copied state.
	let settle = |preimage: &str| json!({ "preimage": preimage });
	let path = format!("/v1/invoices/{alice_hash}/settle");
	net.api("alice")
		.request(Method::POST, &path, Some(settle(&alice_preimage)))
		.await
		.expect("settle");
	let path = format!("/v1/invoices/{bob_hash}/settle");
	net.api("bob").request(Method::POST, &path, Some(settle(&bob_preimage))).await.expect("settle");
	for (hash, name) in [(&alice_hash, "alice"), (&bob_hash, "bob")] {
		net.wait_for("hold invoice paid", || async {
			invoice_status(&net, name, hash).await == "paid"
		})
		.await;
	}
	pay(&net, "alice", "bob", 5_000_000, "after the copy").await;
	pay(&net, "bob", "alice", 5_000_000, "after the copy, back").await;
	net.wait_for("every appointment delivered", || async {
		let towers = towers_of(&net, "alice").await;
		tower_field(&towers, "pending") == 0 && tower_field(&towers, "delivered") > 0
	})
	.await;
	let onchain_before = net.api("alice").balance().await.expect("balance").onchain_confirmed_sat;
	let funding =
		net.channel("alice", &channel).await.and_then(|c| c.funding_txo).expect("funding");
	let funding_txid = funding.split(':').next().unwrap().to_string();

	// Alice goes offline; bob comes back with the old state and force-closes.
	let (alice_index, alice) = net.take("alice");
	alice.stop().await;
	let (index, bob) = net.take("bob");
	bob.stop().await;
	std::fs::remove_dir_all(&bob_dir).expect("remove bob's state");
	copy_dir(&old_state, &bob_dir);
	net.start_again("bob", index).await;
	net.api("bob").close_channel(&channel, true).await.expect("bob force-closes");
	let commitment = wait_spender(&net, &funding_txid, "the revoked commitment").await;
	let commitment_txid = commitment["txid"].as_str().unwrap().to_string();
	let (_, bob) = net.take("bob");
	bob.stop().await;

	// The breach confirms: the tower answers with the justice transaction.
	let miner = anyone_can_spend_address().to_string();
	let mined = net.bitcoind.rpc("generateblock", &[json!(miner), json!([commitment_txid])]).await;
	let breach_block = mined.expect("breach block")["hash"].as_str().unwrap().to_string();
	let justice = wait_spender(&net, &commitment_txid, "the justice transaction").await;
	let justice_txid = justice["txid"].as_str().unwrap().to_string();
	let inputs = justice["vin"].as_array().unwrap();
	assert!(inputs.iter().all(|i| i["txid"] == commitment_txid.as_str()), "{justice}");
	assert_eq!(inputs.len(), 3, "to_local and both HTLC outputs: {justice}");
	let taken: Vec<u64> = inputs.iter().map(|i| i["vout"].as_u64().unwrap()).collect();
	let outputs = commitment["vout"].as_array().unwrap();
	let value_sat =
		|vout: u64| (outputs[vout as usize]["value"].as_f64().unwrap() * 1e8).round() as u64;
	let htlc_sats: Vec<u64> = taken.iter().map(|v| value_sat(*v)).collect();
	assert!(htlc_sats.contains(&40_000) && htlc_sats.contains(&30_000), "{htlc_sats:?}");
	let justice_value: u64 = justice["vout"]
		.as_array()
		.unwrap()
		.iter()
		.map(|o| (o["value"].as_f64().unwrap() * 1e8).round() as u64)
		.sum();

	// The breach block is reorged out, bitcoind forgets both transactions, and the breach is
	// mined again: only the tower still has the justice transaction.
	let breach_hash = breach_block.parse().unwrap();
	net.bitcoind.invalidate_block(&breach_hash).await.expect("invalidateblock");
	let config = BitcoindConfig {
		rpc_port: net.bitcoind.rpc_port(),
		p2p_port: net.bitcoind.p2p_port(),
		rpc_user: net.bitcoind.rpc_user().to_string(),
		rpc_password: net.bitcoind.rpc_password().to_string(),
		..BitcoindConfig::new(net.bitcoind.datadir().to_path_buf())
	};
	let raw_commitment = commitment["hex"].as_str().unwrap().to_string();
	let _ = net.bitcoind.rpc("stop", &[]).await;
	net.wait_for("bitcoind stopped", || async { net.bitcoind.block_count().await.is_err() }).await;
	tokio::time::sleep(Duration::from_secs(2)).await;
	let _ = std::fs::remove_file(config.datadir.join("regtest").join("mempool.dat"));
	let restarted = Bitcoind::start(config).await.expect("bitcoind restarts");
	drop(std::mem::replace(&mut net.bitcoind, restarted));
	assert_eq!(net.bitcoind.mempool_size().await.unwrap(), 0);
	net.bitcoind.rpc("sendrawtransaction", &[json!(raw_commitment)]).await.expect("breach again");
	// Two blocks: a branch only wins with more work than the one the tower saw.
	net.bitcoind.rpc("generatetoaddress", &[json!(2), json!(miner)]).await.expect("mine");
	net.wait_for("the tower sends the justice transaction again", || async {
		mempool_spender(&net.bitcoind, &commitment_txid)
			.await
			.is_some_and(|tx| tx["txid"] == justice_txid.as_str())
	})
	.await;
	net.mine(1).await;
	assert_eq!(confirmations(&net.bitcoind, justice_txid.parse().unwrap()).await, 1);

	// Alice returns: the justice output is in her wallet, and she heard of the breach.
	net.start_again_with("alice", alice_index, |c| c.towers = vec![tower.local_addr().to_string()])
		.await;
	net.wait_for("the justice output in alice's wallet", || async {
		let balance = net.api("alice").balance().await.map(|b| b.onchain_confirmed_sat);
		balance.is_ok_and(|sat| sat >= onchain_before + justice_value)
	})
	.await;
	net.wait_for("breach events", || async {
		let kinds = event_kinds(&net, "alice").await;
		kinds.iter().any(|k| k == "breach_seen") && kinds.iter().any(|k| k == "breach_punished")
	})
	.await;
	tower.shutdown().await;
	net.shutdown().await;
}

/// How many records `namespace`/`secondary` holds in a stopped node's store.
fn stored_keys(node_dir: &std::path::Path, namespace: &str, secondary: &str) -> usize {
	let store = fulgur_node::store::SledStore::open(&node_dir.join("db")).expect("open the store");
	KVStoreSync::list(&store, namespace, secondary).expect("list").len()
}

/// Every payment revokes states, each leaving a record the node needs to recognise a breach;
/// once the channel is closed and the close is buried past the CSV delay, they all go.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_closed_channel_leaves_no_tower_records_behind() {
	let mut net = TestNet::new(&["alice", "bob"]).await;
	let tower = Tower::start(tower_config(net.dir.path(), &net.bitcoind)).await.expect("tower");
	give_tower(&mut net, "alice", tower.local_addr().to_string()).await;
	let channel = net.open_channel("alice", "bob", 1_000_000, 200_000_000).await;
	for round in 0..3 {
		pay(&net, "alice", "bob", 5_000_000, &format!("to bob {round}")).await;
		pay(&net, "bob", "alice", 3_000_000, &format!("to alice {round}")).await;
	}
	net.wait_for("every appointment delivered", || async {
		let towers = towers_of(&net, "alice").await;
		tower_field(&towers, "pending") == 0 && tower_field(&towers, "delivered") >= 6
	})
	.await;

	// Closed cooperatively once the last payment's monitor updates are durable (LDK refuses to
	// start a shutdown while one is in flight); the close is mined, then buried past bob's
	// to_self_delay (144).
	net.wait_for("alice's channel settled", || async {
		net.channel("alice", &channel)
			.await
			.is_some_and(|c| c.is_usable && c.updates_in_flight == 0)
	})
	.await;
	net.api("alice").close_channel(&channel, false).await.expect("close");
	net.wait_for("the closing transaction", || async {
		net.bitcoind.mempool_size().await.unwrap_or(0) > 0
	})
	.await;
	net.mine(1).await;
	net.mine(150).await;
	let tip = net.bitcoind.block_count().await.expect("height");
	net.wait_for("alice at the tip", || async {
		net.api("alice").info().await.is_ok_and(|info| info.block_height as u64 >= tip)
	})
	.await;

	let (_, alice) = net.take("alice");
	alice.stop().await;
	let alice_dir = net.dir.path().join("alice");
	let revoked = stored_keys(&alice_dir, "fulgur_tower_revoked", "");
	let staged = stored_keys(&alice_dir, "fulgur_tower_staged", &channel);
	assert_eq!((revoked, staged), (0, 0), "revoked and staged records of the closed channel");
	tower.shutdown().await;
	net.shutdown().await;
}
