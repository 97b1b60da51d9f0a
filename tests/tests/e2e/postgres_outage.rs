//! The database of a node on PostgreSQL goes away mid-payments: for a few seconds (the
//! server crashes and restarts), the node pauses and resumes, losing and duplicating nothing;
//! for longer than its lease, the node stops by itself, and starts again from the database
//! with its channel and every payment consistent.

use std::sync::Arc;
use std::time::Duration;

use fulgur_api::wire::invoices::InvoiceStatus;
use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_api::ApiClient;
use fulgur_base::throwaway_postgres::ThrowawayPostgres;
use fulgur_node::config::LeaseTiming;
use fulgur_node::StoreKind;
use fulgur_tests::TestNet;
use tokio::sync::Mutex;

/// Payments started (bob's payment hash, alice's payment id).
type Started = Arc<Mutex<Vec<(String, String)>>>;

/// Four workers paying bob's invoices from alice until told to stop (or a call fails).
fn stream_payments(
	alice: &ApiClient, bob: &ApiClient, started: &Started,
	stop: &Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
	(0..4)
		.map(|worker| {
			let (alice, bob, started, stop) =
				(alice.clone(), bob.clone(), Arc::clone(started), Arc::clone(stop));
			tokio::spawn(async move {
				for round in 0.. {
					if stop.load(std::sync::atomic::Ordering::Relaxed) {
						return;
					}
					let label = format!("w{worker} r{round}");
					let Ok(invoice) = bob.create_invoice(Some(10_000), &label, None).await else {
						return;
					};
					let req = PayRequest {
						invoice: invoice.bolt11,
						amount_msat: None,
						max_fee_msat: None,
					};
					match alice.pay(&req, false).await {
						Ok(payment) => {
							started.lock().await.push((invoice.payment_hash, payment.payment_id))
						}
						Err(_) => return,
					}
				}
			})
		})
		.collect()
}

/// Every payment started is final at alice, none failed that bob claimed, every success is
/// claimed at bob, and alice holds a record of every payment started (`exact`: and no other,
/// when no pay call could have been cut off after its record was written).
async fn check_payments(net: &TestNet, started: &[(String, String)], exact: bool) {
	let (alice, bob) = (net.api("alice"), net.api("bob"));
	net.wait_for("every payment final", || {
		let alice = alice.clone();
		async move {
			for (_, id) in started {
				match alice.get_payment(id).await {
					Ok(p) if p.status != PaymentStatus::Pending => {}
					_ => return false,
				}
			}
			true
		}
	})
	.await;
	net.wait_for("bob's record of every payment alice completed", || {
		let (alice, bob) = (alice.clone(), bob.clone());
		async move {
			for (hash, id) in started {
				let succeeded =
					alice.get_payment(id).await.is_ok_and(|p| p.status == PaymentStatus::Succeeded);
				let paid =
					bob.get_invoice(hash).await.is_ok_and(|i| i.status == InvoiceStatus::Paid);
				if succeeded && !paid {
					return false;
				}
			}
			true
		}
	})
	.await;
	for (hash, id) in started {
		let payment = alice.get_payment(id).await.expect("payment");
		let claimed = bob.get_invoice(hash).await.expect("invoice").status == InvoiceStatus::Paid;
		assert!(
			!(claimed && payment.status == PaymentStatus::Failed),
			"bob claimed {hash} but alice recorded a failure: {payment:?}"
		);
	}
	let records = alice.list_payments(&Default::default()).await.expect("payments");
	if exact {
		assert_eq!(records.total as usize, started.len(), "payments lost or recorded twice");
	} else {
		assert!(records.total as usize >= started.len(), "payments lost");
	}
}

