//! The leader lease: one row, `fulgur_lease (holder, expires_at)`, that says which process
//! may write the node's state. Expiry is always the *server's* clock (`clock_timestamp()`), so
//! the machines' clocks never have to agree.
//!
//! Invariants:
//! - A store is only opened while it holds the lease: taking it succeeds when there is no row
//!   or the row's lease has expired; otherwise the opening fails with [`LeaseHeld`] (who holds
//!   it and until when), and a standby tries again.
//! - Every commit checks the lease in its own statement (see [`super::db`]); a takeover
//!   updates the row, so it and a commit of the old holder serialise.
//! - A thread renews the lease every `renew_every`. When the row says another holder (taken
//!   over), or when no renewal succeeded for `duration − duration / 5` since the last one was
//!   *sent* (so before the server could let anyone else take it, whatever the network did),
//!   the fence is raised: the store writes nothing more and the node stops.
//! - Dropping the lease (after the store's last commit) ends it at once, so a restart or a
//!   standby need not wait for it to run out.

use std::fmt;
use std::io;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::db::{self, Target};
pub use crate::config::LeaseTiming;

const LEASE_THREAD_NAME: &str = "fulgur-pg-lease";

/// The lease table, created with the schema.
pub(super) const CREATE_LEASE: &str = "CREATE TABLE fulgur_lease (
	singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
	holder TEXT NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
)";

/// Takes the lease if nobody holds a live one; answers a row only when taken.
const TAKE: &str = "INSERT INTO fulgur_lease (singleton, holder, expires_at)
	VALUES (TRUE, $1, clock_timestamp() + make_interval(secs => $2))
	ON CONFLICT (singleton) DO UPDATE
		SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
		WHERE fulgur_lease.expires_at <= clock_timestamp()
	RETURNING holder";

/// Who holds the lease, until when (UTC, in words) and for how many more seconds.
const HELD_BY: &str = "SELECT holder,
	to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'),
	extract(epoch FROM expires_at - clock_timestamp())::float8
	FROM fulgur_lease";

/// Extends our lease, only while it is ours and live.
const RENEW: &str =
	"UPDATE fulgur_lease SET expires_at = clock_timestamp() + make_interval(secs => $2)
	WHERE holder = $1 AND expires_at > clock_timestamp()";

/// Ends our lease now (when it still is ours).
const RELEASE: &str = "UPDATE fulgur_lease SET expires_at = clock_timestamp()
	WHERE holder = $1 AND expires_at > clock_timestamp()";

/// Why a store could not be opened: another process holds a live lease.
#[derive(Clone, Debug)]
pub struct LeaseHeld {
	/// The database, as `user@host:port/db`.
	pub database: String,
	/// The holder's id (`host/pid/random`).
	pub holder: String,
	/// When the lease runs out unless renewed, UTC, as the server says.
	pub until_utc: String,
	/// How long until then, by the server's clock.
	pub remaining: Duration,
}

impl fmt::Display for LeaseHeld {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(
			f,
			"the leader lease on PostgreSQL at {} is held by {} until {} UTC ({:.1} s from now \
			 unless renewed): another node runs on this database",
			self.database,
			self.holder,
			self.until_utc,
			self.remaining.as_secs_f64()
		)
	}
}

impl std::error::Error for LeaseHeld {}

/// The [`LeaseHeld`] an opening failed with, if that is why it failed.
pub fn lease_held(e: &io::Error) -> Option<&LeaseHeld> {
	e.get_ref().and_then(|inner| inner.downcast_ref::<LeaseHeld>())
}

/// A holder id unique to one opening of a store: host name, process id, and random bits (a
/// process may open, close and open again).
pub(super) fn new_holder_id() -> String {
	let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
		.map(|name| name.trim().to_owned())
		.unwrap_or_else(|_| "unknown-host".to_owned());
	format!("{host}/pid {}/{:08x}", std::process::id(), rand::random::<u32>())
}

/// The lease held by this store, and the thread renewing it; dropping it stops renewing and
/// releases the lease.
pub(super) struct Lease {
	stop: Option<mpsc::Sender<()>>,
	thread: Option<JoinHandle<()>>,
}

impl Drop for Lease {
	fn drop(&mut self) {
		drop(self.stop.take());
		if let Some(thread) = self.thread.take() {
			let _ = thread.join();
		}
	}
}

/// Connects (creating or migrating the schema), takes the lease and starts renewing it.
/// Fails with [`LeaseHeld`] inside the error when another process holds it.
pub(super) fn take(target: Arc<Target>) -> io::Result<Lease> {
	let (ready_tx, ready_rx) = mpsc::sync_channel(1);
	let (stop, stopped) = mpsc::channel();
	let thread =
		std::thread::Builder::new().name(LEASE_THREAD_NAME.to_owned()).spawn(move || {
			let runtime = match db::runtime() {
				Ok(runtime) => runtime,
				Err(e) => return drop(ready_tx.send(Err(e))),
			};
			let taken = runtime.block_on(async {
				let client = db::connect_and_migrate(&target).await?;
				let sent = Instant::now();
				try_take(&target, &client).await?;
				Ok::<_, io::Error>((client, sent))
			});
			match taken {
				Ok((client, sent)) => {
					drop(ready_tx.send(Ok(())));
					Renewer { target, runtime, client: Some(client), renewed: sent }.run(stopped);
				}
				Err(e) => drop(ready_tx.send(Err(e))),
			}
		})?;
	let lease = Lease { stop: Some(stop), thread: Some(thread) };
	match ready_rx.recv() {
		Ok(Ok(())) => Ok(lease),
		Ok(Err(e)) => Err(e),
		Err(_) => Err(io::Error::other("the PostgreSQL lease thread ended at start")),
	}
}

