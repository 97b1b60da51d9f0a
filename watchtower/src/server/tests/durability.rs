//! An acknowledged appointment survives a SIGKILL of the tower: the tower runs in a child
//! process (this test binary, re-executed), takes appointments over kept-alive HTTP from many
//! senders at once, and is killed while they are in flight; every appointment it answered is
//! in its database when it is opened again.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::*;
use crate::client::TowerClient;

/// Set (to the tower's directory) when this test binary runs as the tower to kill.
const CHILD_ENV: &str = "FULGUR_TOWER_CRASH_CHILD";
const SENDERS: u64 = 32;
/// Acknowledgements to collect before the kill.
const ACKS_BEFORE_KILL: usize = 3_000;

fn crash_options() -> TowerOptions {
	let mut options = options();
	options.subscription.slots = 1_000_000;
	options.subscription.duration = 1_000_000;
	options.caps.max_slots_per_user = 1_000_000;
	options
}

/// Child side: a tower on a real port, until it is killed.
fn tower_child(dir: &str) {
	let runtime =
		tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
	runtime.block_on(async {
		let recorder: Arc<Recorder> = Arc::default();
		let core =
			TowerCore::open(dir.as_ref(), &crash_options(), recorder, Arc::default()).unwrap();
		let server = core.serve("127.0.0.1:0".parse().unwrap()).unwrap();
		println!("PORT {}", server.local_addr().port());
		std::future::pending::<()>().await;
	});
}

#[test]
fn an_acknowledged_appointment_survives_a_sigkill_of_the_tower() {
	if let Ok(dir) = std::env::var(CHILD_ENV) {
		return tower_child(&dir);
	}
	let dir = tempfile::tempdir().unwrap();
	let full =
		concat!(module_path!(), "::an_acknowledged_appointment_survives_a_sigkill_of_the_tower");
	let name = full.split_once("::").map_or(full, |(_, rest)| rest);
	let mut child = Command::new(std::env::current_exe().unwrap())
		.args(["--exact", name, "--nocapture", "--test-threads=1"])
		.env(CHILD_ENV, dir.path())
		.stdout(Stdio::piped())
		.stderr(Stdio::null())
		.spawn()
		.unwrap();
	let stdout = child.stdout.take().unwrap();
	let port: u16 = std::io::BufReader::new(stdout)
		.lines()
		.map_while(Result::ok)
		.find_map(|line| {
			// libtest's `test <name> ... ` precedes the line on the same row.
			line.split_once("PORT ").map(|(_, port)| port.trim().parse().unwrap())
		})
		.expect("the tower child exited before listening");

	let runtime =
		tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
	let acked: Arc<Mutex<Vec<u64>>> = Arc::default();
	runtime.block_on(async {
		let client = TowerClient::new(&format!("http://127.0.0.1:{port}"));
		client.register(UserId::from_secret_key(&user_sk(1))).await.unwrap();
		let (kill, killed) = tokio::sync::watch::channel(false);
		let senders: Vec<_> = (0..SENDERS)
			.map(|sender| {
				let (client, acked, killed) = (client.clone(), Arc::clone(&acked), killed.clone());
				tokio::spawn(async move {
					for n in (sender..).step_by(SENDERS as usize) {
						let request = appointment_for(&dispute_tx(n), &user_sk(1));
						match client.add_appointment(&request).await {
							Ok(_) => acked.lock().unwrap().push(n),
							// The tower is gone: every answer that came is counted.
							Err(_) if *killed.borrow() => return,
							Err(e) => panic!("appointment {n} refused before the kill: {e}"),
						}
					}
				})
			})
			.collect();
		// Kill while every sender has a request in flight.
		while acked.lock().unwrap().len() < ACKS_BEFORE_KILL {
			assert!(!senders.iter().all(|s| s.is_finished()), "every sender stopped");
			tokio::time::sleep(std::time::Duration::from_millis(1)).await;
		}
		let _ = kill.send(true);
		child.kill().unwrap();
		child.wait().unwrap();
		for sender in senders {
			sender.await.unwrap();
		}
	});
	drop(runtime);

	let acked = acked.lock().unwrap().clone();
	let recorder: Arc<Recorder> = Arc::default();
	let core = TowerCore::open(dir.path(), &crash_options(), recorder, Arc::default()).unwrap();
	let user = UserId::from_secret_key(&user_sk(1));
	assert!(core.gatekeeper.is_registered(&user), "the acknowledged registration was lost");
	let lost: Vec<u64> = acked
		.iter()
		.copied()
		.filter(|n| {
			let locator = crate::locator::Locator::from_txid(&dispute_tx(*n).compute_txid());
			core.db.appointment(&locator, &user).unwrap().is_none()
		})
		.collect();
	assert!(
		lost.is_empty(),
		"{} of {} acknowledged appointments lost after the SIGKILL, e.g. {:?}",
		lost.len(),
		acked.len(),
		&lost[..lost.len().min(10)]
	);
}
