//! Forwarding policy: alice → bob → carol over announced channels. bob starts with
//! configured defaults, which alice's first payment pays; bob raises his fee on bob→carol,
//! the `channel_update` reaches alice's graph through gossip, and alice's next payment pays
//! exactly what the new policy says; `POST /v1/channels/policy` changes every channel;
//! what cannot be set, or set so, is refused and changes nothing; a restart keeps it.

use fulgur_api::client::Method;
use fulgur_api::wire::channels::OpenChannelRequest;
use fulgur_api::wire::keys::ApiScope;
use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_api::wire::policy::{ForwardingPolicy, PolicyUpdateBody};
use fulgur_api::wire::routing::ChannelPolicy;
use fulgur_api::wire::utilities::DecodedInvoice;
use fulgur_api::{ApiClient, ClientError};
use fulgur_node::config::ForwardingDefaults;
use fulgur_tests::topology::ChannelSpec;
use fulgur_tests::TestNet;

/// What alice pays carol each time.
const AMOUNT_MSAT: u64 = 10_000_000;

/// The fee a node with this policy charges to forward `amount_msat` (BOLT 7).
fn fee(base_msat: u32, ppm: u32, amount_msat: u64) -> u64 {
	u64::from(base_msat) + amount_msat * u64::from(ppm) / 1_000_000
}

/// bob's direction of channel `scid` in `viewer`'s graph.
async fn bobs_direction(net: &TestNet, viewer: &str, scid: &str) -> Option<ChannelPolicy> {
	let channel = net.api(viewer).graph_channel(scid).await.ok()?;
	let bob = net.node("bob").node.node_id().to_string();
	if channel.node_one == bob {
		channel.one_to_two
	} else {
		channel.two_to_one
	}
}

