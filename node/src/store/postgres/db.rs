//! The PostgreSQL store's connections: each lives on a thread of its own with its own
//! single-threaded tokio runtime, so that no caller (sync or async, inside the node's runtime
//! or not) ever drives a database future: callers only hand over a request and wait for the
//! answer on a channel, exactly as they wait for sled's flusher.
//!
//! A connection that fails for a reason that may pass (the server restarting, the network,
//! too many connections) is opened again, with a growing pause, until it works: the request
//! waits meanwhile, nothing is answered wrongly and nothing is lost. Errors the server gives
//! for the request itself are answered at once. A batch may be committed twice when the
//! connection broke while its `COMMIT` was answered; a batch is the newest state of each of its
//! keys, so committing it again changes nothing.
//!
//! Every batch is fenced by the leader lease (see [`super::lease`]) in its own statement: it
//! locks the lease row `FOR SHARE` where the holder is us and the lease has not expired by the
//! server's clock, and writes only if it found it. A takeover updates that row, so the two
//! serialise: a batch committed before the takeover, or it writes nothing and is refused (never
//! retried, never acknowledged), and the fence is raised. Every request has a time limit, so a
//! connection that went silent is dropped and opened again rather than waited on for good.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls, Statement};

use super::lease::{self, LeaseTiming};
use super::pending::{Change, FullKey};
use crate::fence::Fence;

/// The schema this version of fulgur writes; [`migrate`] brings older databases to it
/// (version 1 had no lease table).
pub(super) const SCHEMA_VERSION: i32 = 2;

/// Serialises schema creation between processes starting at once (any constant works; this is
/// "fulgur" in ASCII).
const SCHEMA_LOCK: i64 = 0x66_75_6c_67_75_72;

/// How long connecting may take unless the URL says (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// First pause before connecting again; doubled up to [`MAX_RETRY_PAUSE`].
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(50);
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Every key the node stores, one row per key.
const CREATE_KV: &str = "CREATE TABLE fulgur_kv (
	primary_namespace TEXT COLLATE \"C\" NOT NULL,
	secondary_namespace TEXT COLLATE \"C\" NOT NULL,
	key TEXT COLLATE \"C\" NOT NULL,
	value BYTEA NOT NULL,
	PRIMARY KEY (primary_namespace, secondary_namespace, key)
)";

/// One batch as one statement, so one transaction and one round trip, fenced by the lease
/// (`$8`: our holder id): the lease row locked if we hold it, then (only then) the removed
/// keys deleted and the written ones inserted or replaced. No key is in both lists. Answers
/// how many lease rows it found: 0 means refused, nothing written. (The lease query is
/// materialised once, as it locks rows and reads a volatile clock.)
const COMMIT_BATCH: &str = "WITH lease AS (
	SELECT holder FROM fulgur_lease
	WHERE holder = $8 AND expires_at > clock_timestamp()
	FOR SHARE
),
removed AS (
	DELETE FROM fulgur_kv
	WHERE EXISTS (SELECT 1 FROM lease) AND (primary_namespace, secondary_namespace, key) IN
		(SELECT * FROM unnest($5::text[], $6::text[], $7::text[]))
),
written AS (
	INSERT INTO fulgur_kv (primary_namespace, secondary_namespace, key, value)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[])
	WHERE EXISTS (SELECT 1 FROM lease)
	ON CONFLICT (primary_namespace, secondary_namespace, key) DO UPDATE SET value = EXCLUDED.value
)
SELECT count(*) FROM lease";

const READ: &str = "SELECT value FROM fulgur_kv
	WHERE primary_namespace = $1 AND secondary_namespace = $2 AND key = $3";
const LIST: &str =
	"SELECT key FROM fulgur_kv WHERE primary_namespace = $1 AND secondary_namespace = $2";
const READ_NAMESPACE: &str = "SELECT key, value FROM fulgur_kv
	WHERE primary_namespace = $1 AND secondary_namespace = $2";
const LIST_ALL: &str = "SELECT primary_namespace, secondary_namespace, key FROM fulgur_kv";

