//! Payments over the gossiped graph: six nodes with two disjoint paths from alice to frank
//! (alice-bob-carol-frank and alice-dave-erin-frank), and grace behind a private channel of
//! frank's. Three hops, a payment split over both paths, route hints, a fee limit, and a node
//! of the preferred path going down.

use fulgur_api::wire::invoices::InvoiceStatus;
use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_api::wire::routing::RoutesRequest;
use fulgur_api::ClientError;
use fulgur_tests::topology::ChannelSpec;
use fulgur_tests::TestNet;

/// Capacity of each channel beyond alice's: a path carries a little less than this.
const PATH_SAT: u64 = 600_000;

fn topology() -> Vec<ChannelSpec> {
	vec![
		ChannelSpec::public("alice", "bob", 1_500_000),
		ChannelSpec::public("alice", "dave", 1_500_000),
		ChannelSpec::public("bob", "carol", PATH_SAT),
		ChannelSpec::public("carol", "frank", PATH_SAT),
		ChannelSpec::public("dave", "erin", PATH_SAT),
		ChannelSpec::public("erin", "frank", PATH_SAT),
		ChannelSpec::private("frank", "grace", 200_000),
	]
}

fn pay(invoice: &str, max_fee_msat: Option<u64>) -> PayRequest {
	PayRequest { invoice: invoice.to_string(), amount_msat: None, max_fee_msat }
}

fn by_invoice(invoice: &str) -> RoutesRequest {
	RoutesRequest { invoice: Some(invoice.to_string()), ..Default::default() }
}

