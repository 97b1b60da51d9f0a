//! The proof that moving the wire types changed no byte: every node type that reaches the wire,
//! with its optional fields set and unset, serialises exactly as its wire twin does.

use fulgur_node as node;
use fulgur_node::routing::graph;
use serde::Serialize;

use super::ToWire;

/// Asserts that `value` and its wire form are the same JSON text, and returns the text.
fn same_json<T>(value: T) -> String
where
	T: ToWire + Serialize + Clone + std::fmt::Debug,
	T::Wire: Serialize,
{
	let before = serde_json::to_string(&value).expect("node json");
	let after = serde_json::to_string(&value.clone().into_wire()).expect("wire json");
	assert_eq!(before, after, "{value:?}");
	before
}

fn invoice(set: bool) -> node::InvoiceRecord {
	node::InvoiceRecord {
		payment_hash: "aa".repeat(32),
		bolt11: "lnbcrt1".into(),
		description: "coffee".into(),
		amount_msat: set.then_some(5000),
		amount_received_msat: set.then_some(5001),
		created_at: 1,
		expires_at: 2,
		paid_at: set.then_some(3),
		preimage: set.then(|| "bb".repeat(32)),
		status: if set { node::InvoiceStatus::Paid } else { node::InvoiceStatus::Open },
		hold: set,
		claim_deadline: set.then_some(150),
		add_index: 0,
		settle_index: None,
	}
}

fn payment(set: bool) -> node::PaymentRecord {
	node::PaymentRecord {
		payment_id: "cc".repeat(32),
		payment_hash: set.then(|| "aa".repeat(32)),
		kind: if set { node::PaymentKind::Bolt12 } else { node::PaymentKind::Keysend },
		direction: if set {
			node::PaymentDirection::Inbound
		} else {
			node::PaymentDirection::Outbound
		},
		destination: set.then(|| "02ab".into()),
		invoice: set.then(|| "lno1".into()),
		description: set.then(|| "tea".into()),
		amount_msat: set.then_some(1000),
		fee_msat: set.then_some(1),
		max_fee_msat: set.then_some(10),
		preimage: set.then(|| "bb".repeat(32)),
		status: if set { node::PaymentStatus::Succeeded } else { node::PaymentStatus::Failed },
		failure_reason: (!set).then(|| "no route".into()),
		created_at: 4,
		completed_at: set.then_some(5),
	}
}

#[test]
fn records_are_the_same_json() {
	for set in [true, false] {
		same_json(invoice(set));
		same_json(payment(set));
		same_json(node::NodeInfo {
			node_id: "02ab".into(),
			network: "regtest".into(),
			block_height: 101,
			block_hash: "00ff".into(),
			synced: set,
			sync_status: "synced".into(),
			num_peers: 1,
			num_channels: 2,
			num_usable_channels: 3,
			listening_addresses: vec!["127.0.0.1:9735".into()],
			graph_nodes: 4,
			graph_channels: 5,
			monitor_updates_in_flight: 6,
			monitor_updates_done: 7,
			last_persist_latency_us: set.then_some(8),
		});
		same_json(node::PeerInfo {
			node_id: "02ab".into(),
			address: set.then(|| "127.0.0.1:9735".into()),
			connected: set,
			persisted: !set,
		});
		same_json(node::ChannelInfo {
			channel_id: "dd".repeat(32),
			counterparty_node_id: "02ab".into(),
			funding_txo: set.then(|| "ee:0".into()),
			short_channel_id: set.then(|| "101x1x0".into()),
			capacity_sat: 100_000,
			local_balance_msat: 1,
			outbound_capacity_msat: 2,
			inbound_capacity_msat: 3,
			confirmations: set.then_some(6),
			state: "usable".into(),
			announced: set,
			is_outbound: set,
			is_usable: set,
			unusable_reason: set.then(|| "dust".into()),
			commitment_feerate_sat_per_kw: set.then_some(253),
			anchors: set,
			updates_in_flight: 1,
			updates_done: 2,
			last_persist_latency_us: set.then_some(3),
			last_activity_at: set.then_some(4),
			policy: node::ForwardingPolicy {
				fee_base_msat: 1000,
				fee_ppm: 100,
				cltv_expiry_delta: 72,
				htlc_minimum_msat: set.then_some(1),
				htlc_maximum_msat: set.then_some(90_000_000),
			},
		});
		same_json(node::OpenedChannel {
			channel_id: "dd".repeat(32),
			counterparty_node_id: "02ab".into(),
			funding_txid: set.then(|| "ee".into()),
		});
	}
	same_json(node::Balance {
		onchain_confirmed_sat: 1,
		onchain_unconfirmed_sat: 2,
		lightning_outbound_msat: 3,
		lightning_inbound_msat: 4,
		lightning_claimable_sat: 5,
		onchain_claimable_sat: 6,
	});
}

