//! What the generator (`main-4253d99.generator.txt`) gave main `4253d99` to store: the
//! values a store written by it must read back as, field for field. Copied from the generator.

use crate::journal::NodeEvent;
use crate::model::*;
use crate::peers::PeerRecord;

pub(super) fn invoices() -> Vec<InvoiceRecord> {
	vec![
		InvoiceRecord {
			payment_hash: "1a".repeat(32),
			bolt11: "lnbcrt10u1pjopen".into(),
			description: "coffee".into(),
			amount_msat: Some(1_000_000),
			amount_received_msat: None,
			created_at: 1_764_590_000,
			expires_at: 1_764_593_600,
			paid_at: None,
			preimage: None,
			status: InvoiceStatus::Open,
			hold: false,
			claim_deadline: None,
			add_index: 0,
			settle_index: None,
		},
		InvoiceRecord {
			payment_hash: "2b".repeat(32),
			bolt11: "lnbcrt1pjpaid".into(),
			description: "".into(),
			amount_msat: None,
			amount_received_msat: Some(4242),
			created_at: 1_764_590_001,
			expires_at: 1_764_593_601,
			paid_at: Some(1_764_590_100),
			preimage: Some("3c".repeat(32)),
			status: InvoiceStatus::Paid,
			hold: false,
			claim_deadline: None,
			add_index: 0,
			settle_index: None,
		},
		InvoiceRecord {
			payment_hash: "4d".repeat(32),
			bolt11: "lnbcrt5u1pjhold".into(),
			description: "held \"ticket\" é".into(),
			amount_msat: Some(500_000),
			amount_received_msat: Some(500_000),
			created_at: 1_764_590_002,
			expires_at: 1_764_676_402,
			paid_at: None,
			preimage: None,
			status: InvoiceStatus::Accepted,
			hold: true,
			claim_deadline: Some(231),
			add_index: 0,
			settle_index: None,
		},
		InvoiceRecord {
			payment_hash: "5e".repeat(32),
			bolt11: "lnbcrt1pjexpired".into(),
			description: "late".into(),
			amount_msat: Some(1),
			amount_received_msat: None,
			created_at: 1_764_590_003,
			expires_at: 1_764_590_063,
			paid_at: None,
			preimage: None,
			status: InvoiceStatus::Expired,
			hold: false,
			claim_deadline: None,
			add_index: 0,
			settle_index: None,
		},
		InvoiceRecord {
			payment_hash: "6f".repeat(32),
			bolt11: "lnbcrt1pjcanceled".into(),
			description: "nope".into(),
			amount_msat: Some(2000),
			amount_received_msat: None,
			created_at: 1_764_590_004,
			expires_at: 1_764_593_604,
			paid_at: None,
			preimage: None,
			status: InvoiceStatus::Canceled,
			hold: true,
			claim_deadline: Some(150),
			add_index: 0,
			settle_index: None,
		},
	]
}

pub(super) fn outbound() -> Vec<PaymentRecord> {
	vec![
		PaymentRecord {
			payment_id: "7a".repeat(32),
			payment_hash: Some("7a".repeat(32)),
			kind: PaymentKind::Bolt11,
			direction: PaymentDirection::Outbound,
			destination: Some(format!("02{}", "8b".repeat(32))),
			invoice: Some("lnbcrt20u1pjpaid".into()),
			description: Some("rent".into()),
			amount_msat: Some(2_000_000),
			fee_msat: Some(1_001),
			max_fee_msat: Some(10_000),
			preimage: Some("9c".repeat(32)),
			status: PaymentStatus::Succeeded,
			failure_reason: None,
			created_at: 1_764_590_010,
			completed_at: Some(1_764_590_012),
		},
		PaymentRecord {
			payment_id: "ad".repeat(32),
			payment_hash: None,
			kind: PaymentKind::Bolt12,
			direction: PaymentDirection::Outbound,
			destination: None,
			invoice: Some("lno1qgsyxjtl6luzd9t3pr62xr7eemp6awnejusgf6gw45q75vcfqqqqqqq".into()),
			description: None,
			amount_msat: Some(3000),
			fee_msat: None,
			max_fee_msat: None,
			preimage: None,
			status: PaymentStatus::Pending,
			failure_reason: None,
			created_at: 1_764_590_020,
			completed_at: None,
		},
		PaymentRecord {
			payment_id: "be".repeat(32),
			payment_hash: Some("cf".repeat(32)),
			kind: PaymentKind::Keysend,
			direction: PaymentDirection::Outbound,
			destination: Some(format!("03{}", "d0".repeat(32))),
			invoice: None,
			description: None,
			amount_msat: Some(77),
			fee_msat: None,
			max_fee_msat: Some(5),
			preimage: None,
			status: PaymentStatus::Failed,
			failure_reason: Some("route not found".into()),
			created_at: 1_764_590_030,
			completed_at: Some(1_764_590_031),
		},
	]
}

