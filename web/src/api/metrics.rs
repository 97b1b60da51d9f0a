//! `GET /metrics`: the node in Prometheus' text format (version 0.0.4), written by hand.
//!
//! `fulgur_tower_outbox` is the watchtower client's queue of appointments not yet accepted
//! by a tower; there is no tower client yet, so it is always 0.

use std::fmt::Write as _;

use fulgur_node::{InvoiceStatus, Node, PaymentStatus};
use warp::http::header::CONTENT_TYPE;
use warp::http::HeaderValue;
use warp::reply::Response;
use warp::Reply;

use super::blocking;
use crate::error::ApiError;

/// The content type Prometheus expects.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Channel states as `ChannelInfo.state` has them.
const CHANNEL_STATES: [&str; 3] = ["pending", "ready", "usable"];

/// `GET /metrics`.
pub(crate) async fn handle_metrics(node: Node) -> Response {
	match blocking(move || Ok(render(&node))).await {
		Ok(text) => {
			let mut response = text.into_response();
			response
				.headers_mut()
				.insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_TEXT));
			response
		}
		Err(e) => ApiError::into_response(e),
	}
}

/// The metrics text.
fn render(node: &Node) -> String {
	let mut out = Metrics(String::new());
	let info = node.info();
	let balance = node.balance();
	out.gauge(
		"fulgur_block_height",
		"Height of the best block the node processed",
		&[("", u64::from(info.block_height))],
	);
	out.gauge(
		"fulgur_synced",
		"1 once the node has caught up with bitcoind's tip",
		&[("", u64::from(info.synced))],
	);
	out.gauge(
		"fulgur_balance_onchain_sat",
		"On-chain wallet balance",
		&[
			("status=\"confirmed\"", balance.onchain_confirmed_sat),
			("status=\"unconfirmed\"", balance.onchain_unconfirmed_sat),
		],
	);
	out.gauge(
		"fulgur_balance_lightning_msat",
		"What the channels can send and receive now",
		&[
			("direction=\"outbound\"", balance.lightning_outbound_msat),
			("direction=\"inbound\"", balance.lightning_inbound_msat),
		],
	);
	out.gauge(
		"fulgur_balance_claimable_sat",
		"Funds of closing channels not yet back in the wallet",
		&[("", balance.lightning_claimable_sat)],
	);
	let channels = node.list_channels();
	let by_state: Vec<(String, u64)> = CHANNEL_STATES
		.iter()
		.map(|state| {
			let count = channels.iter().filter(|c| c.state == *state).count() as u64;
			(format!("state=\"{state}\""), count)
		})
		.collect();
	out.gauge("fulgur_channels", "Channels by state", &labels(&by_state));
	out.gauge("fulgur_peers_connected", "Connected peers", &[("", info.num_peers as u64)]);
	let payments = node.list_payments();
	let by_status: Vec<(String, u64)> =
		[PaymentStatus::Pending, PaymentStatus::Succeeded, PaymentStatus::Failed]
			.into_iter()
			.map(|status| {
				let count = payments.iter().filter(|p| p.status == status).count() as u64;
				(format!("status=\"{}\"", lower(&status)), count)
			})
			.collect();
	out.gauge("fulgur_payments", "Payments by status", &labels(&by_status));
	let invoices = node.list_invoices();
	let by_status: Vec<(String, u64)> = [
		InvoiceStatus::Open,
		InvoiceStatus::Accepted,
		InvoiceStatus::Paid,
		InvoiceStatus::Expired,
		InvoiceStatus::Canceled,
	]
	.into_iter()
	.map(|status| {
		let count = invoices.iter().filter(|i| i.status == status).count() as u64;
		(format!("status=\"{}\"", lower(&status)), count)
	})
	.collect();
	out.gauge("fulgur_invoices", "Invoices by status", &labels(&by_status));
	out.forwards(node);
	out.persist_histogram(node);
	out.counter("fulgur_events", "Events recorded in the event log", node.event_count());
	let latest = node.latest_event_index();
	let backlog: Vec<(String, u64)> = node
		.list_webhooks()
		.into_iter()
		.map(|w| {
			let waiting = (latest + 1).saturating_sub(w.delivery.next_index);
			(format!("webhook=\"{}\"", w.id), waiting)
		})
		.collect();
	out.gauge(
		"fulgur_webhook_backlog_events",
		"Events a webhook has not yet been delivered or skipped",
		&labels(&backlog),
	);
	out.gauge(
		"fulgur_tower_outbox",
		"Watchtower appointments waiting to be sent to at least one tower",
		&[("", node.tower_outbox_len())],
	);
	out.0
}

