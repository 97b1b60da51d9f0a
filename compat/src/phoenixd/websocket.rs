//! `/websocket`: phoenixd's stream of money received, one JSON text message per payment
//! (`{"type":"payment_received","amountSat","paymentHash","timestamp"}`), read from the node's
//! event journal (paid invoices, and payments received without an invoice).
//!
//! Invariants: authorized like every route, before the upgrade; at most
//! [`super::MAX_WEBSOCKETS`] at once; each sends what happened after it opened, in the
//! journal's order, waiting for the client to take each message (nothing queues up for a slow
//! one); what the client sends is read only to notice it leaving.

use std::sync::Arc;

use fulgur_node::{EventRecord, Node, NodeEvent};
use futures_util::{SinkExt, StreamExt};
use warp::filters::ws::{Message, WebSocket, Ws};
use warp::http::{HeaderMap, StatusCode};
use warp::reply::{Reply, Response};

use super::routes::{scope, text, unauthorized};
use super::wire::{millis, PaymentReceived};
use super::Surface;

/// Events read from the journal per step.
const EVENTS_PER_READ: usize = 100;
/// The largest message taken from a client (clients send nothing phoenixd reads).
const MAX_CLIENT_MESSAGE_BYTES: usize = 4 * 1024;

/// Authorizes and upgrades a WebSocket request.
pub(crate) fn upgrade(headers: HeaderMap, ws: Ws, surface: Arc<Surface>) -> Response {
	if scope(&surface, &headers).is_none() {
		return unauthorized();
	}
	let Some(node) = surface.node.get().cloned() else {
		return text(StatusCode::SERVICE_UNAVAILABLE, "The node is starting");
	};
	let Ok(permit) = Arc::clone(&surface.websockets).try_acquire_owned() else {
		return text(StatusCode::SERVICE_UNAVAILABLE, "Too many websocket connections");
	};
	let closing = surface.closing.clone();
	ws.max_message_size(MAX_CLIENT_MESSAGE_BYTES)
		.max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
		.on_upgrade(move |socket| async move {
			send_payments(node, socket, closing).await;
			drop(permit);
		})
		.into_response()
}

/// The message for `record`, if it is money received.
fn message_for(record: &EventRecord) -> Option<PaymentReceived> {
	let (amount_msat, payment_hash) = match &record.event {
		NodeEvent::InvoicePaid { invoice } => {
			(invoice.amount_received_msat.or(invoice.amount_msat), invoice.payment_hash.clone())
		}
		NodeEvent::PaymentReceived { payment } => {
			(payment.amount_msat, payment.payment_hash.clone()?)
		}
		_ => return None,
	};
	Some(PaymentReceived {
		kind: "payment_received",
		amount_sat: amount_msat.unwrap_or(0) / 1000,
		payment_hash,
		timestamp: millis(record.timestamp),
	})
}

async fn send_payments(
	node: Node, socket: WebSocket, mut closing: tokio::sync::watch::Receiver<bool>,
) {
	let (mut sink, mut incoming) = socket.split();
	// Subscribed before reading where the journal is, so nothing appended between is missed.
	let mut appended = node.subscribe_events();
	let mut after = node.latest_event_index();
	loop {
		loop {
			let Ok(records) = node.events(after, EVENTS_PER_READ).await else { return };
			let Some(last) = records.last() else { break };
			after = last.index;
			for record in &records {
				let Some(message) = message_for(record) else { continue };
				let Ok(text) = serde_json::to_string(&message) else { continue };
				if sink.send(Message::text(text)).await.is_err() {
					return;
				}
			}
		}
		tokio::select! {
			changed = appended.changed() => if changed.is_err() { return },
			_ = closing.changed() => {
				let _ = sink.send(Message::close()).await;
				return;
			}
			received = incoming.next() => match received {
				// Pings are answered by the WebSocket layer; anything else is ignored.
				Some(Ok(message)) if !message.is_close() => {}
				_ => return,
			},
		}
	}
}
