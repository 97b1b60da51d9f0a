//! The node's fence: raised once, for good, when this process may no longer act as the node
//! (its leader lease on the PostgreSQL store was lost or could not be renewed in time).
//!
//! Invariant: once raised, it stays raised with its first reason; everything that would act
//! for the node (the store's writes, sends, broadcasts) checks it and refuses, and the node
//! stops. A node on a store without a lease has a fence that is never raised.

use std::sync::Arc;

use tokio::sync::watch;

/// A flag with the reason it was raised; cheap to clone, every clone the same flag.
#[derive(Clone)]
pub struct Fence(Arc<watch::Sender<Option<Arc<str>>>>);

impl Default for Fence {
	fn default() -> Fence {
		Fence::new()
	}
}

impl std::fmt::Debug for Fence {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_tuple("Fence").field(&self.reason()).finish()
	}
}

impl Fence {
	/// A fence not raised.
	pub fn new() -> Fence {
		Fence(Arc::new(watch::channel(None).0))
	}

	/// Raises the fence with `reason`; returns whether this call raised it (a second reason
	/// is dropped: the first one is why).
	pub fn raise(&self, reason: impl Into<String>) -> bool {
		let reason: Arc<str> = Arc::from(reason.into());
		self.0.send_if_modified(|current| {
			if current.is_some() {
				return false;
			}
			*current = Some(reason);
			true
		})
	}

	/// Whether the fence is raised.
	pub fn is_raised(&self) -> bool {
		self.0.borrow().is_some()
	}

	/// Why the fence was raised, once it is.
	pub fn reason(&self) -> Option<String> {
		self.0.borrow().as_deref().map(str::to_owned)
	}

	/// Resolves with the reason once the fence is raised (at once if it is).
	pub async fn raised(&self) -> String {
		let mut rx = self.0.subscribe();
		// The sender lives as long as `self`: waiting only ends on a reason.
		let reason =
			rx.wait_for(Option::is_some).await.ok().and_then(|r| r.as_deref().map(str::to_owned));
		match reason {
			Some(reason) => reason,
			None => std::future::pending().await,
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[tokio::test]
	async fn the_first_reason_stays_and_waiters_see_it() {
		let fence = Fence::new();
		assert!(!fence.is_raised());
		let waiter = tokio::spawn({
			let fence = fence.clone();
			async move { fence.raised().await }
		});
		assert!(fence.raise("lease lost"));
		assert!(!fence.raise("second"));
		assert_eq!(waiter.await.unwrap(), "lease lost");
		assert_eq!(fence.reason().as_deref(), Some("lease lost"));
		assert_eq!(fence.raised().await, "lease lost");
	}
}