fn forward(settled: bool) -> node::ForwardRecord {
	node::ForwardRecord {
		id: "001700000000_000000_00112233aabbccdd".into(),
		timestamp: 1_700_000_000,
		in_channel_id: Some("aa".repeat(32)),
		out_channel_id: settled.then(|| "bb".repeat(32)),
		in_peer_node_id: Some("02aa".into()),
		out_peer_node_id: settled.then(|| "02bb".into()),
		in_amount_msat: settled.then_some(1_001),
		out_amount_msat: settled.then_some(1_000),
		fee_msat: settled.then_some(1),
		status: if settled { node::ForwardStatus::Settled } else { node::ForwardStatus::Failed },
		failure_reason: (!settled).then(|| "failed by the next hop".into()),
	}
}

#[test]
fn forward_records_are_the_same_json() {
	for settled in [true, false] {
		same_json(forward(settled));
	}
}

#[test]
fn every_event_is_the_same_json() {
	let events = vec![
		node::NodeEvent::InvoicePaid { invoice: invoice(true) },
		node::NodeEvent::InvoiceAccepted { invoice: invoice(false) },
		node::NodeEvent::InvoiceCanceled { invoice: invoice(false) },
		node::NodeEvent::InvoiceExpired { invoice: invoice(false) },
		node::NodeEvent::PaymentReceived { payment: payment(true) },
		node::NodeEvent::PaymentSucceeded { payment: payment(true) },
		node::NodeEvent::PaymentFailed { payment: payment(false) },
		node::NodeEvent::ChannelPending {
			channel_id: "dd".into(),
			counterparty_node_id: "02".into(),
			funding_txo: "ee:1".into(),
		},
		node::NodeEvent::ChannelReady {
			channel_id: "dd".into(),
			counterparty_node_id: "02".into(),
		},
		node::NodeEvent::ChannelClosed {
			channel_id: "dd".into(),
			counterparty_node_id: None,
			reason: "gone".into(),
		},
		node::NodeEvent::ChannelClosed {
			channel_id: "dd".into(),
			counterparty_node_id: Some("02".into()),
			reason: "gone".into(),
		},
		node::NodeEvent::PeerConnected { node_id: "02".into(), inbound: true },
		node::NodeEvent::PeerDisconnected { node_id: "02".into() },
		node::NodeEvent::OnchainReceived { txid: "ee".into(), amount_sat: 5, block_height: 7 },
		node::NodeEvent::BreachSeen { channel_id: "dd".into(), txid: "ee".into() },
		node::NodeEvent::BreachPunished { channel_id: "dd".into(), txid: "ff".into() },
		node::NodeEvent::PaymentForwarded { forward: forward(true) },
		node::NodeEvent::ForwardFailed { forward: forward(false) },
	];
	let mut kinds = Vec::new();
	for (index, event) in events.into_iter().enumerate() {
		let kind = event.kind();
		let wire_kind = event.clone().into_wire().kind();
		assert_eq!(kind, wire_kind);
		if kinds.last() != Some(&kind) {
			kinds.push(kind);
		}
		same_json(node::EventRecord { index: index as u64, timestamp: 9, event });
	}
	assert_eq!(kinds, node::EVENT_KINDS, "every kind, in order");
}

#[test]
fn merchant_types_are_the_same_json() {
	for scope in [node::ApiScope::Admin, node::ApiScope::Invoice, node::ApiScope::Readonly] {
		let json = same_json(node::ApiKeyInfo {
			id: "ab".into(),
			scope,
			label: Some("shop".into()),
			created_at: 1,
		});
		assert_eq!(super::node_scope(super::wire_scope(scope)), scope);
		assert!(json.contains(scope.as_str()));
	}
	for set in [true, false] {
		same_json(node::WebhookInfo {
			id: "ab".into(),
			url: "http://127.0.0.1:1/hook".into(),
			events: if set { vec!["invoice_paid".into()] } else { vec![] },
			created_at: 1,
			delivery: node::DeliveryState {
				next_index: 1,
				delivered: 2,
				failed_attempts: 3,
				last_error: set.then(|| "refused".into()),
				next_attempt_at: set.then_some(4),
			},
		});
		same_json(node::tower::TowerStatus {
			url: "127.0.0.1:9814".into(),
			tower_id: set.then(|| "02ab".into()),
			state: "active".into(),
			delivered: 1,
			pending: 2,
			rejected: 3,
			last_error: set.then(|| "down".into()),
			last_delivery_at: set.then_some(4),
			available_slots: set.then_some(5),
			subscription_expiry: set.then_some(6),
		});
	}
}