/// alice pays carol [`AMOUNT_MSAT`] and answers the fee she paid. Any route hint carol's
/// invoice carries names the announced channel `scid` by its own id, the one alice's graph
/// has (under an alias, a hint with bob's fee as carol last saw it would win over the graph).
async fn alice_pays_carol(net: &TestNet, what: &str, scid: &str) -> u64 {
	let carol = net.api("carol");
	let invoice = carol.create_invoice(Some(AMOUNT_MSAT), what, None).await.expect("invoice");
	let body = serde_json::json!({ "invoice": invoice.bolt11 });
	let decoded = carol.request(Method::POST, "/v1/decode", Some(body)).await.expect("decode");
	let decoded: DecodedInvoice = serde_json::from_value(decoded).expect("decoded invoice");
	for hop in decoded.route_hints.iter().flatten() {
		assert_eq!(hop.short_channel_id, scid, "{what}: a hint not by the channel's id: {hop:?}");
	}
	let req = PayRequest { invoice: invoice.bolt11.clone(), amount_msat: None, max_fee_msat: None };
	let paid = net.api("alice").pay(&req, true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	net.invoice_paid("carol", &invoice.payment_hash).await;
	paid.fee_msat.expect("fee known")
}

fn bad_request(result: Result<ForwardingPolicy, ClientError>, what: &str) -> String {
	match result {
		Err(ClientError::Api { status: 400, code, message, .. }) => {
			assert_eq!(code, "invalid_request", "{what}: {message}");
			message
		}
		other => panic!("{what} accepted: {other:?}"),
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fee_change_reaches_the_payer_through_gossip_and_is_what_it_pays() {
	let defaults = ForwardingDefaults { fee_base_msat: 1_500, fee_ppm: 10, cltv_expiry_delta: 80 };
	let net = TestNet::with_configs(&["alice", "bob", "carol"], |name, config| {
		if name == "bob" {
			config.forwarding = defaults;
		}
	})
	.await;
	let ids = net
		.open_channels(&[
			ChannelSpec::public("alice", "bob", 1_000_000),
			ChannelSpec::public("bob", "carol", 1_000_000),
		])
		.await;
	let (bob, bob_alice, bob_carol) = (net.api("bob"), ids[0].clone(), ids[1].clone());

	// The configured defaults: what bob's channels say, what alice's graph has, what she pays.
	let channel = bob.get_channel(&bob_carol).await.expect("channel");
	let policy = channel.policy;
	assert_eq!(
		(policy.fee_base_msat, policy.fee_ppm, policy.cltv_expiry_delta),
		(1_500, 10, 80),
		"{policy:?}"
	);
	assert!(policy.htlc_minimum_msat.is_some(), "{policy:?}");
	let max = policy.htlc_maximum_msat.expect("htlc maximum");
	assert!(max > 0 && max <= 900_000_000, "at most 90% of the capacity: {policy:?}");
	let scid = channel.short_channel_id.clone().expect("scid");
	net.wait_for("bob's default policy in alice's graph", || async {
		bobs_direction(&net, "alice", &scid).await.is_some_and(|p| p.base_fee_msat == 1_500)
	})
	.await;
	let gossiped = bobs_direction(&net, "alice", &scid).await.expect("bob's direction");
	assert_eq!((gossiped.fee_ppm, gossiped.cltv_expiry_delta), (10, 80), "{gossiped:?}");
	assert_eq!(Some(gossiped.htlc_maximum_msat), policy.htlc_maximum_msat, "{gossiped:?}");
	assert_eq!(Some(gossiped.htlc_minimum_msat), policy.htlc_minimum_msat, "{gossiped:?}");
	assert_eq!(alice_pays_carol(&net, "before", &scid).await, fee(1_500, 10, AMOUNT_MSAT));

	// bob raises his fee on bob→carol: the answer is the new policy, and so is the channel.
	let raise = PolicyUpdateBody {
		fee_base_msat: Some(2_000),
		fee_ppm: Some(500),
		cltv_expiry_delta: Some(100),
		..Default::default()
	};
	let raised = bob.update_channel_policy(&bob_carol, &raise).await.expect("raise");
	assert_eq!((raised.fee_base_msat, raised.fee_ppm, raised.cltv_expiry_delta), (2_000, 500, 100));
	assert_eq!(bob.get_channel(&bob_carol).await.expect("channel").policy, raised);
	let untouched = bob.get_channel(&bob_alice).await.expect("channel").policy;
	assert_eq!((untouched.fee_base_msat, untouched.fee_ppm), (1_500, 10), "{untouched:?}");

	// Gossip carries it to alice's graph; her next payment pays what it says.
	net.wait_for("bob's new fee in alice's graph", || async {
		bobs_direction(&net, "alice", &scid).await.is_some_and(|p| p.fee_ppm == 500)
	})
	.await;
	let gossiped = bobs_direction(&net, "alice", &scid).await.expect("bob's direction");
	assert_eq!((gossiped.base_fee_msat, gossiped.cltv_expiry_delta), (2_000, 100), "{gossiped:?}");
	let paid = alice_pays_carol(&net, "after", &scid).await;
	assert_eq!(paid, fee(2_000, 500, AMOUNT_MSAT), "the new policy's fee");

	// Refused, each with a clear 400, changing nothing.
	let fixed_min = PolicyUpdateBody { htlc_minimum_msat: Some(5_000), ..Default::default() };
	let message = bad_request(bob.update_channel_policy(&bob_carol, &fixed_min).await, "min");
	assert!(message.contains("htlc_minimum_msat cannot be changed"), "{message}");
	let fixed_max =
		PolicyUpdateBody { fee_ppm: Some(1), htlc_maximum_msat: Some(5_000), ..Default::default() };
	let message = bad_request(bob.update_channel_policy(&bob_carol, &fixed_max).await, "max");
	assert!(message.contains("htlc_maximum_msat cannot be changed"), "{message}");
	let low_cltv = PolicyUpdateBody { cltv_expiry_delta: Some(10), ..Default::default() };
	let message = bad_request(bob.update_channel_policy(&bob_carol, &low_cltv).await, "cltv");
	assert!(message.contains("cltv_expiry_delta must be between 48"), "{message}");
	let nothing = PolicyUpdateBody::default();
	bad_request(bob.update_channel_policy(&bob_carol, &nothing).await, "empty");
	assert_eq!(bob.get_channel(&bob_carol).await.expect("channel").policy, raised);
	match bob.update_channel_policy(&"ab".repeat(32), &raise).await {
		Err(ClientError::Api { status: 404, .. }) => {}
		other => panic!("unknown channel: {other:?}"),
	}
	let reader = bob.create_api_key(ApiScope::Readonly, None).await.expect("key");
	let reader = ApiClient::new(&net.node("bob").api_url(), &reader.secret).expect("client");
	match reader.update_channel_policy(&bob_carol, &raise).await {
		Err(ClientError::Api { status: 403, .. }) => {}
		other => panic!("a read-only key changed a policy: {other:?}"),
	}

	// Every channel at once; a second time nothing is left to change.
	let all = PolicyUpdateBody { fee_ppm: Some(42), ..Default::default() };
	assert_eq!(bob.update_all_policies(&all).await.expect("all").changed, 2);
	for channel in bob.list_channels().await.expect("channels") {
		assert_eq!(channel.policy.fee_ppm, 42, "{channel:?}");
	}
	let kept = bob.get_channel(&bob_carol).await.expect("channel").policy;
	assert_eq!((kept.fee_base_msat, kept.cltv_expiry_delta), (2_000, 100), "other fields kept");
	assert_eq!(bob.update_all_policies(&all).await.expect("again").changed, 0);
	net.wait_for("the policy of every channel in alice's graph", || async {
		bobs_direction(&net, "alice", &scid).await.is_some_and(|p| p.fee_ppm == 42)
	})
	.await;

	// The policy is the channel's, kept across a restart (the defaults apply to new channels).
	let mut net = net;
	net.restart("bob").await;
	let after = net.api("bob").get_channel(&bob_carol).await.expect("channel").policy;
	assert_eq!((after.fee_base_msat, after.fee_ppm, after.cltv_expiry_delta), (2_000, 42, 100));
	net.shutdown().await;
}

/// A policy change that was answered is on disk: bob, killed (SIGKILL) right after each
/// answer, comes back with the policy he answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_answered_policy_change_survives_a_kill() {
	let net = TestNet::new(&["alice"]).await;
	let crate::crash::BobPlace { dir: bob_dir, p2p, api_port, spec } =
		crate::crash::bob_place(&net);
	let mut bob = crate::crash::start_bob(&spec, &bob_dir, api_port).await;
	let opened = net
		.api("alice")
		.open_channel(&OpenChannelRequest {
			node_id: bob.node_id.clone(),
			address: format!("127.0.0.1:{p2p}"),
			amount_sat: 1_000_000,
			push_msat: Some(0),
			announce: Some(false),
		})
		.await
		.expect("open");
	net.wait_for("funding in the mempool", || async {
		net.bitcoind.mempool_size().await.unwrap_or(0) > 0
	})
	.await;
	net.mine(6).await;
	let id = opened.channel_id;
	net.wait_for("the channel ready at bob", || async {
		bob.api.get_channel(&id).await.is_ok_and(|c| c.state != "pending")
	})
	.await;
	for round in 1..=5u32 {
		let update = PolicyUpdateBody {
			fee_base_msat: Some(round),
			fee_ppm: Some(100 * round),
			..Default::default()
		};
		let answered = bob.api.update_channel_policy(&id, &update).await.expect("policy");
		assert_eq!((answered.fee_base_msat, answered.fee_ppm), (round, 100 * round));
		bob.child.kill().await.expect("SIGKILL bob");
		bob = crate::crash::start_bob(&spec, &bob_dir, api_port).await;
		let after = bob.api.get_channel(&id).await.expect("bob's channel").policy;
		assert_eq!(after, answered, "round {round}: bob lost the policy he answered");
	}
	drop(bob);
	net.shutdown().await;
}