async fn try_take(target: &Target, client: &Client) -> io::Result<()> {
	let err = |e| to_io(target, e);
	let seconds = target.timing.duration.as_secs_f64();
	let taken = client.query_opt(TAKE, &[&target.holder, &seconds]).await.map_err(err)?;
	if taken.is_some() {
		return Ok(());
	}
	let held = match held_by(target, client).await? {
		Some(held) => held,
		// Released between the two statements: the next attempt takes it.
		None => LeaseHeld {
			database: target.name.clone(),
			holder: "nobody (just released)".to_owned(),
			until_utc: "now".to_owned(),
			remaining: Duration::ZERO,
		},
	};
	Err(io::Error::other(held))
}

async fn held_by(target: &Target, client: &Client) -> io::Result<Option<LeaseHeld>> {
	let err = |e| to_io(target, e);
	let Some(row) = client.query_opt(HELD_BY, &[]).await.map_err(err)? else { return Ok(None) };
	let remaining: f64 = row.try_get(2).map_err(err)?;
	Ok(Some(LeaseHeld {
		database: target.name.clone(),
		holder: row.try_get(0).map_err(err)?,
		until_utc: row.try_get(1).map_err(err)?,
		remaining: Duration::try_from_secs_f64(remaining.max(0.0)).unwrap_or(Duration::ZERO),
	}))
}

fn to_io(target: &Target, e: tokio_postgres::Error) -> io::Error {
	io::Error::other(format!("PostgreSQL at {}: {}", target.name, db::describe(&e)))
}

/// One renewal on `client` (connecting first when there is none).
async fn renew(target: &Target, client: &mut Option<Client>) -> io::Result<Renewal> {
	if client.is_none() {
		*client = Some(db::connect(target).await.map_err(|e| to_io(target, e))?);
	}
	let Some(open) = client.as_ref() else { return Err(io::Error::other("no client")) };
	let seconds = target.timing.duration.as_secs_f64();
	let renewed =
		open.execute(RENEW, &[&target.holder, &seconds]).await.map_err(|e| to_io(target, e))?;
	Ok(if renewed == 1 { Renewal::Renewed } else { Renewal::Lost })
}

/// The renewing thread's state.
struct Renewer {
	target: Arc<Target>,
	runtime: tokio::runtime::Runtime,
	client: Option<Client>,
	/// When the last renewal that succeeded was sent: the lease lasts at least `duration`
	/// from then.
	renewed: Instant,
}

/// What one renewal attempt found.
enum Renewal {
	Renewed,
	Lost,
}

impl Renewer {
	fn run(mut self, stopped: mpsc::Receiver<()>) {
		let timing = self.target.timing;
		let safe_for = timing.duration - timing.duration / 5;
		let mut last_error = String::new();
		loop {
			let deadline = self.renewed + safe_for;
			let wait = timing.renew_every.min(deadline.saturating_duration_since(Instant::now()));
			if stopped.recv_timeout(wait) != Err(mpsc::RecvTimeoutError::Timeout) {
				return self.release();
			}
			if self.target.fence.is_raised() {
				return;
			}
			let now = Instant::now();
			if now >= deadline {
				self.target.fence.raise(format!(
					"could not renew the leader lease on PostgreSQL at {} for {:.1} s (it lasts \
					 {:.1} s): stopping before another node may take it over; last error: {}",
					self.target.name,
					now.duration_since(self.renewed).as_secs_f64(),
					timing.duration.as_secs_f64(),
					if last_error.is_empty() { "no answer" } else { &last_error },
				));
				return;
			}
			let (target, client) = (&self.target, &mut self.client);
			let attempt = self.runtime.block_on(async {
				tokio::time::timeout(deadline - now, renew(target, client)).await
			});
			match attempt {
				Ok(Ok(Renewal::Renewed)) => {
					self.renewed = now;
					last_error.clear();
				}
				Ok(Ok(Renewal::Lost)) => {
					let held = match self.client.as_ref() {
						Some(client) => self.runtime.block_on(held_by(&self.target, client)),
						None => Ok(None),
					};
					let by = match held {
						Ok(Some(held)) => format!("; {held}"),
						_ => String::new(),
					};
					self.target.fence.raise(format!(
						"the leader lease on PostgreSQL at {} was taken over by another node{by}",
						self.target.name
					));
					return;
				}
				Ok(Err(e)) => {
					last_error = e.to_string();
					self.client = None;
				}
				Err(_) => {
					last_error = "no answer".to_owned();
					self.client = None;
				}
			}
		}
	}

	/// Ends our lease (one attempt, within one renewal period): the store has committed its
	/// last batch.
	fn release(mut self) {
		if self.target.fence.is_raised() {
			return;
		}
		let limit = self.target.timing.renew_every;
		let target = Arc::clone(&self.target);
		let client = self.client.take();
		self.runtime.block_on(async move {
			let release = async {
				// The connection in hand may have been cut without our noticing: then once
				// more on a new one.
				if let Some(client) = client {
					if client.execute(RELEASE, &[&target.holder]).await.is_ok() {
						return Ok(1);
					}
				}
				let client = db::connect(&target).await.map_err(|e| to_io(&target, e))?;
				client.execute(RELEASE, &[&target.holder]).await.map_err(|e| to_io(&target, e))
			};
			// Not released: a standby waits for the lease to run out, nothing worse.
			let _ = tokio::time::timeout(limit, release).await;
		});
	}
}
