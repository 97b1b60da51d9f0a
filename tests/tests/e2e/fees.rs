//! Peers that disagree on fees: a node running legacy (non-anchor) channels with fee estimates
//! 90 times another's keeps its channel through `update_fee` and pays both ways; a peer whose
//! fee rate is beyond our policy is refused at `open_channel`, and a channel whose dust
//! exposure leaves no room for an incoming HTLC is not reported usable.

use fulgur_api::wire::channels::OpenChannelRequest;
use fulgur_api::wire::events::NodeEvent;
use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_node::fee_policy::DustExposureLimit;
use fulgur_tests::TestNet;

/// alice's fee estimate when she opens her channels (80 times bob's floor of 500 sat/kW).
const OPEN_FEE_RATE: u32 = 40_000;
/// alice's fee estimate after her restart: 90 times bob's.
const RAISED_FEE_RATE: u32 = 45_000;

async fn pay(net: &TestNet, from: &str, to: &str, amount_msat: u64) {
	let invoice = net
		.api(to)
		.create_invoice(Some(amount_msat), &format!("{from} pays {to}"), None)
		.await
		.expect("invoice");
	let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
	let payment = net.api(from).pay(&req, true).await.expect("pay");
	assert_eq!(payment.status, PaymentStatus::Succeeded, "{from} → {to}: {payment:?}");
}

