//! Circular rebalancing on a cycle bob → carol → dave → bob: bob pays himself out through
//! bob–carol and back in through dave–bob. Both channels move by the amount (the out one by
//! the fee too), the fee is what carol's and dave's policies say, and the one record is a
//! payment of kind `rebalance`. A fee limit below the route's cost, the same channel twice,
//! an unknown channel and a read-only key are refused, and move nothing. Two channels with
//! one peer rebalance through that peer.

use fulgur_api::wire::channels::OpenChannelRequest;
use fulgur_api::wire::keys::ApiScope;
use fulgur_api::wire::payments::{PaymentDirection, PaymentKind, PaymentRecord, PaymentStatus};
use fulgur_api::wire::policy::RebalanceBody;
use fulgur_api::{ApiClient, ClientError};
use fulgur_node::config::ForwardingDefaults;
use fulgur_tests::topology::ChannelSpec;
use fulgur_tests::TestNet;

/// What bob moves.
const AMOUNT_MSAT: u64 = 50_000_000;
/// carol's policy (she forwards onto carol–dave).
const CAROL: ForwardingDefaults =
	ForwardingDefaults { fee_base_msat: 1_000, fee_ppm: 200, cltv_expiry_delta: 72 };
/// dave's policy (he forwards onto dave–bob).
const DAVE: ForwardingDefaults =
	ForwardingDefaults { fee_base_msat: 500, fee_ppm: 100, cltv_expiry_delta: 72 };

fn fee(policy: ForwardingDefaults, amount_msat: u64) -> u64 {
	u64::from(policy.fee_base_msat) + amount_msat * u64::from(policy.fee_ppm) / 1_000_000
}

/// bob's local balance on the channel `id`.
async fn bobs_balance(net: &TestNet, id: &str) -> u64 {
	net.channel("bob", id).await.expect("bob's channel").local_balance_msat
}

fn body(out: &str, into: &str, max_fee_msat: u64) -> RebalanceBody {
	RebalanceBody {
		out_channel_id: out.to_string(),
		in_channel_id: into.to_string(),
		amount_msat: AMOUNT_MSAT,
		max_fee_msat,
	}
}