/// Where the store connects, who it writes as, and whether it is closing (then nothing is
/// retried any more) or fenced (then nothing is written or retried any more).
pub(super) struct Target {
	pub(super) config: Config,
	/// `user@host:port/db`, never the password, for messages.
	pub(super) name: String,
	pub(super) closing: Arc<AtomicBool>,
	/// Our lease holder id, unique to this store's opening.
	pub(super) holder: String,
	pub(super) timing: LeaseTiming,
	pub(super) fence: Fence,
}

impl Target {
	pub(super) fn new(url: &str, timing: LeaseTiming, fence: Fence) -> io::Result<Target> {
		let mut config: Config = url.parse().map_err(|e| {
			io::Error::new(io::ErrorKind::InvalidInput, format!("invalid PostgreSQL URL: {e}"))
		})?;
		// A server that does not answer a connection is retried, not waited for forever.
		if config.get_connect_timeout().is_none() {
			config.connect_timeout(CONNECT_TIMEOUT.min(timing.duration));
		}
		// A peer that went silent (a partition) is noticed by the kernel, not only by our
		// request time limits.
		config.keepalives_idle(timing.renew_every.max(Duration::from_secs(1)));
		config.tcp_user_timeout(timing.duration);
		let hosts: Vec<String> = config
			.get_hosts()
			.iter()
			.map(|host| match host {
				tokio_postgres::config::Host::Tcp(name) => name.clone(),
				tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
			})
			.collect();
		let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
		let name = format!(
			"{}@{}:{}/{}",
			config.get_user().unwrap_or("?"),
			hosts.join(","),
			if ports.is_empty() { "5432".to_owned() } else { ports.join(",") },
			config.get_dbname().unwrap_or("?"),
		);
		Ok(Target {
			config,
			name,
			closing: Arc::new(AtomicBool::new(false)),
			holder: lease::new_holder_id(),
			timing,
			fence,
		})
	}

	fn closing(&self) -> bool {
		self.closing.load(Ordering::Relaxed)
	}

	/// Whether a failure is worth another attempt: not once closing or fenced.
	fn retrying(&self) -> bool {
		!self.closing() && !self.fence.is_raised()
	}

	/// The error of a write refused because the fence is raised.
	pub(super) fn fenced_error(&self) -> io::Error {
		let reason = self.fence.reason().unwrap_or_default();
		io::Error::new(
			io::ErrorKind::PermissionDenied,
			format!("PostgreSQL at {}: not written, this node is fenced: {reason}", self.name),
		)
	}

	/// How long one request may take before its connection is given up and opened again.
	fn request_limit(&self) -> Duration {
		self.timing.duration
	}
}

/// A thread's own runtime: single-threaded, with the timers and I/O the client needs.
pub(super) fn runtime() -> io::Result<Runtime> {
	tokio::runtime::Builder::new_current_thread().enable_all().build()
}

/// One open connection and the statements prepared on it.
struct Session {
	client: Client,
	commit_batch: Statement,
	read: Statement,
	list: Statement,
	list_all: Statement,
	read_namespace: Statement,
}

pub(super) async fn connect(target: &Target) -> Result<Client, tokio_postgres::Error> {
	let (client, connection) = target.config.connect(NoTls).await?;
	// Drives the socket; ends (dropping its error: the next request sees it) with the client.
	tokio::spawn(async move {
		let _ = connection.await;
	});
	Ok(client)
}

async fn prepare(client: Client) -> Result<Session, tokio_postgres::Error> {
	Ok(Session {
		commit_batch: client.prepare(COMMIT_BATCH).await?,
		read: client.prepare(READ).await?,
		list: client.prepare(LIST).await?,
		list_all: client.prepare(LIST_ALL).await?,
		read_namespace: client.prepare(READ_NAMESPACE).await?,
		client,
	})
}

async fn open_session(target: &Target) -> Result<Session, tokio_postgres::Error> {
	prepare(connect(target).await?).await
}

/// Whether a failure may pass by itself, so the request is worth trying again on a new
/// connection: anything below the SQL level (connecting, the socket, the server going away)
/// and the server's own "shutting down / starting up / too busy".
fn is_transient(e: &tokio_postgres::Error) -> bool {
	match e.code() {
		None => true,
		Some(code) => {
			let class = &code.code()[..2];
			// 08: connection exception; 57: operator intervention (shutdown, restart); 53:
			// insufficient resources (too many connections, out of memory or disk).
			matches!(class, "08" | "57" | "53") || *code == SqlState::T_R_SERIALIZATION_FAILURE
		}
	}
}