/// How often the node's log says it stopped.
fn stops_logged(log: &std::path::Path) -> usize {
	let text = std::fs::read_to_string(log).unwrap_or_default();
	text.lines().filter(|line| line.trim_end().ends_with(" stopped")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_pauses_through_a_short_database_outage_and_stops_when_it_outlives_the_lease() {
	let server =
		tokio::task::spawn_blocking(ThrowawayPostgres::provide).await.unwrap().expect("PostgreSQL");
	let url = server.url().to_owned();
	let on_postgres = |c: &mut fulgur_node::NodeConfig| {
		c.store = StoreKind::Postgres;
		c.postgres_url = Some(url.clone());
	};
	// A lease the short outage (and the server's crash recovery, slow on a loaded machine)
	// stays well within.
	let long =
		LeaseTiming { duration: Duration::from_secs(60), renew_every: Duration::from_secs(2) };
	let mut net = TestNet::with_configs(&["alice", "bob"], |name, c| {
		if name == "alice" {
			on_postgres(c);
			c.lease = long;
		}
	})
	.await;
	let channel = net.open_channel("alice", "bob", 1_000_000, 0).await;
	let (alice, bob) = (net.api("alice"), net.api("bob"));
	let started: Started = Arc::default();

	// 1. A few seconds without the database, within the lease: alice waits.
	let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
	let workers = stream_payments(&alice, &bob, &started, &stop);
	net.wait_for("payments under way", || async { started.lock().await.len() >= 20 }).await;
	server.crash().unwrap();
	tokio::time::sleep(Duration::from_secs(3)).await;
	server.restart().unwrap();
	let resumed = started.lock().await.len() + 20;
	net.wait_for("payments resumed", || async { started.lock().await.len() >= resumed }).await;
	stop.store(true, std::sync::atomic::Ordering::Relaxed);
	for worker in workers {
		worker.await.expect("worker");
	}
	let first = started.lock().await.clone();
	check_payments(&net, &first, true).await;
	assert!(net.channel("alice", &channel).await.is_some_and(|c| c.is_usable));

	// 2. Longer than the lease: alice stops by herself, then starts again from the database.
	let short =
		LeaseTiming { duration: Duration::from_secs(4), renew_every: Duration::from_secs(1) };
	net.restart_with("alice", |c| {
		on_postgres(c);
		c.lease = short;
	})
	.await;
	let alice = net.api("alice");
	net.wait_for("the channel usable after the restart", || async {
		net.channel("alice", &channel).await.is_some_and(|c| c.is_usable)
	})
	.await;
	let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
	let workers = stream_payments(&alice, &bob, &started, &stop);
	let before = started.lock().await.len() + 10;
	net.wait_for("payments under way again", || async { started.lock().await.len() >= before })
		.await;
	let (index, running) = net.take("alice");
	let log = running.data_dir.join("fulgur.log");
	let stops_before = stops_logged(&log);
	server.crash().unwrap();
	let reason = tokio::time::timeout(Duration::from_secs(120), running.node.fenced())
		.await
		.expect("alice did not stop while the database was away longer than her lease");
	assert!(reason.contains("could not renew"), "{reason}");
	stop.store(true, std::sync::atomic::Ordering::Relaxed);
	// She stops by herself (her ports free again once she has).
	net.wait_for("alice stopped by herself", || async { stops_logged(&log) > stops_before }).await;
	running.stop().await;
	for worker in workers {
		worker.await.expect("worker");
	}
	server.restart().unwrap();
	net.start_again_with("alice", index, on_postgres).await;
	net.wait_for("the channel usable after the outage", || async {
		net.channel("alice", &channel).await.is_some_and(|c| c.is_usable)
	})
	.await;
	let all = started.lock().await.clone();
	check_payments(&net, &all, false).await;
	let invoice = bob.create_invoice(Some(50_000), "after the outage", None).await.unwrap();
	let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
	let alice = net.api("alice");
	assert_eq!(alice.pay(&req, true).await.expect("pay").status, PaymentStatus::Succeeded);
	net.shutdown().await;
	drop(server);
}