fn refused(result: Result<PaymentRecord, ClientError>, status: u16, code: &str) -> String {
	match result {
		Err(ClientError::Api { status: s, code: c, message, .. }) if s == status && c == code => {
			message
		}
		other => panic!("expected {status} {code}, got {other:?}"),
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bob_moves_liquidity_around_a_cycle_for_the_fees_the_policies_predict() {
	let net = TestNet::with_configs(&["bob", "carol", "dave"], |name, config| match name {
		"carol" => config.forwarding = CAROL,
		"dave" => config.forwarding = DAVE,
		_ => {}
	})
	.await;
	let ids = net
		.open_channels(&[
			ChannelSpec::public("bob", "carol", 1_000_000),
			ChannelSpec::public("carol", "dave", 1_000_000),
			// bob has a balance above his reserve on the way in, so his balance reads exactly.
			ChannelSpec { push_msat: 100_000_000, ..ChannelSpec::public("dave", "bob", 1_000_000) },
		])
		.await;
	let (bob, out, into) = (net.api("bob"), ids[0].clone(), ids[2].clone());
	let (out_before, in_before) = (bobs_balance(&net, &out).await, bobs_balance(&net, &into).await);
	assert_eq!(in_before, 100_000_000);

	// dave takes his fee on what bob gets; carol hers on what she hands dave.
	let dave_fee = fee(DAVE, AMOUNT_MSAT);
	let expected_fee = dave_fee + fee(CAROL, AMOUNT_MSAT + dave_fee);

	// Refused, moving nothing and recording nothing.
	let message = refused(bob.rebalance(&body(&out, &into, 10)).await, 422, "route_not_found");
	assert!(message.contains("max_fee_msat 10"), "{message}");
	let just_short = expected_fee - 1;
	let message =
		refused(bob.rebalance(&body(&out, &into, just_short)).await, 422, "route_not_found");
	assert!(message.contains(&format!("max_fee_msat {just_short}")), "{message}");
	let message = refused(bob.rebalance(&body(&out, &out, 100_000)).await, 400, "invalid_request");
	assert!(message.contains("same channel"), "{message}");
	refused(bob.rebalance(&body(&out, &"ab".repeat(32), 100_000)).await, 404, "not_found");
	let reader = bob.create_api_key(ApiScope::Readonly, None).await.expect("key");
	let reader = ApiClient::new(&net.node("bob").api_url(), &reader.secret).expect("client");
	refused(reader.rebalance(&body(&out, &into, 100_000)).await, 403, "forbidden");
	assert_eq!(bob.list_payments(&Default::default()).await.expect("payments").total, 0);
	assert_eq!(bobs_balance(&net, &out).await, out_before);
	assert_eq!(bobs_balance(&net, &into).await, in_before);

	// Out through carol, in from dave, for exactly the fee the policies say.
	let record = bob.rebalance(&body(&out, &into, expected_fee)).await.expect("rebalance");
	assert_eq!(record.status, PaymentStatus::Succeeded, "{record:?}");
	assert_eq!(
		(record.kind, record.direction),
		(PaymentKind::Rebalance, PaymentDirection::Outbound)
	);
	assert_eq!(record.amount_msat, Some(AMOUNT_MSAT));
	assert_eq!(record.fee_msat, Some(expected_fee), "{record:?}");
	assert_eq!(record.destination, Some(net.node("bob").node.node_id().to_string()));
	net.wait_for("both channels moved", || async {
		bobs_balance(&net, &into).await == in_before + AMOUNT_MSAT
			&& bobs_balance(&net, &out).await == out_before - AMOUNT_MSAT - expected_fee
	})
	.await;

	// One record, the rebalance: the incoming half is not a second payment.
	let payments = bob.list_payments(&Default::default()).await.expect("payments").payments;
	assert_eq!(payments.len(), 1, "{payments:?}");
	assert_eq!(payments[0], bob.get_payment(&record.payment_id).await.expect("payment"));
	assert_eq!(payments[0].kind, PaymentKind::Rebalance);
	net.shutdown().await;
}

/// Two channels with one peer: carol takes bob's payment on one and forwards it straight back
/// over the other, for her fee on that one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_channels_with_one_peer_rebalance_through_that_peer() {
	let net = TestNet::with_configs(&["bob", "carol"], |name, config| {
		if name == "carol" {
			config.forwarding = CAROL;
		}
	})
	.await;
	let ids = net
		.open_channels(&[
			ChannelSpec::public("bob", "carol", 1_000_000),
			ChannelSpec {
				push_msat: 100_000_000,
				..ChannelSpec::public("carol", "bob", 1_000_000)
			},
		])
		.await;
	let (bob, out, into) = (net.api("bob"), ids[0].clone(), ids[1].clone());
	let (out_before, in_before) = (bobs_balance(&net, &out).await, bobs_balance(&net, &into).await);
	let expected_fee = fee(CAROL, AMOUNT_MSAT);
	let short = expected_fee - 1;
	let message = refused(bob.rebalance(&body(&out, &into, short)).await, 422, "route_not_found");
	assert!(message.contains(&format!("costs {expected_fee} msat")), "{message}");

	let record = bob.rebalance(&body(&out, &into, expected_fee)).await.expect("rebalance");
	assert_eq!(record.status, PaymentStatus::Succeeded, "{record:?}");
	assert_eq!((record.kind, record.fee_msat), (PaymentKind::Rebalance, Some(expected_fee)));
	net.wait_for("both channels moved", || async {
		bobs_balance(&net, &into).await == in_before + AMOUNT_MSAT
			&& bobs_balance(&net, &out).await == out_before - AMOUNT_MSAT - expected_fee
	})
	.await;
	net.shutdown().await;
}

/// Sends `signal` (`STOP`, `CONT`) to the child process `child`.
fn signal(child: &tokio::process::Child, signal: &str) {
	let pid = child.id().expect("child running").to_string();
	let status = std::process::Command::new("kill").args([&format!("-{signal}"), &pid]).status();
	assert!(status.expect("kill").success(), "kill -{signal} {pid}");
}

/// Blocks found while a rebalance's HTLC is on its way back to us: the node took its
/// payment's final CLTV from its view of the chain at sending, and must still take the
/// payment when it arrives a few blocks later (it once asked for exactly LDK's claim buffer
/// plus one block, so one block in between made it reject its own rebalance).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rebalance_arriving_after_new_blocks_is_taken() {
	let net = TestNet::new(&["alice"]).await;
	let crate::crash::BobPlace { dir, p2p, api_port, spec } = crate::crash::bob_place(&net);
	let mut bob = crate::crash::start_bob(&spec, &dir, api_port).await;
	let alice = net.api("alice");
	let alice_id = alice.info().await.expect("info").node_id;
	let alice_p2p = net.launch_spec("alice").2;
	// bob (a child process, outside the net's funding) gets coins to open the in channel.
	let address = bob.api.new_address_with(&Default::default()).await.expect("address").address;
	let address = fulgur::regtest::launch::parse_address(&address).expect("regtest address");
	net.bitcoind.client().mine(1, &address).await.expect("mining to bob");
	net.mine(100).await;
	net.wait_for("bob sees his coins", || async {
		bob.api.balance().await.is_ok_and(|b| b.onchain_confirmed_sat > 0)
	})
	.await;
	let open = |node_id: String, port: u16, push_msat: u64| OpenChannelRequest {
		node_id,
		address: format!("127.0.0.1:{port}"),
		amount_sat: 1_000_000,
		push_msat: Some(push_msat),
		announce: Some(false),
	};
	let out = alice.open_channel(&open(bob.node_id.clone(), p2p, 0)).await.expect("out").channel_id;
	let into = bob.api.open_channel(&open(alice_id, alice_p2p, 100_000_000)).await.expect("in");
	let into = into.channel_id;
	net.wait_for("both fundings in the mempool", || async {
		net.bitcoind.mempool_size().await.unwrap_or(0) >= 2
	})
	.await;
	net.mine(6).await;
	net.wait_for("both channels usable", || async {
		let (a, b) = (net.channel("alice", &out).await, net.channel("alice", &into).await);
		a.is_some_and(|c| c.is_usable) && b.is_some_and(|c| c.is_usable)
	})
	.await;
	let rebalance = |amount_msat: u64| RebalanceBody {
		out_channel_id: out.clone(),
		in_channel_id: into.clone(),
		amount_msat,
		max_fee_msat: 1_000_000,
	};
	// A first small one, once alice has the whole chain and bob's policy on the in channel.
	let tip = net.bitcoind.client().block_count().await.expect("height");
	net.wait_for("alice at the tip", || async {
		alice.info().await.is_ok_and(|i| u64::from(i.block_height) >= tip)
	})
	.await;
	net.wait_for("a first rebalance", || async {
		match alice.rebalance(&rebalance(1_000_000)).await {
			Ok(record) => {
				assert_eq!(record.status, PaymentStatus::Succeeded, "{record:?}");
				true
			}
			Err(ClientError::Api { code, .. }) if code == "channel_not_usable" => false,
			Err(e) => panic!("first rebalance: {e:?}"),
		}
	})
	.await;

	// bob stopped: alice's HTLC waits in his socket while blocks are found.
	let capacity = net.channel("alice", &out).await.expect("out").outbound_capacity_msat;
	let height = alice.info().await.expect("info").block_height;
	signal(&bob.child, "STOP");
	let sent = tokio::spawn({
		let (alice, body) = (alice.clone(), rebalance(AMOUNT_MSAT));
		async move { alice.rebalance(&body).await }
	});
	net.wait_for("alice's HTLC out", || async {
		net.channel("alice", &out).await.is_some_and(|c| c.outbound_capacity_msat < capacity)
	})
	.await;
	net.mine(6).await;
	net.wait_for("alice at the new height", || async {
		alice.info().await.is_ok_and(|i| i.block_height >= height + 6)
	})
	.await;
	signal(&bob.child, "CONT");
	let record = sent.await.expect("task").expect("rebalance");
	assert_eq!(record.status, PaymentStatus::Succeeded, "{record:?}");
	assert_eq!(record.kind, PaymentKind::Rebalance);
	let _ = bob.child.kill().await;
	net.shutdown().await;
}