fn to_io(target: &Target, e: tokio_postgres::Error) -> io::Error {
	let kind =
		if e.code().is_some() { io::ErrorKind::Other } else { io::ErrorKind::ConnectionAborted };
	io::Error::new(kind, format!("PostgreSQL at {}: {}", target.name, describe(&e)))
}

/// An error in words: with the server's own message and code when it sent one (the error's
/// `Display` alone says only "db error").
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
	match e.as_db_error() {
		Some(db) => format!("{} ({})", db.message(), db.code().code()),
		None => e.to_string(),
	}
}

/// Runs `$op` (an expression using `$session: &Session`, giving a `Result<_, tokio_postgres::
/// Error>` future) on `$connection` until it succeeds or fails for good, or the store closes
/// or is fenced. An attempt that takes longer than the request limit counts as a broken
/// connection.
macro_rules! retrying {
	($connection:expr, |$session:ident| $op:expr) => {{
		let connection: &mut Connection = $connection;
		let mut pause = FIRST_RETRY_PAUSE;
		let limit = connection.target.request_limit();
		loop {
			if connection.target.fence.is_raised() {
				break Err(connection.target.fenced_error());
			}
			if connection.session.is_none() {
				match tokio::time::timeout(limit, open_session(&connection.target)).await {
					Ok(Ok(session)) => connection.session = Some(session),
					Ok(Err(e)) if !is_transient(&e) || !connection.target.retrying() => {
						break Err(to_io(&connection.target, e));
					}
					Ok(Err(_)) | Err(_) => {
						tokio::time::sleep(pause).await;
						pause = (pause * 2).min(MAX_RETRY_PAUSE);
						continue;
					}
				}
			}
			let Some($session) = connection.session.as_ref() else { continue };
			match tokio::time::timeout(limit, $op).await {
				Ok(Ok(value)) => break Ok(value),
				Ok(Err(e)) if is_transient(&e) && connection.target.retrying() => {
					connection.session = None;
					tokio::time::sleep(pause).await;
					pause = (pause * 2).min(MAX_RETRY_PAUSE);
				}
				Err(_) if connection.target.retrying() => {
					connection.session = None;
				}
				Err(_) => break Err(timed_out(&connection.target)),
				Ok(Err(e)) => {
					if e.code().is_none() {
						connection.session = None;
					}
					break Err(to_io(&connection.target, e));
				}
			}
		}
	}};
}

fn timed_out(target: &Target) -> io::Error {
	io::Error::new(io::ErrorKind::TimedOut, format!("PostgreSQL at {}: no answer", target.name))
}

/// A connection that is opened when needed and opened again after a transient failure.
pub(super) struct Connection {
	target: Arc<Target>,
	session: Option<Session>,
}

impl Connection {
	/// Connects now (at start-up a database that cannot be reached is an error, not a wait)
	/// and brings the schema up to date.
	pub(super) async fn open(target: Arc<Target>) -> io::Result<Connection> {
		let client = connect_and_migrate(&target).await?;
		let session = prepare(client).await.map_err(|e| to_io(&target, e))?;
		Ok(Connection { target, session: Some(session) })
	}

