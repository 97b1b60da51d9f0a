//! Networks of several channels, opened together: one funding transaction per opener, one
//! round of confirmations, then waiting for every channel to be usable and, for announced
//! ones, known to every node's graph.

use std::collections::BTreeMap;
use std::time::Duration;

use fulgur_node::OpenChannelRequest;

use crate::TestNet;

/// One channel of a topology.
#[derive(Clone, Copy, Debug)]
pub struct ChannelSpec {
	/// The node that funds it.
	pub from: &'static str,
	/// The other end.
	pub to: &'static str,
	/// Capacity.
	pub amount_sat: u64,
	/// Given to `to` at opening.
	pub push_msat: u64,
	/// Announced to the network (a private channel reaches invoices only as route hints).
	pub announce: bool,
}

impl ChannelSpec {
	/// An announced channel without push.
	pub const fn public(from: &'static str, to: &'static str, amount_sat: u64) -> ChannelSpec {
		ChannelSpec { from, to, amount_sat, push_msat: 0, announce: true }
	}

	/// A private channel without push.
	pub const fn private(from: &'static str, to: &'static str, amount_sat: u64) -> ChannelSpec {
		ChannelSpec { from, to, amount_sat, push_msat: 0, announce: false }
	}
}

impl TestNet {
	/// Opens every channel of `specs` and returns their ids, in the order of `specs`.
	pub async fn open_channels(&self, specs: &[ChannelSpec]) -> Vec<String> {
		let mut by_opener: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
		for (i, spec) in specs.iter().enumerate() {
			by_opener.entry(spec.from).or_default().push(i);
		}
		let mut ids = vec![String::new(); specs.len()];
		for (opener, indexes) in &by_opener {
			let reqs = indexes
				.iter()
				.map(|&i| {
					let target = self.node(specs[i].to);
					OpenChannelRequest {
						node_id: target.node.node_id(),
						address: target.p2p_addr(),
						amount_sat: specs[i].amount_sat,
						push_msat: Some(specs[i].push_msat),
						announce: Some(specs[i].announce),
					}
				})
				.collect();
			let opened = self.node(opener).node.open_channels(reqs).await.expect("open channels");
			for (&i, channel) in indexes.iter().zip(opened) {
				ids[i] = channel.channel_id;
			}
		}
		self.wait_for("every funding transaction in the mempool", || async {
			self.bitcoind.mempool_size().await.unwrap_or(0) >= by_opener.len()
		})
		.await;
		self.mine(6).await;
		for (spec, id) in specs.iter().zip(&ids) {
			for name in [spec.from, spec.to] {
				self.wait_for(
					&format!("channel {}-{} usable at {name}", spec.from, spec.to),
					|| {
						let id = id.clone();
						async move {
							self.channel(name, &id).await.map(|c| c.is_usable).unwrap_or(false)
						}
					},
				)
				.await;
			}
		}
		let announced = specs.iter().filter(|s| s.announce).count();
		for node in &self.nodes {
			// Announcements go out 6 blocks deep; keep blocks coming while gossip spreads.
			self.wait_for(&format!("{} knows every announced channel", node.name), || async {
				let known = node.node.graph_summary().channel_count_both_directions >= announced;
				if !known {
					let _ = self.bitcoind.mine_empty(1).await;
					tokio::time::sleep(Duration::from_millis(300)).await;
				}
				known
			})
			.await;
		}
		ids
	}
}
