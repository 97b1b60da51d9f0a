//! Opening the PostgreSQL store as the leader, or (`standby`) waiting until the leader lease
//! is free and then taking it.
//!
//! Invariant: the node builds nothing from the database before its store holds the lease; a
//! leader that finds a live lease held by another process does not start, and says who holds
//! it and until when.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::chain::SyncStatus;
use crate::config::NodeConfig;
use crate::fence::Fence;
use crate::logger::FulgurLogger;
use crate::store::{lease_held, PostgresStore};
use crate::NodeError;

/// A standby that keeps seeing the same holder says so again this often.
const WAITING_LOG_EVERY: Duration = Duration::from_secs(60);

/// The shortest pause between two attempts to take the lease.
const MIN_PAUSE: Duration = Duration::from_millis(100);

/// Connects the PostgreSQL store holding the leader lease, `fence` raised once it is lost;
/// with `config.standby`, waits for the lease first.
pub(super) async fn open_postgres(
	config: &NodeConfig, fence: &Fence, logger: &Arc<FulgurLogger>, status: &SyncStatus,
) -> Result<PostgresStore, NodeError> {
	let url = config.postgres_url.clone().ok_or_else(|| {
		NodeError::InvalidRequest("the postgres store needs a database URL (--postgres-url)".into())
	})?;
	let timing = config.lease;
	let mut last_seen: Option<(String, Instant)> = None;
	loop {
		let (url, fence) = (url.clone(), fence.clone());
		// Off the runtime: connecting and creating the schema block.
		let opened =
			tokio::task::spawn_blocking(move || PostgresStore::open_leader(&url, timing, fence))
				.await
				.map_err(|e| NodeError::Internal(format!("opening the PostgreSQL store: {e}")))?;
		let e = match opened {
			Ok(store) => {
				crate::info!(
					logger,
					"holding the leader lease on PostgreSQL at {} as {}",
					store.target(),
					store.lease_holder()
				);
				return Ok(store);
			}
			Err(e) => e,
		};
		let Some(held) = lease_held(&e) else {
			return Err(NodeError::Persistence(format!("opening the PostgreSQL store: {e}")));
		};
		if !config.standby {
			return Err(NodeError::Persistence(format!(
				"{held}; to wait for it and take over when it ends, start this node with --standby"
			)));
		}
		let said_lately = last_seen
			.as_ref()
			.is_some_and(|(holder, at)| *holder == held.holder && at.elapsed() < WAITING_LOG_EVERY);
		if !said_lately {
			// A warning, so that it reaches the terminal too: this node is not running yet.
			crate::warn!(logger, "standby: {held}; waiting for it to end");
			last_seen = Some((held.holder.clone(), Instant::now()));
		}
		status.set(&format!("standby: waiting for the leader lease, held by {}", held.holder));
		// Try again as it runs out (a holder that renews it moves that on).
		let pause = (held.remaining + MIN_PAUSE).min(timing.renew_every).max(MIN_PAUSE);
		tokio::time::sleep(pause).await;
	}
}
