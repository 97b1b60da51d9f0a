//! A node on PostgreSQL (`--store postgres`) opens a channel, pays and is paid, restarts from
//! the database alone and still has its channel and its records.

use fulgur_api::wire::invoices::InvoiceStatus;
use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_base::throwaway_postgres::ThrowawayPostgres;
use fulgur_node::secrets::{restore_files, SecretsKey};
use fulgur_node::StoreKind;
use fulgur_tests::TestNet;

/// Rows the node stored under a namespace, read from the database itself.
async fn stored_rows(url: &str, primary_namespace: &str) -> i64 {
	let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
	tokio::spawn(async move {
		let _ = connection.await;
	});
	let row = client
		.query_one(
			"SELECT count(*) FROM fulgur_kv WHERE primary_namespace = $1",
			&[&primary_namespace],
		)
		.await
		.unwrap();
	row.get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_on_postgres_pays_is_paid_and_restarts_with_its_channel_and_records() {
	let server =
		tokio::task::spawn_blocking(ThrowawayPostgres::provide).await.unwrap().expect("PostgreSQL");
	let url = server.url().to_owned();
	let on_postgres = |c: &mut fulgur_node::NodeConfig| {
		c.store = StoreKind::Postgres;
		c.postgres_url = Some(url.clone());
	};
	let mut net = TestNet::with_configs(&["alice", "bob"], |name, c| {
		if name == "alice" {
			on_postgres(c);
		}
	})
	.await;
	// Bob starts with a balance too, so that he can pay alice at once.
	let channel = net.open_channel("alice", "bob", 1_000_000, 300_000_000).await;
	let opened = net.channel("alice", &channel).await.expect("channel").local_balance_msat;

	let invoice = net.api("bob").create_invoice(Some(50_000_000), "to bob", None).await.unwrap();
	let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
	let paid = net.api("alice").pay(&req, true).await.expect("alice pays");
	assert_eq!(paid.status, PaymentStatus::Succeeded);
	let incoming =
		net.api("alice").create_invoice(Some(20_000_000), "to alice", None).await.unwrap();
	let req =
		PayRequest { invoice: incoming.bolt11.clone(), amount_msat: None, max_fee_msat: None };
	let paid = net.api("bob").pay(&req, true).await.expect("bob pays alice");
	assert_eq!(paid.status, PaymentStatus::Succeeded);
	net.invoice_paid("alice", &incoming.payment_hash).await;
	// Direct payments pay no fees: once both settled, alice holds exactly this.
	let settled = opened - 50_000_000 + 20_000_000;
	net.wait_for("alice's balance shows both payments", || async {
		net.channel("alice", &channel).await.is_some_and(|c| c.local_balance_msat == settled)
	})
	.await;

	// Everything alice holds is in the database, nothing in a sled directory.
	let alice_dir = net.launch_spec("alice").0;
	assert!(!alice_dir.join("db").exists(), "a sled database appeared in {alice_dir:?}");
	assert_eq!(stored_rows(&url, "monitors").await, 1, "one channel monitor");
	assert!(
		stored_rows(&url, "fulgur_manager").await >= 2,
		"the channel manager's manifest and chunks"
	);

	// A server crash (only what was committed survives) while alice is stopped, then alice
	// starts again from the database.
	let (index, alice) = net.take("alice");
	alice.stop().await;
	server.crash().unwrap();
	server.restart().unwrap();
	net.start_again_with("alice", index, on_postgres).await;

	assert_eq!(net.api("alice").info().await.unwrap().num_channels, 1);
	net.wait_for("alice's channel usable after the restart", || async {
		net.channel("alice", &channel).await.is_some_and(|c| c.is_usable)
	})
	.await;
	let after = net.channel("alice", &channel).await.expect("channel");
	assert_eq!(after.local_balance_msat, settled);
	let payments = net.api("alice").list_payments(&Default::default()).await.unwrap();
	assert_eq!(payments.total, 1, "alice's outgoing payment record");
	let kept = net.api("alice").get_invoice(&incoming.payment_hash).await.unwrap();
	assert_eq!(kept.status, InvoiceStatus::Paid);

	let invoice = net.api("bob").create_invoice(Some(5_000_000), "after", None).await.unwrap();
	let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
	let paid = net.api("alice").pay(&req, true).await.expect("alice pays after restart");
	assert_eq!(paid.status, PaymentStatus::Succeeded);
	net.shutdown().await;
	drop(server);
}

/// With a secrets key the seed lives in the database, sealed: a node started from an empty
/// data directory on the same database and key is the same node, with its channel; under
/// another key it does not start (and creates no other seed).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_seed_sealed_in_the_database_makes_another_directory_the_same_node() {
	let server =
		tokio::task::spawn_blocking(ThrowawayPostgres::provide).await.unwrap().expect("PostgreSQL");
	let url = server.url().to_owned();
	let key = SecretsKey::from_bytes([0x5e; 32]);
	let sealed = |c: &mut fulgur_node::NodeConfig| {
		c.store = StoreKind::Postgres;
		c.postgres_url = Some(url.clone());
		c.secrets_key = Some(key.clone());
	};
	let mut net = TestNet::with_configs(&["alice", "bob"], |name, c| {
		if name == "alice" {
			sealed(c);
		}
	})
	.await;
	let channel = net.open_channel("alice", "bob", 1_000_000, 0).await;
	let node_id = net.api("alice").info().await.unwrap().node_id;
	let alice_dir = net.launch_spec("alice").0;
	assert!(!alice_dir.join("seed").exists(), "the seed was written to {alice_dir:?}");
	assert_eq!(stored_rows(&url, "fulgur_secrets").await, 1, "the sealed seed");
	// The credentials clients hold (here the API key and the Phoenixd passwords) go in too.
	let credentials = fulgur::daemon::CREDENTIAL_FILES;
	let sealed_files = net.node("alice").node.seal_files(&alice_dir, credentials).await.unwrap();
	assert_eq!(sealed_files, 3, "api_key and two Phoenixd passwords");
	assert_eq!(stored_rows(&url, "fulgur_secrets").await, 4);
	assert_eq!(net.node("alice").node.seal_files(&alice_dir, credentials).await.unwrap(), 0);

	let (index, alice) = net.take("alice");
	alice.stop().await;
	let elsewhere = fulgur_tests::test_dir();
	let (_, rpc, p2p, api) = net.launch_spec("alice");
	let other_key = |c: &mut fulgur_node::NodeConfig| {
		sealed(c);
		c.secrets_key = Some(SecretsKey::from_bytes([0x11; 32]));
	};
	let wrong_key_dir = elsewhere.path().join("wrong-key");
	std::fs::create_dir_all(&wrong_key_dir).unwrap();
	let refused = fulgur::regtest::launch::RunningNode::start_with(
		"alice",
		&wrong_key_dir,
		&rpc,
		p2p,
		api,
		other_key,
	)
	.await
	.err()
	.expect("a node under another key started");
	assert!(refused.contains("does not open"), "{refused}");
	assert_eq!(stored_rows(&url, "fulgur_secrets").await, 4, "no second seed");

	let fresh = elsewhere.path().join("standby");
	// A new directory gets the database's credentials, a different local one replaced.
	std::fs::create_dir_all(fresh.join("phoenixd")).unwrap();
	std::fs::write(fresh.join("phoenixd/password"), "not the leader's\n").unwrap();
	let restored = restore_files(&url, &key, &fresh, credentials).await.unwrap();
	assert_eq!(restored, 3);
	for file in ["api_key", "phoenixd/password", "phoenixd/limited-password"] {
		let (theirs, ours) = (std::fs::read(alice_dir.join(file)), std::fs::read(fresh.join(file)));
		assert_eq!(theirs.unwrap(), ours.unwrap(), "{file}");
	}
	assert_eq!(restore_files(&url, &key, &fresh, credentials).await.unwrap(), 0);
	let wrong = restore_files(&url, &SecretsKey::from_bytes([1; 32]), &fresh, credentials).await;
	assert!(wrong.unwrap_err().to_string().contains("does not open"));
	net.start_again_with("alice", index, |c| {
		sealed(c);
		c.data_dir = fresh.clone();
	})
	.await;
	assert_eq!(net.api("alice").info().await.unwrap().node_id, node_id, "another node");
	net.wait_for("alice's channel usable from the other directory", || async {
		net.channel("alice", &channel).await.is_some_and(|c| c.is_usable)
	})
	.await;
	let invoice = net.api("bob").create_invoice(Some(5_000_000), "after", None).await.unwrap();
	let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
	let paid = net.api("alice").pay(&req, true).await.expect("alice pays from the other directory");
	assert_eq!(paid.status, PaymentStatus::Succeeded);
	// A credential changed here after the database got its own is refused, not stored twice.
	std::fs::write(fresh.join("api_key"), "another key\n").unwrap();
	let twice = net.node("alice").node.seal_files(&fresh, credentials).await.unwrap_err();
	assert!(twice.to_string().contains("differs from the database's copy"), "{twice}");
	net.shutdown().await;
	drop(server);
}

