//! Streams: a chunked body of JSON lines fed by a task, at most `MAX_STREAMS` at once. A
//! stream's task follows the node's event log (it misses nothing: it reads the log from the
//! index it started at) and ends when the client goes away, the surface stops, or the stream
//! is complete. Lines are written through a small bounded channel, so a slow client slows its
//! own task and nothing else.
//!
//! Here: `GET /v1/invoices/subscribe` (every invoice added, OPEN, and every one that settles,
//! is accepted or canceled from now on, after those past the `add_index` / `settle_index` the
//! client gives, by the node's stored counters) and `GET /v2/invoices/subscribe/{r_hash}`
//! (one invoice's states, ending after SETTLED or CANCELED). An invoice added is sent once it
//! is durable, in `add_index` order; added ones and settled ones are each sent at most once.

use std::convert::Infallible;
use std::sync::Arc;

use fulgur_node::{InvoiceRecord, InvoiceStatus, Node, NodeEvent, PaymentHash};
use hyper::body::Bytes as Chunk;
use hyper::Body;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit};

use super::encoding::{error_line, hash_from_base64, result_line, Code, LndError};
use super::invoice_wire::invoice;
use super::routes::{Call, Reply};
use super::server::Shared;

/// Lines buffered for a client before its task waits.
const STREAM_BUFFER: usize = 16;
/// Events read from the log at once.
const EVENT_PAGE: usize = 100;
/// Invoices read at once when sending those added or settled after an index.
const INVOICE_PAGE: usize = 100;

/// The writing end of a stream: the client's lines, and what the task waits on.
pub struct StreamTx {
	lines: mpsc::Sender<Chunk>,
	/// Holds the stream's place in `MAX_STREAMS`.
	_permit: OwnedSemaphorePermit,
	/// The node's latest event index (`changed` when events were appended).
	pub events: watch::Receiver<u64>,
	stop: watch::Receiver<bool>,
	/// The node.
	pub node: Node,
}

impl StreamTx {
	/// Sends one `{"result":..}` line; false when the client is gone.
	pub async fn result<T: serde::Serialize>(&self, value: &T) -> bool {
		self.lines.send(Chunk::from(result_line(value))).await.is_ok()
	}

	/// Sends one `{"error":..}` line (the stream then ends).
	pub async fn error(&self, error: &LndError) {
		let _ = self.lines.send(Chunk::from(error_line(error))).await;
	}

	/// Waits until events were appended; false when the stream should end instead (client
	/// gone, surface stopping, node gone).
	pub async fn wait_for_events(&mut self) -> bool {
		if *self.stop.borrow() {
			return false;
		}
		tokio::select! {
			changed = self.events.changed() => changed.is_ok(),
			_ = self.lines.closed() => false,
			_ = self.stop.changed() => false,
		}
	}

	/// [`StreamTx::wait_for_events`], or until `other` changed.
	async fn wait_for_events_or(&mut self, other: &mut watch::Receiver<u64>) -> bool {
		if *self.stop.borrow() {
			return false;
		}
		tokio::select! {
			changed = self.events.changed() => changed.is_ok(),
			changed = other.changed() => changed.is_ok(),
			_ = self.lines.closed() => false,
			_ = self.stop.changed() => false,
		}
	}
}

/// Opens a stream: its writing end and the body to answer with; refused (`ResourceExhausted`)
/// when `MAX_STREAMS` are open.
pub fn open(shared: &Shared) -> Result<(StreamTx, Body), LndError> {
	let permit = Arc::clone(&shared.streams).try_acquire_owned().map_err(|_| {
		LndError::new(Code::ResourceExhausted, "too many open streams: close one and retry")
	})?;
	let (lines, rx) = mpsc::channel::<Chunk>(STREAM_BUFFER);
	let body = Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async move {
		rx.recv().await.map(|chunk| (Ok::<_, Infallible>(chunk), rx))
	}));
	let tx = StreamTx {
		lines,
		_permit: permit,
		events: shared.node.subscribe_events(),
		stop: shared.stop.clone(),
		node: shared.node.clone(),
	};
	Ok((tx, body))
}

/// The invoices the events after `after` touched (paid, accepted, canceled, expired), in
/// order, with the index of the last event read; `None` when reading the log failed.
async fn invoice_events(
	node: &Node, after: u64,
) -> Result<(Vec<String>, u64), fulgur_node::NodeError> {
	let page = node.events(after, EVENT_PAGE).await?;
	let last = page.last().map_or(after, |r| r.index);
	let hashes = page
		.into_iter()
		.filter_map(|record| match record.event {
			NodeEvent::InvoicePaid { invoice }
			| NodeEvent::InvoiceAccepted { invoice }
			| NodeEvent::InvoiceCanceled { invoice }
			| NodeEvent::InvoiceExpired { invoice } => Some(invoice.payment_hash),
			_ => None,
		})
		.collect();
	Ok((hashes, last))
}

