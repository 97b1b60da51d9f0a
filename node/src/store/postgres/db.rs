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

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls, Statement};

use super::pending::{Change, FullKey};

/// The schema this version of fulgur writes; [`migrate`] brings older databases to it.
pub(super) const SCHEMA_VERSION: i32 = 1;

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

/// One batch as one statement, so one transaction and one round trip: the removed keys
/// deleted, the written ones inserted or replaced. No key is in both lists.
const COMMIT_BATCH: &str = "WITH removed AS (
	DELETE FROM fulgur_kv
	WHERE (primary_namespace, secondary_namespace, key) IN
		(SELECT * FROM unnest($5::text[], $6::text[], $7::text[]))
)
INSERT INTO fulgur_kv (primary_namespace, secondary_namespace, key, value)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[])
ON CONFLICT (primary_namespace, secondary_namespace, key) DO UPDATE SET value = EXCLUDED.value";

const READ: &str = "SELECT value FROM fulgur_kv
	WHERE primary_namespace = $1 AND secondary_namespace = $2 AND key = $3";
const LIST: &str =
	"SELECT key FROM fulgur_kv WHERE primary_namespace = $1 AND secondary_namespace = $2";
const LIST_ALL: &str = "SELECT primary_namespace, secondary_namespace, key FROM fulgur_kv";

/// Where the store connects, and whether it is closing (then nothing is retried any more).
pub(super) struct Target {
	pub(super) config: Config,
	/// `user@host:port/db`, never the password, for messages.
	pub(super) name: String,
	pub(super) closing: Arc<AtomicBool>,
}

impl Target {
	pub(super) fn new(url: &str) -> io::Result<Target> {
		let mut config: Config = url.parse().map_err(|e| {
			io::Error::new(io::ErrorKind::InvalidInput, format!("invalid PostgreSQL URL: {e}"))
		})?;
		// A server that does not answer a connection is retried, not waited for forever.
		if config.get_connect_timeout().is_none() {
			config.connect_timeout(CONNECT_TIMEOUT);
		}
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
		Ok(Target { config, name, closing: Arc::new(AtomicBool::new(false)) })
	}

	fn closing(&self) -> bool {
		self.closing.load(Ordering::Relaxed)
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
}

async fn connect(target: &Target) -> Result<Client, tokio_postgres::Error> {
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
	io::Error::new(kind, format!("PostgreSQL at {}: {e}", target.name))
}

/// Runs `$op` (an expression using `$session: &Session`, giving a `Result<_, tokio_postgres::
/// Error>` future) on `$connection` until it succeeds or fails for good, or the store closes.
macro_rules! retrying {
	($connection:expr, |$session:ident| $op:expr) => {{
		let connection: &mut Connection = $connection;
		let mut pause = FIRST_RETRY_PAUSE;
		loop {
			if connection.session.is_none() {
				match open_session(&connection.target).await {
					Ok(session) => connection.session = Some(session),
					Err(e) if is_transient(&e) && !connection.target.closing() => {
						tokio::time::sleep(pause).await;
						pause = (pause * 2).min(MAX_RETRY_PAUSE);
						continue;
					}
					Err(e) => break Err(to_io(&connection.target, e)),
				}
			}
			let Some($session) = connection.session.as_ref() else { continue };
			match $op.await {
				Ok(value) => break Ok(value),
				Err(e) if is_transient(&e) && !connection.target.closing() => {
					connection.session = None;
					tokio::time::sleep(pause).await;
					pause = (pause * 2).min(MAX_RETRY_PAUSE);
				}
				Err(e) => {
					if e.code().is_none() {
						connection.session = None;
					}
					break Err(to_io(&connection.target, e));
				}
			}
		}
	}};
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
		let err = |e| to_io(&target, e);
		let mut client = connect(&target).await.map_err(err)?;
		migrate(&mut client, &target).await?;
		let session = prepare(client).await.map_err(err)?;
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
		let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] =
			[&wp, &ws, &wk, &wv, &rp, &rs, &rk];
		retrying!(self, |session| session.client.execute(&session.commit_batch, &params)).map(drop)
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

	/// Every stored key.
	pub(super) async fn list_all(&mut self) -> io::Result<Vec<FullKey>> {
		let rows = retrying!(self, |session| session.client.query(&session.list_all, &[]))?;
		rows.iter()
			.map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
			.collect::<Result<_, tokio_postgres::Error>>()
			.map_err(|e| to_io(&self.target, e))
	}
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
			transaction
				.execute("INSERT INTO fulgur_schema (version) VALUES ($1)", &[&SCHEMA_VERSION])
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