fn labels(values: &[(String, u64)]) -> Vec<(&str, u64)> {
	values.iter().map(|(l, v)| (l.as_str(), *v)).collect()
}

/// A status in lower case, as serde writes it.
fn lower<T: serde::Serialize>(value: &T) -> String {
	serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

struct Metrics(String);

impl Metrics {
	fn header(&mut self, name: &str, help: &str, kind: &str) {
		let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
	}

	/// A gauge with one sample per label set (`""` for none).
	fn gauge(&mut self, name: &str, help: &str, samples: &[(&str, u64)]) {
		self.header(name, help, "gauge");
		for (labels, value) in samples {
			if labels.is_empty() {
				let _ = writeln!(self.0, "{name} {value}");
			} else {
				let _ = writeln!(self.0, "{name}{{{labels}}} {value}");
			}
		}
	}

	fn counter(&mut self, name: &str, help: &str, value: u64) {
		self.header(&format!("{name}_total"), help, "counter");
		let _ = writeln!(self.0, "{name}_total {value}");
	}

	/// A counter with one sample per label set.
	fn labeled_counter(&mut self, name: &str, help: &str, samples: &[(&str, u64)]) {
		self.header(&format!("{name}_total"), help, "counter");
		for (labels, value) in samples {
			let _ = writeln!(self.0, "{name}_total{{{labels}}} {value}");
		}
	}

	/// Forwards by status, fees earned, and settled forwards per channel and direction.
	fn forwards(&mut self, node: &Node) {
		let stats = node.forward_stats();
		self.labeled_counter(
			"fulgur_forwards",
			"HTLCs forwarded, by how they ended (failed: since the node started, with the ones \
			 kept from before)",
			&[("status=\"settled\"", stats.settled), ("status=\"failed\"", stats.failed)],
		);
		self.counter(
			"fulgur_forward_fees_msat",
			"Fees earned by settled forwards",
			stats.fees_msat,
		);
		let per_channel: Vec<(String, u64)> = stats
			.by_in_channel
			.iter()
			.map(|(channel, count)| (format!("channel_id=\"{channel}\",direction=\"in\""), *count))
			.chain(stats.by_out_channel.iter().map(|(channel, count)| {
				(format!("channel_id=\"{channel}\",direction=\"out\""), *count)
			}))
			.collect();
		self.gauge(
			"fulgur_channel_forwards",
			"Settled forwards per channel, in on it or out on it",
			&labels(&per_channel),
		);
	}

	fn persist_histogram(&mut self, node: &Node) {
		let name = "fulgur_persist_latency_seconds";
		let histogram = node.persist_latency_histogram();
		self.header(name, "Time for a channel monitor write to become durable", "histogram");
		for (bound, count) in &histogram.buckets {
			let _ = writeln!(self.0, "{name}_bucket{{le=\"{bound}\"}} {count}");
		}
		let _ = writeln!(self.0, "{name}_bucket{{le=\"+Inf\"}} {}", histogram.count);
		let _ = writeln!(self.0, "{name}_sum {}", histogram.sum_seconds);
		let _ = writeln!(self.0, "{name}_count {}", histogram.count);
	}
}