/// alice's wallet sees the change of her last funding transaction confirmed.
async fn wait_for_change(net: &TestNet) {
	net.wait_for("alice's change confirmed", || async {
		net.api("alice").balance().await.is_ok_and(|b| b.onchain_confirmed_sat > 1_100_000)
	})
	.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn peers_with_90x_fee_rates_keep_their_channel_and_pay_both_ways() {
	let mut net = TestNet::with_configs(&["alice", "bob", "carol", "dave"], |name, config| {
		match name {
			"alice" => {
				config.anchor_channels = false;
				config.fee_rate_floor_sat_per_kw = OPEN_FEE_RATE;
			}
			// carol tolerates alice's opening rate but not her raised one, with a fixed limit
			// that the raise alone does not pass: the channel stays open but cannot receive.
			"carol" => {
				config.fee_policy.peer_fee_rate_ceiling_sat_per_kw = Some(42_000);
				config.fee_policy.dust_exposure = DustExposureLimit::FixedMsat(3_000_000);
			}
			// dave tolerates less than alice's opening rate.
			"dave" => config.fee_policy.peer_fee_rate_ceiling_sat_per_kw = Some(30_000),
			_ => {}
		}
	})
	.await;
	let to_bob = net.open_channel("alice", "bob", 1_000_000, 400_000_000).await;
	wait_for_change(&net).await;
	let to_carol = net.open_channel("alice", "carol", 1_000_000, 400_000_000).await;
	let bob_view = net.channel("bob", &to_bob).await.expect("bob's channel");
	assert!(!bob_view.anchors, "a legacy channel: {bob_view:?}");
	assert_eq!(bob_view.commitment_feerate_sat_per_kw, Some(OPEN_FEE_RATE));

	// Refused at once, with the reason, instead of accepted and force-closed later.
	wait_for_change(&net).await;
	let dave = net.node("dave");
	let refused = net
		.api("alice")
		.open_channel(&OpenChannelRequest {
			node_id: dave.node.node_id().to_string(),
			address: dave.p2p_addr(),
			amount_sat: 1_000_000,
			push_msat: None,
			announce: Some(false),
		})
		.await
		.expect_err("dave refuses alice's fee rate");
	assert!(refused.to_string().contains("fee rate"), "{refused}");
	assert!(net.api("dave").list_channels().await.expect("channels").is_empty());

	// Dust-sized and larger payments, both ways, at 80 times bob's fee rate.
	for amount_msat in [20_000_000, 150_000_000] {
		pay(&net, "alice", "bob", amount_msat).await;
		pay(&net, "bob", "alice", amount_msat).await;
	}

	// alice's estimate rises to 90 times bob's: she sends update_fee (on her next timer tick).
	net.restart_with("alice", |config| {
		config.anchor_channels = false;
		config.fee_rate_floor_sat_per_kw = RAISED_FEE_RATE;
	})
	.await;
	net.wait_for("bob accepted alice's update_fee", || async {
		let channel = net.channel("bob", &to_bob).await;
		channel.and_then(|c| c.commitment_feerate_sat_per_kw) == Some(RAISED_FEE_RATE)
	})
	.await;
	for (name, id) in [("alice", &to_bob), ("bob", &to_bob)] {
		net.wait_for(&format!("channel usable at {name} after update_fee"), || async {
			net.channel(name, id).await.is_some_and(|c| c.is_usable)
		})
		.await;
	}
	for amount_msat in [20_000_000, 150_000_000] {
		pay(&net, "alice", "bob", amount_msat).await;
		pay(&net, "bob", "alice", amount_msat).await;
	}

	// carol's channel took the raise but one more incoming HTLC would pass her limit: it is
	// open, LDK calls it usable, and fulgur says it cannot receive.
	net.wait_for("carol accepted alice's update_fee", || async {
		let channel = net.channel("carol", &to_carol).await;
		channel.and_then(|c| c.commitment_feerate_sat_per_kw) == Some(RAISED_FEE_RATE)
	})
	.await;
	let carol_view = net.channel("carol", &to_carol).await.expect("carol's channel");
	assert!(!carol_view.is_usable, "{carol_view:?}");
	let reason = carol_view.unusable_reason.clone().unwrap_or_default();
	assert!(reason.contains("cannot receive"), "{carol_view:?}");
	// Neither funded channel was closed, at either end (dave's refused request is the only
	// `channel_closed`).
	for name in ["alice", "bob", "carol"] {
		let events = net.api(name).events(0, Some(1000)).await.expect("events").events;
		let closed: Vec<_> = events
			.iter()
			.filter(|e| match &e.event {
				NodeEvent::ChannelClosed { channel_id, .. } => {
					[&to_bob, &to_carol].contains(&channel_id)
				}
				_ => false,
			})
			.collect();
		assert!(closed.is_empty(), "{name}: {closed:?}");
	}

	// And bob closes cooperatively: the two fee views agree on a closing fee. LDK starts a
	// shutdown only with the peer connected and no monitor update in flight, and either can
	// change between reading the channel and asking (alice's restart still settling): a
	// refusal for that transient reason is asked again; any other answer counts.
	net.wait_for("bob's cooperative close accepted", || async {
		let settled = net
			.channel("bob", &to_bob)
			.await
			.is_some_and(|c| c.is_usable && c.updates_in_flight == 0);
		if !settled {
			return false;
		}
		match net.api("bob").close_channel(&to_bob, false).await {
			Ok(_) => true,
			Err(fulgur_api::ClientError::Api { code, message, .. })
				if code == "channel_close_failed" && message.contains("Cannot begin shutdown") =>
			{
				false
			}
			Err(e) => panic!("cooperative close: {e:?}"),
		}
	})
	.await;
	net.wait_for("the closing transaction in the mempool", || async {
		net.bitcoind.mempool_size().await.unwrap_or(0) > 0
	})
	.await;
	net.mine(1).await;
	for name in ["alice", "bob"] {
		net.wait_for(&format!("the channel closed at {name}"), || async {
			net.channel(name, &to_bob).await.is_none()
		})
		.await;
		// The event is recorded when the node handles LDK's, a moment after the channel goes.
		let closed_reason = || async {
			let events = net.api(name).events(0, Some(1000)).await.expect("events").events;
			events.iter().find_map(|e| match &e.event {
				NodeEvent::ChannelClosed { channel_id, reason, .. } if *channel_id == to_bob => {
					Some(reason.clone())
				}
				_ => None,
			})
		};
		net.wait_for(&format!("{name} recorded the close"), || async {
			closed_reason().await.is_some()
		})
		.await;
		let reason = closed_reason().await.unwrap_or_default();
		assert!(reason.to_lowercase().contains("cooperative"), "{name}: {reason}");
	}
	net.shutdown().await;
}