pub(super) fn inbound() -> Vec<PaymentRecord> {
	vec![PaymentRecord {
		payment_id: "e1".repeat(32),
		payment_hash: Some("e1".repeat(32)),
		kind: PaymentKind::Keysend,
		direction: PaymentDirection::Inbound,
		destination: None,
		invoice: None,
		description: None,
		amount_msat: Some(12_345),
		fee_msat: None,
		max_fee_msat: None,
		preimage: Some("f2".repeat(32)),
		status: PaymentStatus::Succeeded,
		failure_reason: None,
		created_at: 1_764_590_040,
		completed_at: Some(1_764_590_040),
	}]
}

pub(super) fn events() -> Vec<NodeEvent> {
	let inv = invoices();
	let out = outbound();
	let chan = "ab".repeat(32);
	let peer = format!("02{}", "8b".repeat(32));
	vec![
		NodeEvent::InvoicePaid { invoice: inv[1].clone() },
		NodeEvent::InvoiceAccepted { invoice: inv[2].clone() },
		NodeEvent::InvoiceCanceled { invoice: inv[4].clone() },
		NodeEvent::InvoiceExpired { invoice: inv[3].clone() },
		NodeEvent::PaymentReceived { payment: inbound()[0].clone() },
		NodeEvent::PaymentSucceeded { payment: out[0].clone() },
		NodeEvent::PaymentFailed { payment: out[2].clone() },
		NodeEvent::ChannelPending {
			channel_id: chan.clone(),
			counterparty_node_id: peer.clone(),
			funding_txo: format!("{}:1", "12".repeat(32)),
		},
		NodeEvent::ChannelReady { channel_id: chan.clone(), counterparty_node_id: peer.clone() },
		NodeEvent::ChannelClosed {
			channel_id: chan.clone(),
			counterparty_node_id: Some(peer.clone()),
			reason: "counterparty closed cooperatively".into(),
		},
		NodeEvent::ChannelClosed {
			channel_id: "cd".repeat(32),
			counterparty_node_id: None,
			reason: "funding failed".into(),
		},
		NodeEvent::PeerConnected { node_id: peer.clone(), inbound: true },
		NodeEvent::PeerDisconnected { node_id: peer.clone() },
		NodeEvent::OnchainReceived {
			txid: "34".repeat(32),
			amount_sat: 100_000,
			block_height: 101,
		},
		NodeEvent::BreachSeen { channel_id: chan.clone(), txid: "56".repeat(32) },
		NodeEvent::BreachPunished { channel_id: chan, txid: "78".repeat(32) },
	]
}

pub(super) fn peers() -> Vec<PeerRecord> {
	vec![
		PeerRecord { node_id: format!("02{}", "8b".repeat(32)), address: "127.0.0.1:9735".into() },
		PeerRecord {
			node_id: format!("03{}", "d0".repeat(32)),
			address: "peer.example:19735".into(),
		},
	]
}