/// A node started on a database that holds another node's state, with neither that node's
/// seed file nor its sealed seed, must not start under a new seed (its channels' keys would
/// be gone): it refuses, and the database's node is unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_holding_a_node_never_gets_a_new_seed() {
	let server =
		tokio::task::spawn_blocking(ThrowawayPostgres::provide).await.unwrap().expect("PostgreSQL");
	let url = server.url().to_owned();
	let on_postgres = |c: &mut fulgur_node::NodeConfig| {
		c.store = StoreKind::Postgres;
		c.postgres_url = Some(url.clone());
	};
	let mut net = TestNet::with_configs(&["alice", "bob"], |name, c| {
		if name == "alice" {
			on_postgres(c);
		}
	})
	.await;
	let channel = net.open_channel("alice", "bob", 1_000_000, 0).await;
	let node_id = net.api("alice").info().await.unwrap().node_id;
	let (index, alice) = net.take("alice");
	alice.stop().await;
	let elsewhere = fulgur_tests::test_dir();
	let (_, rpc, p2p, api) = net.launch_spec("alice");
	for (what, sealed) in [("no secrets key", None), ("a secrets key", Some([3u8; 32]))] {
		let dir = elsewhere.path().join(what.replace(' ', "-"));
		std::fs::create_dir_all(&dir).unwrap();
		let started =
			fulgur::regtest::launch::RunningNode::start_with("alice", &dir, &rpc, p2p, api, |c| {
				on_postgres(c);
				c.secrets_key = sealed.map(SecretsKey::from_bytes);
			})
			.await;
		let refused = match started {
			Ok(node) => {
				let other = node.node.node_id();
				node.stop().await;
				panic!("with {what}, a new directory started as {other} on alice's database")
			}
			Err(e) => e,
		};
		assert!(refused.contains("holds a node whose seed"), "{what}: {refused}");
		assert!(!dir.join("seed").exists(), "{what}: a new seed was written");
		assert_eq!(stored_rows(&url, "fulgur_secrets").await, 0, "{what}: a sealed seed");
	}
	net.start_again_with("alice", index, on_postgres).await;
	assert_eq!(net.api("alice").info().await.unwrap().node_id, node_id);
	net.wait_for("alice's channel usable", || async {
		net.channel("alice", &channel).await.is_some_and(|c| c.is_usable)
	})
	.await;
	net.shutdown().await;
	drop(server);
}