	/// Commits `batch` in one transaction.
	pub(super) async fn commit(&mut self, batch: &[(FullKey, Change)]) -> io::Result<()> {
		let (mut wp, mut ws, mut wk, mut wv) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
		let (mut rp, mut rs, mut rk) = (Vec::new(), Vec::new(), Vec::new());
		for ((p, s, k), change) in batch {
			match change {
				Some(value) => {
					wp.push(p.as_str());
					ws.push(s.as_str());
					wk.push(k.as_str());
					wv.push(&value[..]);
				}
				None => {
					rp.push(p.as_str());
					rs.push(s.as_str());
					rk.push(k.as_str());
				}
			}
		}
		let holder = self.target.holder.clone();
		let params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] =
			[&wp, &ws, &wk, &wv, &rp, &rs, &rk, &holder];
		let row =
			retrying!(self, |session| session.client.query_one(&session.commit_batch, &params))?;
		let leases: i64 = row.try_get(0).map_err(|e| to_io(&self.target, e))?;
		if leases == 1 {
			return Ok(());
		}
		// Refused by the database: another process holds the lease (or ours ran out).
		let reason = "the leader lease on the database is no longer ours: a write was refused";
		self.target.fence.raise(reason);
		Err(self.target.fenced_error())
	}

	/// The stored value of a key, if any.
	pub(super) async fn read(&mut self, key: &FullKey) -> io::Result<Option<Vec<u8>>> {
		let (p, s, k) = (key.0.as_str(), key.1.as_str(), key.2.as_str());
		let row =
			retrying!(self, |session| session.client.query_opt(&session.read, &[&p, &s, &k]))?;
		row.map(|row| row.try_get(0).map_err(|e| to_io(&self.target, e))).transpose()
	}

	/// The stored keys of a namespace.
	pub(super) async fn list(&mut self, p: &str, s: &str) -> io::Result<Vec<String>> {
		let rows = retrying!(self, |session| session.client.query(&session.list, &[&p, &s]))?;
		rows.iter().map(|row| row.try_get(0).map_err(|e| to_io(&self.target, e))).collect()
	}

	/// The stored keys of a namespace and their values, in one query.
	pub(super) async fn read_namespace(
		&mut self, p: &str, s: &str,
	) -> io::Result<Vec<(String, Vec<u8>)>> {
		let rows =
			retrying!(self, |session| session.client.query(&session.read_namespace, &[&p, &s]))?;
		rows.iter()
			.map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
			.collect::<Result<_, tokio_postgres::Error>>()
			.map_err(|e| to_io(&self.target, e))
	}

	/// Every stored key.
	pub(super) async fn list_all(&mut self) -> io::Result<Vec<FullKey>> {
		let rows = retrying!(self, |session| session.client.query(&session.list_all, &[]))?;
		rows.iter()
			.map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
			.collect::<Result<_, tokio_postgres::Error>>()
			.map_err(|e| to_io(&self.target, e))
	}
}

/// Connects (once, no retry) and brings the schema up to date.
pub(super) async fn connect_and_migrate(target: &Target) -> io::Result<Client> {
	let mut client = connect(target).await.map_err(|e| to_io(target, e))?;
	migrate(&mut client, target).await?;
	Ok(client)
}

/// Creates the schema in an empty database, or checks (and later: migrates) an existing
/// one, under a lock so that two processes starting at once do not both create it.
async fn migrate(client: &mut Client, target: &Target) -> io::Result<()> {
	let err = |e| to_io(target, e);
	let transaction = client.transaction().await.map_err(err)?;
	transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK]).await.map_err(err)?;
	transaction
		.batch_execute(
			"CREATE TABLE IF NOT EXISTS fulgur_schema (
					singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
					version INTEGER NOT NULL
				)",
		)
		.await
		.map_err(err)?;
	let version: Option<i32> = transaction
		.query_opt("SELECT version FROM fulgur_schema", &[])
		.await
		.map_err(err)?
		.map(|row| row.try_get(0))
		.transpose()
		.map_err(err)?;
	match version {
		None => {
			transaction.batch_execute(CREATE_KV).await.map_err(err)?;
			transaction.batch_execute(lease::CREATE_LEASE).await.map_err(err)?;
			transaction
				.execute("INSERT INTO fulgur_schema (version) VALUES ($1)", &[&SCHEMA_VERSION])
				.await
				.map_err(err)?;
		}
		Some(1) => {
			transaction.batch_execute(lease::CREATE_LEASE).await.map_err(err)?;
			transaction
				.execute("UPDATE fulgur_schema SET version = $1", &[&SCHEMA_VERSION])
				.await
				.map_err(err)?;
		}
		Some(SCHEMA_VERSION) => {}
		Some(newer) if newer > SCHEMA_VERSION => {
			return Err(io::Error::new(
				io::ErrorKind::InvalidData,
				format!(
					"PostgreSQL at {}: the database has schema version {newer}, newer than \
						 this fulgur's ({SCHEMA_VERSION}): run a newer fulgur",
					target.name
				),
			));
		}
		Some(older) => {
			return Err(io::Error::new(
				io::ErrorKind::InvalidData,
				format!(
					"PostgreSQL at {}: unknown schema version {older} (this fulgur knows \
						 {SCHEMA_VERSION})",
					target.name
				),
			));
		}
	}
	transaction.commit().await.map_err(err)
}