/// alice's local balance on each of her channels, by counterparty name.
async fn alice_balances(net: &TestNet) -> Vec<(String, u64)> {
	let channels = net.api("alice").list_channels().await.expect("channels");
	let mut out = Vec::new();
	for channel in channels {
		let name = ["bob", "dave"]
			.into_iter()
			.find(|n| net.node(n).node.node_id().to_string() == channel.counterparty_node_id)
			.expect("alice's counterparty");
		out.push((name.to_string(), channel.local_balance_msat));
	}
	out.sort();
	out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pays_over_hops_splits_follows_hints_and_routes_around_a_dead_node() {
	let names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace"];
	let mut net = TestNet::new(&names).await;
	net.open_channels(&topology()).await;
	let (alice, frank, grace) = (net.api("alice"), net.api("frank"), net.api("grace"));
	let frank_id = net.node("frank").node.node_id().to_string();

	// The graph: every announced channel, checked against the chain; the private one is not.
	let graph = alice.graph().await.expect("graph");
	assert_eq!(graph.channel_count, 6, "{graph:?}");
	assert_eq!(graph.channel_count_both_directions, 6, "{graph:?}");
	assert!(graph.node_count >= 6, "{graph:?}");
	let frank_in_graph = alice.graph_node(&frank_id).await.expect("frank in the graph");
	assert_eq!(frank_in_graph.channels.len(), 2, "{frank_in_graph:?}");
	let bob_channel = &alice.list_channels().await.expect("channels")[0];
	let scid = bob_channel.short_channel_id.clone().expect("scid");
	let channel = alice.graph_channel(&scid).await.expect("channel in the graph");
	assert_eq!(channel.capacity_sat, Some(1_500_000));
	assert!(channel.one_to_two.is_some() && channel.two_to_one.is_some(), "{channel:?}");
	let grace_id = net.node("grace").node.node_id().to_string();
	match alice.graph_node(&grace_id).await {
		Err(ClientError::Api { status: 404, .. }) => {}
		other => panic!("grace is only behind a private channel: {other:?}"),
	}

	// Candidate routes: three hops each, over disjoint paths, with fees and CLTV.
	let invoice = frank.create_invoice(Some(100_000_000), "three hops", None).await.expect("inv");
	let routes = alice.find_routes(&by_invoice(&invoice.bolt11)).await.expect("routes");
	assert!(routes.routes.len() >= 2, "{routes:?}");
	let best = &routes.routes[0];
	assert_eq!(best.paths.len(), 1, "{best:?}");
	let hops = &best.paths[0].hops;
	assert_eq!(hops.len(), 3, "{hops:?}");
	assert_eq!(hops[2].node_id, frank_id);
	assert!(best.fee_msat > 0 && best.total_cltv_expiry_delta > 0, "{best:?}");
	assert!(best.success_probability > 0.0 && best.success_probability <= 1.0, "{best:?}");
	let second_hops = &routes.routes[1].paths[0].hops;
	assert_ne!(hops[0].node_id, second_hops[0].node_id, "{routes:?}");

	// A payment over three hops pays the fee the route showed.
	let paid = alice.pay(&pay(&invoice.bolt11, None), true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	assert_eq!(paid.fee_msat, Some(best.fee_msat), "{paid:?}");

	// A fee limit below the cheapest route: a clear error, and nothing leaves alice.
	let before = alice_balances(&net).await;
	let invoice = frank.create_invoice(Some(50_000_000), "too cheap", None).await.expect("inv");
	let refused = alice.pay(&pay(&invoice.bolt11, Some(500)), true).await;
	match &refused {
		Err(ClientError::Api { code, message, .. }) => {
			assert_eq!(code, "route_not_found", "{refused:?}");
			assert!(message.contains("max_fee_msat"), "{refused:?}");
		}
		Ok(record) => assert_eq!(record.status, PaymentStatus::Failed, "{record:?}"),
		Err(e) => panic!("{e}"),
	}
	assert_eq!(alice_balances(&net).await, before);
	assert_eq!(frank.get_invoice(&invoice.payment_hash).await.expect("inv").status, {
		InvoiceStatus::Open
	});

	// grace, behind frank's private channel, is reached through her invoice's route hint.
	let invoice = grace.create_invoice(Some(30_000_000), "behind a hint", None).await.expect("i");
	let routes = alice.find_routes(&by_invoice(&invoice.bolt11)).await.expect("routes");
	let last = routes.routes[0].paths[0].hops.last().cloned().expect("a hop");
	assert_eq!(last.node_id, grace_id);
	assert!(!last.announced, "{last:?}");
	let paid = alice.pay(&pay(&invoice.bolt11, None), true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	let seen = net.invoice_paid("grace", &invoice.payment_hash).await;
	assert_eq!(seen.status, InvoiceStatus::Paid);

	// More than either path carries: split over both.
	let amount_msat = (PATH_SAT * 4 / 3) * 1000;
	let invoice = frank.create_invoice(Some(amount_msat), "split", None).await.expect("inv");
	let routes = alice.find_routes(&by_invoice(&invoice.bolt11)).await.expect("routes");
	assert!(routes.routes[0].paths.len() >= 2, "{routes:?}");
	let before = alice_balances(&net).await;
	let paid = alice.pay(&pay(&invoice.bolt11, None), true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	let after = alice_balances(&net).await;
	for ((name, was), (_, is)) in before.iter().zip(&after) {
		assert!(
			is < was,
			"the channel to {name} carried part of the payment: {before:?} {after:?}"
		);
	}
	let seen = frank.get_invoice(&invoice.payment_hash).await.expect("invoice");
	assert_eq!(seen.amount_received_msat, Some(amount_msat));

	// The second node of the preferred path goes down; the payment goes the other way.
	let invoice = frank.create_invoice(Some(20_000_000), "detour", None).await.expect("inv");
	let routes = alice.find_routes(&by_invoice(&invoice.bolt11)).await.expect("routes");
	let preferred = routes.routes[0].paths[0].hops[1].node_id.clone();
	let down = ["carol", "erin"]
		.into_iter()
		.find(|n| net.node(n).node.node_id().to_string() == preferred)
		.expect("the preferred path goes through carol or erin");
	let (_, stopped) = net.take(down);
	stopped.stop().await;
	let paid = alice.pay(&pay(&invoice.bolt11, None), true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	let seen = net.invoice_paid("frank", &invoice.payment_hash).await;
	assert_eq!(seen.status, InvoiceStatus::Paid);
	net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn route_requests_with_bad_input_get_clear_errors() {
	let net = TestNet::new(&["alice", "bob"]).await;
	let alice = net.api("alice");
	let bob_id = net.node("bob").node.node_id().to_string();
	let cases = [
		(RoutesRequest { node_id: Some(bob_id.clone()), ..Default::default() }, "invalid_amount"),
		(RoutesRequest::default(), "invalid_request"),
		(
			RoutesRequest {
				node_id: Some(bob_id.clone()),
				invoice: Some("lnbcrt1".into()),
				amount_msat: Some(1000),
				..Default::default()
			},
			"invalid_request",
		),
		(
			RoutesRequest {
				node_id: Some("02ab".into()),
				amount_msat: Some(1000),
				..Default::default()
			},
			"invalid_node_id",
		),
		(
			RoutesRequest { invoice: Some("lnbc1nonsense".into()), ..Default::default() },
			"invalid_invoice",
		),
		(
			RoutesRequest {
				node_id: Some(bob_id.clone()),
				amount_msat: Some(1000),
				..Default::default()
			},
			"route_not_found",
		),
		(
			RoutesRequest {
				node_id: Some(bob_id),
				amount_msat: Some(1000),
				max_routes: Some(0),
				..Default::default()
			},
			"invalid_request",
		),
	];
	for (req, expected) in cases {
		match alice.find_routes(&req).await {
			Err(ClientError::Api { code, .. }) => assert_eq!(code, expected, "{req:?}"),
			other => panic!("{req:?}: {other:?}"),
		}
	}
	for bad in ["1x2", "abc", "99999999x0x0"] {
		match alice.graph_channel(bad).await {
			Err(ClientError::Api { status, .. }) => assert!(status == 400 || status == 404),
			other => panic!("{bad}: {other:?}"),
		}
	}
	match alice.graph_channel("500x1x0").await {
		Err(ClientError::Api { status: 404, .. }) => {}
		other => panic!("unknown channel: {other:?}"),
	}
	net.shutdown().await;
}
