//! Limits on inbound peer connections: a stranger can open TCP connections for free, and each
//! one costs the node a file descriptor and a task until LDK gives up on its handshake (one
//! or two timer ticks later). So at most [`MAX_INBOUND_CONNECTIONS`] inbound connections are
//! open at once, and at most [`MAX_INBOUND_PER_ADDRESS`] from one address (IPv4) or one /64
//! (IPv6); beyond, a connection is closed at once. Our own connections out (to channel peers
//! and remembered peers) are never limited, so a crowd of strangers cannot cut us off from
//! our channels.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use fulgur_base::net::SourceGroup;

use crate::config::InboundLimitsConfig;
#[cfg(doc)]
use crate::config::{MAX_INBOUND_CONNECTIONS, MAX_INBOUND_PER_ADDRESS};

/// Counts open inbound connections, overall and per source.
pub struct InboundLimits {
	state: Mutex<Counts>,
	max_total: usize,
	max_per_source: usize,
}

#[derive(Default)]
struct Counts {
	total: usize,
	per_source: HashMap<SourceGroup, usize>,
	/// Connections closed at once since start (for the log).
	refused: u64,
}

/// An admitted connection; dropping it frees its place.
pub struct Admitted {
	limits: Arc<InboundLimits>,
	source: SourceGroup,
}

impl Drop for Admitted {
	fn drop(&mut self) {
		let mut counts = self.limits.counts();
		counts.total = counts.total.saturating_sub(1);
		if let Some(n) = counts.per_source.get_mut(&self.source) {
			*n = n.saturating_sub(1);
			if *n == 0 {
				counts.per_source.remove(&self.source);
			}
		}
	}
}

impl InboundLimits {
	/// The node's limits, as configured (by default [`MAX_INBOUND_CONNECTIONS`] and
	/// [`MAX_INBOUND_PER_ADDRESS`]).
	pub fn new(config: InboundLimitsConfig) -> Arc<InboundLimits> {
		InboundLimits::with(config.max_connections, config.max_per_address)
	}

	/// Other limits (tests).
	pub fn with(max_total: usize, max_per_source: usize) -> Arc<InboundLimits> {
		Arc::new(InboundLimits { state: Mutex::default(), max_total, max_per_source })
	}

	fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
		self.state.lock().unwrap_or_else(|e| e.into_inner())
	}

	/// A place for a connection from `ip`, or `Err(refused so far)` when none is left.
	pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admitted, u64> {
		let source = SourceGroup::of(ip);
		let mut counts = self.counts();
		let from_source = counts.per_source.get(&source).copied().unwrap_or(0);
		if counts.total >= self.max_total || from_source >= self.max_per_source {
			counts.refused += 1;
			return Err(counts.refused);
		}
		counts.total += 1;
		*counts.per_source.entry(source).or_insert(0) += 1;
		Ok(Admitted { limits: Arc::clone(self), source })
	}

	/// Open inbound connections.
	pub fn open(&self) -> usize {
		self.counts().total
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn ip(s: &str) -> IpAddr {
		s.parse().expect("ip")
	}

	#[test]
	fn caps_each_source_and_the_total_and_frees_places() {
		let limits = InboundLimits::with(3, 2);
		let a1 = limits.admit(ip("10.0.0.1")).expect("first");
		let _a2 = limits.admit(ip("::ffff:10.0.0.1")).expect("second, same address");
		assert_eq!(limits.admit(ip("10.0.0.1")).err(), Some(1), "third from one address");
		// One /64 is one source.
		let _b1 = limits.admit(ip("2001:db8::1")).expect("v6");
		assert_eq!(limits.admit(ip("10.0.0.2")).err(), Some(2), "the total is full");
		drop(a1);
		assert_eq!(limits.open(), 2);
		let _c = limits.admit(ip("10.0.0.2")).expect("a freed place");
		let limits = InboundLimits::with(10, 1);
		let _d = limits.admit(ip("2001:db8::1")).expect("v6");
		assert!(limits.admit(ip("2001:db8::ffff")).is_err(), "same /64");
		assert!(limits.admit(ip("2001:db8:0:1::1")).is_ok(), "another /64");
	}
}
