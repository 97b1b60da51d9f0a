use super::*;
use bitcoin::ScriptBuf;
use serde_json::json;
use std::str::FromStr;

use bitcoin::absolute::LockTime;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, Sequence, TxIn, TxOut, Witness};

/// Generous: up to a handful of bitcoinds start at once on 2 cores.
const TEST_TIMEOUT: Duration = Duration::from_secs(120);

async fn start(datadir: &Path) -> Bitcoind {
	let started = Instant::now();
	let bitcoind = Bitcoind::start(BitcoindConfig::new(datadir)).await.unwrap();
	eprintln!("bitcoind started in {:?} ({})", started.elapsed(), datadir.display());
	bitcoind
}

async fn timed<F: std::future::Future>(f: F) -> F::Output {
	tokio::time::timeout(TEST_TIMEOUT, f).await.expect("test timed out")
}

#[test]
fn passwords_and_ports_are_fresh() {
	let (a, b) = (random_hex(16), random_hex(16));
	assert_eq!(a.len(), 32);
	assert_ne!(a, b);
	let ports: HashSet<u16> = (0..50).map(|_| free_port().unwrap()).collect();
	assert_eq!(ports.len(), 50);
	assert!(anyone_can_spend_address().to_string().starts_with("bcrt1q"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mine_stop_and_restart_keeps_the_chain() {
	timed(async {
		let dir = tempfile::tempdir().unwrap();
		let bitcoind = start(dir.path()).await;
		assert_eq!(bitcoind.block_count().await.unwrap(), 0);
		assert_eq!(bitcoind.rpc_url(), format!("http://127.0.0.1:{}", bitcoind.rpc_port()));

		let started = Instant::now();
		let hashes = bitcoind.mine(101, &anyone_can_spend_address()).await.unwrap();
		eprintln!("mined 101 blocks in {:?}", started.elapsed());
		assert_eq!(hashes.len(), 101);
		assert_eq!(bitcoind.block_count().await.unwrap(), 101);
		let tip = bitcoind.rpc("getbestblockhash", &[]).await.unwrap();
		assert_eq!(tip.as_str().unwrap(), hashes[100].to_string());

		let (rpc_port, p2p_port) = (bitcoind.rpc_port(), bitcoind.p2p_port());
		let started = Instant::now();
		bitcoind.stop().await.unwrap();
		eprintln!("bitcoind stopped in {:?}", started.elapsed());

		// `fulgur regtest up` restarts with the ports and password it saved, straight away.
		let mut config = BitcoindConfig::new(dir.path());
		config.rpc_port = rpc_port;
		config.p2p_port = p2p_port;
		config.rpc_password = "saved".to_string();
		let started = Instant::now();
		let bitcoind = Bitcoind::start(config).await.unwrap();
		eprintln!("bitcoind restarted in {:?}", started.elapsed());
		assert_eq!((bitcoind.rpc_port(), bitcoind.p2p_port()), (rpc_port, p2p_port));
		assert_eq!(bitcoind.block_count().await.unwrap(), 101);
		let tip = bitcoind.rpc("getbestblockhash", &[]).await.unwrap();
		assert_eq!(tip.as_str().unwrap(), hashes[100].to_string());
		bitcoind.stop().await.unwrap();
	})
	.await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_run_side_by_side() {
	timed(async {
		let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
		let (a, b) = tokio::join!(start(dir_a.path()), start(dir_b.path()));
		let ports = HashSet::from([a.rpc_port(), a.p2p_port(), b.rpc_port(), b.p2p_port()]);
		assert_eq!(ports.len(), 4);
		a.mine_empty(5).await.unwrap();
		b.mine_empty(3).await.unwrap();
		assert_eq!(a.block_count().await.unwrap(), 5);
		assert_eq!(b.block_count().await.unwrap(), 3);

		// The standalone client reaches the same process through the public URL.
		let client = BitcoindRpc::new(&b.rpc_url(), b.rpc_user(), b.rpc_password()).unwrap();
		client.mine_empty(2).await.unwrap();
		assert_eq!(client.block_count().await.unwrap(), 5);
		assert_eq!(b.block_count().await.unwrap(), 5);

		let wrong = BitcoindRpc::new(&b.rpc_url(), b.rpc_user(), "wrong").unwrap();
		assert!(wrong.block_count().await.is_err());

		let (stop_a, stop_b) = tokio::join!(a.stop(), b.stop());
		stop_a.unwrap();
		stop_b.unwrap();
	})
	.await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_network_check_and_cookie_login_against_bitcoind() {
	use fulgur_base::bitcoind::{check_network, connect, rpc_client, NetworkCheckError, RpcAuth};
	timed(async {
		let dir = tempfile::tempdir().unwrap();
		let bitcoind = start(&dir.path().join("bitcoind")).await;
		let url = bitcoind.rpc_url();
		let rpc = rpc_client(&url, bitcoind.rpc_user(), bitcoind.rpc_password()).unwrap();
		check_network(&rpc, bitcoin::Network::Regtest, "node").await.unwrap();
		let e = check_network(&rpc, bitcoin::Network::Bitcoin, "tower").await.unwrap_err();
		assert_eq!(e.to_string(), "bitcoind is on regtest, the tower is configured for main");

		// A cookie file holds `user:password`, as bitcoind's own `.cookie` does.
		let cookie = dir.path().join("cookie");
		let login = format!("{}:{}\n", bitcoind.rpc_user(), bitcoind.rpc_password());
		std::fs::write(&cookie, login).unwrap();
		let by_cookie = connect(&url, &RpcAuth::Cookie(cookie.clone())).unwrap();
		check_network(&by_cookie, bitcoin::Network::Regtest, "node").await.unwrap();
		std::fs::write(&cookie, format!("{}:stale", bitcoind.rpc_user())).unwrap();
		let stale = connect(&url, &RpcAuth::Cookie(cookie)).unwrap();
		let e = check_network(&stale, bitcoin::Network::Regtest, "node").await.unwrap_err();
		assert!(matches!(e, NetworkCheckError::NoAnswer(_)), "{e}");
		bitcoind.stop().await.unwrap();
	})
	.await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidate_block_lowers_the_height() {
	timed(async {
		let dir = tempfile::tempdir().unwrap();
		let bitcoind = start(dir.path()).await;
		let hashes = bitcoind.mine_empty(10).await.unwrap();
		bitcoind.invalidate_block(&hashes[5]).await.unwrap();
		assert_eq!(bitcoind.block_count().await.unwrap(), 5);
		bitcoind.reconsider_block(&hashes[5]).await.unwrap();
		assert_eq!(bitcoind.block_count().await.unwrap(), 10);
		// Dropping without stop() must kill the process rather than leak it.
		let pid = bitcoind.child.id();
		drop(bitcoind);
		assert!(!Path::new(&format!("/proc/{pid}")).exists());
	})
	.await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_start_on_a_running_datadir_fails_fast() {
	timed(async {
		let dir = tempfile::tempdir().unwrap();
		let first = start(dir.path()).await;
		let started = Instant::now();
		let err = match Bitcoind::start(BitcoindConfig::new(dir.path())).await {
			Ok(_) => panic!("second bitcoind on the same datadir started"),
			Err(e) => e,
		};
		eprintln!("second start failed after {:?}: {err}", started.elapsed());
		assert_eq!(err.kind(), io::ErrorKind::ResourceBusy);
		assert!(err.to_string().contains("Cannot obtain a lock"), "{err}");
		assert!(started.elapsed() < Duration::from_secs(20));
		// The first instance is unharmed.
		first.mine_empty(1).await.unwrap();
		assert_eq!(first.block_count().await.unwrap(), 1);
		first.stop().await.unwrap();
	})
	.await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_explicit_ports_fail_with_addr_in_use() {
	timed(async {
		let held = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
		let taken = held.local_addr().unwrap().port();
		for rpc in [true, false] {
			let dir = tempfile::tempdir().unwrap();
			let mut config = BitcoindConfig::new(dir.path());
			config.rpc_port = if rpc { taken } else { free_port().unwrap() };
			config.p2p_port = if rpc { free_port().unwrap() } else { taken };
			let started = Instant::now();
			let err = match Bitcoind::start(config).await {
				Ok(_) => panic!("bitcoind started on a taken port"),
				Err(e) => e,
			};
			eprintln!("taken port (rpc: {rpc}) failed after {:?}: {err}", started.elapsed());
			assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
		}
	})
	.await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_errors_carry_bitcoinds_message_and_broadcast_works() {
	timed(async {
		let dir = tempfile::tempdir().unwrap();
		let bitcoind = start(dir.path()).await;

		let err = bitcoind.rpc("getblockhash", &[json!(1000)]).await.unwrap_err();
		assert!(err.to_string().contains("Block height out of range"), "{err}");
		let err = bitcoind.rpc("nosuchmethod", &[]).await.unwrap_err();
		assert!(err.to_string().contains("Method not found"), "{err}");

		// Spend the first coinbase, mature after 100 more blocks, with the OP_TRUE witness.
		let hashes = bitcoind.mine_empty(101).await.unwrap();
		let block = bitcoind.rpc("getblock", &[json!(hashes[0].to_string()), json!(1)]).await;
		let coinbase = Txid::from_str(block.unwrap()["tx"][0].as_str().unwrap()).unwrap();
		let tx = Transaction {
			version: Version::TWO,
			lock_time: LockTime::ZERO,
			input: vec![TxIn {
				previous_output: OutPoint::new(coinbase, 0),
				script_sig: ScriptBuf::new(),
				sequence: Sequence::MAX,
				witness: Witness::from_slice(&[anyone_can_spend_script().into_bytes()]),
			}],
			output: vec![TxOut {
				value: Amount::from_btc(49.999).unwrap(),
				script_pubkey: anyone_can_spend_address().script_pubkey(),
			}],
		};
		let txid = bitcoind.send_raw_transaction(&tx).await.unwrap();
		assert_eq!(txid, tx.compute_txid());
		bitcoind.mine_empty(1).await.unwrap();
		// -txindex lets getrawtransaction find it without a block hash.
		let found = bitcoind.rpc("getrawtransaction", &[json!(txid.to_string()), json!(1)]).await;
		assert_eq!(found.unwrap()["confirmations"].as_u64(), Some(1));
		bitcoind.stop().await.unwrap();
	})
	.await
}

/// The build's install path, exercised without changing the machine: with cmake hidden from
/// `PATH`, `bitcoind.sh --check-deps` names cmake and says what provisioning would do (as
/// root with apt-get: install it; otherwise: the command to run).
#[test]
fn check_deps_names_a_cmake_hidden_from_path() {
	let hidden = tempfile::tempdir().unwrap();
	// Every program on PATH but cmake, linked into one directory (the first of a name wins).
	let path = std::env::var_os("PATH").unwrap_or_default();
	for dir in std::env::split_paths(&path) {
		let Ok(entries) = std::fs::read_dir(&dir) else { continue };
		for entry in entries.flatten() {
			if entry.file_name() != "cmake" {
				let _ =
					std::os::unix::fs::symlink(entry.path(), hidden.path().join(entry.file_name()));
			}
		}
	}
	let output = Command::new("bash")
		.arg("-c")
		.arg(crate::packages::with_packages_script(PROVISION_SCRIPT))
		.args(["bitcoind.sh", "--check-deps"])
		.env("PATH", hidden.path())
		.stdin(Stdio::null())
		.output()
		.unwrap();
	let stderr = String::from_utf8_lossy(&output.stderr);
	let root = Command::new("id").arg("-u").output().unwrap().stdout.starts_with(b"0\n");
	let apt = hidden.path().join("apt-get").exists();
	let expected =
		if root && apt { "bitcoind.sh: would install " } else { "bitcoind.sh: missing " };
	let line = stderr.lines().find(|l| l.starts_with(expected));
	assert!(
		line.is_some_and(|l| l.contains("cmake") && l.contains("(needed to build bitcoind)")),
		"expected a line starting {expected:?} naming cmake; stderr: {stderr}"
	);
	assert_eq!(output.status.success(), root && apt, "{output:?}");
	assert!(output.stdout.is_empty(), "nothing provisioned: {output:?}");
}