fn query_u64(call: &Call, name: &str) -> Result<u64, LndError> {
	match call.get(name).filter(|v| !v.is_empty()) {
		None => Ok(0),
		Some(v) => {
			v.parse().map_err(|_| LndError::invalid(format!("{name}: {v:?} is not a uint64")))
		}
	}
}

/// `GET /v1/invoices/subscribe?add_index=&settle_index=`: first the invoices added after
/// `add_index` and settled after `settle_index` (0: none of that kind), then each invoice as
/// it is added or changes state.
pub fn subscribe_invoices(shared: &Shared, call: &Call) -> Result<Reply, LndError> {
	let add_index = query_u64(call, "add_index")?;
	let settle_index = query_u64(call, "settle_index")?;
	let (mut tx, body) = open(shared)?;
	let start = shared.node.latest_event_index();
	let mut adds = shared.node.subscribe_invoice_adds();
	// Without add_index, only invoices added from now on.
	let mut added_cursor = if add_index > 0 { add_index } else { *adds.borrow_and_update() };
	tokio::spawn(async move {
		let mut settled_cursor = settle_index;
		if settle_index > 0 {
			loop {
				let page = tx.node.invoices_settled_after(settled_cursor, INVOICE_PAGE);
				let Some(last) = page.last().and_then(|r| r.settle_index) else { break };
				settled_cursor = last;
				for record in &page {
					if !tx.result(&invoice(record)).await {
						return;
					}
				}
			}
		}
		let backlog_settled = settled_cursor;
		let mut after = start;
		loop {
			tx.events.borrow_and_update();
			adds.borrow_and_update();
			loop {
				let page = tx.node.invoices_added_after(added_cursor, INVOICE_PAGE);
				let Some(last) = page.last().map(|r| r.add_index) else { break };
				added_cursor = last;
				for record in &page {
					if !tx.result(&invoice(record)).await {
						return;
					}
				}
			}
			let (hashes, last) = match invoice_events(&tx.node, after).await {
				Ok(read) => read,
				Err(e) => return tx.error(&e.into()).await,
			};
			if last == after {
				if !tx.wait_for_events_or(&mut adds).await {
					return;
				}
				continue;
			}
			after = last;
			for hash in hashes {
				let Some(record) = lookup(&tx.node, &hash) else { continue };
				// Settled ones the backlog sent are not sent again.
				if record.settle_index.is_some_and(|i| i <= backlog_settled) {
					continue;
				}
				if !tx.result(&invoice(&record)).await {
					return;
				}
			}
		}
	});
	Ok(Reply::Stream(body))
}

fn lookup(node: &Node, hash_hex: &str) -> Option<InvoiceRecord> {
	let hash = <[u8; 32] as bitcoin::hex::FromHex>::from_hex(hash_hex).ok()?;
	node.get_invoice(&PaymentHash(hash))
}

fn is_final(status: InvoiceStatus) -> bool {
	matches!(status, InvoiceStatus::Paid | InvoiceStatus::Canceled | InvoiceStatus::Expired)
}

/// `GET /v2/invoices/subscribe/{r_hash}`: the invoice now, then each change, ending after it
/// is SETTLED or CANCELED.
pub fn subscribe_single(shared: &Shared, hash_b64: &str) -> Result<Reply, LndError> {
	let hash = hash_from_base64(hash_b64, "r_hash")?;
	let hash_hex = bitcoin::hex::DisplayHex::to_lower_hex_string(hash.as_slice());
	let after = shared.node.latest_event_index();
	let Some(record) = shared.node.get_invoice(&PaymentHash(hash)) else {
		return Ok(Reply::StreamError(LndError::new(Code::NotFound, "unable to locate invoice")));
	};
	let (mut tx, body) = open(shared)?;
	tokio::spawn(async move {
		let (mut after, mut record) = (after, record);
		let mut sent_status = record.status;
		if !tx.result(&invoice(&record)).await || is_final(sent_status) {
			return;
		}
		loop {
			tx.events.borrow_and_update();
			let (hashes, last) = match invoice_events(&tx.node, after).await {
				Ok(read) => read,
				Err(e) => return tx.error(&e.into()).await,
			};
			if last == after {
				// An invoice expires without an event: look at it whenever anything happens.
				if let Some(now) = tx.node.get_invoice(&PaymentHash(hash)) {
					if now.status != sent_status {
						record = now;
						sent_status = record.status;
						let line = invoice(&record);
						if !tx.result(&line).await || is_final(sent_status) {
							return;
						}
					}
				}
				if !tx.wait_for_events().await {
					return;
				}
				continue;
			}
			after = last;
			if !hashes.contains(&hash_hex) {
				continue;
			}
			let Some(now) = tx.node.get_invoice(&PaymentHash(hash)) else { return };
			if now.status != sent_status {
				sent_status = now.status;
				let line = invoice(&now);
				if !tx.result(&line).await || is_final(sent_status) {
					return;
				}
			}
		}
	});
	Ok(Reply::Stream(body))
}