#[test]
fn routes_and_graph_are_the_same_json() {
	let hop = |set: bool| node::routing::RouteHopInfo {
		node_id: "02ab".into(),
		short_channel_id: "1x2x3".into(),
		announced: set,
		amount_msat: 1000,
		fee_msat: 1,
		cltv_expiry_delta: 40,
		success_probability: set.then_some(0.5),
	};
	let path = node::routing::RoutePathInfo {
		amount_msat: 1000,
		fee_msat: 1,
		total_cltv_expiry_delta: 80,
		success_probability: 0.25,
		hops: vec![hop(true), hop(false)],
	};
	same_json(node::routing::RoutesResponse {
		destination: "02ab".into(),
		routes: vec![node::routing::RouteInfo {
			amount_msat: 1000,
			fee_msat: 1,
			total_cltv_expiry_delta: 80,
			success_probability: 0.25,
			paths: vec![path],
		}],
	});
	same_json(graph::GraphSummary {
		node_count: 1,
		channel_count: 2,
		channel_count_both_directions: 3,
		total_capacity_sat: 4,
	});
	for set in [true, false] {
		same_json(graph::GraphNode {
			node_id: "02ab".into(),
			alias: set.then(|| "alice".into()),
			addresses: vec!["127.0.0.1:9735".into()],
			last_update: set.then_some(7),
			channels: vec!["1x2x3".into()],
		});
		let policy = graph::ChannelPolicy {
			enabled: set,
			base_fee_msat: 1,
			fee_ppm: 2,
			cltv_expiry_delta: 3,
			htlc_minimum_msat: 4,
			htlc_maximum_msat: 5,
			last_update: 6,
		};
		same_json(graph::GraphChannel {
			short_channel_id: "1x2x3".into(),
			short_channel_id_u64: 7,
			node_one: "02ab".into(),
			node_two: "03cd".into(),
			capacity_sat: set.then_some(100),
			one_to_two: set.then(|| policy.clone()),
			two_to_one: Some(policy),
		});
	}
}

/// Requests go the other way: what the client sends, the node receives unchanged, its ids
/// parsed to the node's types.
#[test]
fn requests_reach_the_node_unchanged() {
	let key = "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619";
	let node_id: node::PublicKey = key.parse().unwrap();
	let body = format!(
		r#"{{"node_id":"{key}","address":"127.0.0.1:9735","amount_sat":5,"push_msat":1,"announce":false}}"#
	);
	let wire: fulgur_api::wire::channels::OpenChannelRequest = serde_json::from_str(&body).unwrap();
	assert_eq!(
		super::open_channel_request(wire).unwrap(),
		node::OpenChannelRequest {
			node_id,
			address: "127.0.0.1:9735".into(),
			amount_sat: 5,
			push_msat: Some(1),
			announce: Some(false),
		}
	);
	let body = r#"{"invoice":"lnbcrt1","amount_msat":7,"max_fee_msat":2,"wait":true}"#;
	let wire: fulgur_api::wire::payments::PayBody = serde_json::from_str(body).unwrap();
	assert_eq!(
		super::pay_request(wire),
		node::PayRequest { invoice: "lnbcrt1".into(), amount_msat: Some(7), max_fee_msat: Some(2) }
	);
	let body = format!(r#"{{"node_id":"{key}","amount_msat":7,"max_fee_msat":2,"max_routes":4}}"#);
	let wire: fulgur_api::wire::routing::RoutesRequest = serde_json::from_str(&body).unwrap();
	assert_eq!(
		super::routes_request(wire).unwrap(),
		node::routing::RoutesRequest {
			destination: node::routing::RouteDestination::Node(node_id),
			amount_msat: Some(7),
			max_fee_msat: Some(2),
			max_routes: Some(4),
		}
	);
	let body = r#"{"invoice":"lnbcrt1","max_routes":1}"#;
	let wire: fulgur_api::wire::routing::RoutesRequest = serde_json::from_str(body).unwrap();
	assert_eq!(
		super::routes_request(wire).unwrap(),
		node::routing::RoutesRequest {
			destination: node::routing::RouteDestination::Invoice("lnbcrt1".into()),
			amount_msat: None,
			max_fee_msat: None,
			max_routes: Some(1),
		}
	);
}

/// A request whose node id is no public key is refused before the node sees it, with the
/// code and message the node used to answer.
#[test]
fn requests_with_a_bad_node_id_are_refused() {
	let body = r#"{"node_id":"02ab","address":"127.0.0.1:9735","amount_sat":5}"#;
	let wire: fulgur_api::wire::channels::OpenChannelRequest = serde_json::from_str(body).unwrap();
	let e = super::open_channel_request(wire).unwrap_err();
	assert_eq!((e.code(), e.status().as_u16()), ("invalid_node_id", 400));
	assert_eq!(e.message(), r#""02ab" is not a node id"#);
	let body = r#"{"node_id":"02ab","amount_msat":7}"#;
	let wire: fulgur_api::wire::routing::RoutesRequest = serde_json::from_str(body).unwrap();
	let e = super::routes_request(wire).unwrap_err();
	assert_eq!((e.code(), e.message()), ("invalid_node_id", r#""02ab" is not a node id"#));
	let both = fulgur_api::wire::routing::RoutesRequest {
		node_id: Some("02ab".into()),
		invoice: Some("lnbcrt1".into()),
		..Default::default()
	};
	let e = super::routes_request(both).unwrap_err();
	assert_eq!(
		(e.code(), e.message()),
		("invalid_request", "give exactly one of node_id and invoice")
	);
}
