//! A throwaway PostgreSQL server for tests and benchmarks: a fresh cluster in a temporary
//! directory (`initdb`, then `pg_ctl start` on a free local port, its unix socket in that
//! directory too), one database (more on request), and its URL. Dropping it stops the server and removes the
//! directory, so nothing outlives the test but what the test itself copied out.
//!
//! PostgreSQL refuses to run as root: as root, every server program runs as the `postgres`
//! user (`runuser -u postgres --`) and the directory is handed to it. The programs are looked
//! up in `$FULGUR_PG_BIN`, then Debian's `/usr/lib/postgresql/<version>/bin` (newest first),
//! then `PATH`; [`ThrowawayPostgres::provide`] installs the Debian package `postgresql` first
//! when they are missing (see [`crate::packages`]), [`ThrowawayPostgres::start`] only says so.

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// The database every throwaway cluster holds, named in its URL.
pub const DATABASE: &str = "fulgur";

/// The Debian package with the server programs.
const PACKAGE: &str = "postgresql";

/// The superuser `initdb` creates; also the OS user the server runs as when we are root.
const SUPERUSER: &str = "postgres";

/// Why the package is installed, in the installer's one line.
const WHY: &str = "the PostgreSQL store's tests and benchmarks run a throwaway PostgreSQL server";

/// How many ports are tried when the free port found was taken before the server bound it.
const PORT_ATTEMPTS: usize = 3;

/// A running PostgreSQL server that exists for one test or benchmark; stopped and deleted on
/// drop.
pub struct ThrowawayPostgres {
	dir: PathBuf,
	bin: PathBuf,
	port: u16,
	as_postgres: bool,
	url: String,
}

impl ThrowawayPostgres {
	/// Installs the Debian package `postgresql` if its programs are missing (as root with
	/// apt-get; otherwise fails naming the command), then [`ThrowawayPostgres::start`]s.
	/// Blocks while apt runs.
	pub fn provide() -> io::Result<ThrowawayPostgres> {
		static INSTALLING: Mutex<()> = Mutex::new(());
		{
			let _one_at_a_time = INSTALLING.lock().unwrap_or_else(PoisonError::into_inner);
			if find_bin_dir().is_none() {
				crate::packages::install_packages("fulgur", WHY, &[PACKAGE])
					.map_err(io::Error::other)?;
			}
		}
		ThrowawayPostgres::start()
	}

	/// Creates and starts a cluster with one database, [`DATABASE`], its superuser
	/// `postgres` allowed in without a password from this machine only.
	pub fn start() -> io::Result<ThrowawayPostgres> {
		let bin = find_bin_dir().ok_or_else(|| {
			io::Error::new(
				io::ErrorKind::NotFound,
				format!(
					"no PostgreSQL server programs (initdb, pg_ctl) in $FULGUR_PG_BIN, \
					 /usr/lib/postgresql/*/bin or PATH: install the Debian package `{PACKAGE}` \
					 (`apt-get install -y --no-install-recommends {PACKAGE}`)"
				),
			)
		})?;
		let as_postgres = running_as_root();
		let dir = make_private_dir()?;
		let mut server = ThrowawayPostgres { dir, bin, port: 0, as_postgres, url: String::new() };
		if as_postgres {
			let owner = format!("{SUPERUSER}:{SUPERUSER}");
			let path = server.dir.display().to_string();
			run_checked(Command::new("chown").args([owner.as_str(), path.as_str()]), "chown")?;
		}
		let data = server.data_dir().display().to_string();
		server.run(
			"initdb",
			&["-D", &data, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"],
		)?;
		let mut last_error = None;
		for _ in 0..PORT_ATTEMPTS {
			server.port = free_port()?;
			match server.start_server() {
				Ok(()) => {
					last_error = None;
					break;
				}
				Err(e) => last_error = Some(e),
			}
		}
		if let Some(e) = last_error {
			return Err(e);
		}
		let port = server.port.to_string();
		server.run("createdb", &["-h", "127.0.0.1", "-p", &port, "-U", SUPERUSER, DATABASE])?;
		server.url = format!("postgres://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}");
		Ok(server)
	}

	/// Creates another database `name` (letters, digits and `_`) on this server, and returns
	/// its URL: one per node when several share the server.
	pub fn create_database(&self, name: &str) -> io::Result<String> {
		if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
			return Err(io::Error::new(
				io::ErrorKind::InvalidInput,
				format!("database name {name:?}: letters, digits and _ only"),
			));
		}
		let port = self.port.to_string();
		self.run("createdb", &["-h", "127.0.0.1", "-p", &port, "-U", SUPERUSER, name])?;
		Ok(format!("postgres://{SUPERUSER}@127.0.0.1:{port}/{name}"))
	}

	/// `postgres://postgres@127.0.0.1:<port>/fulgur`.
	pub fn url(&self) -> &str {
		&self.url
	}

	/// The TCP port the server listens on (127.0.0.1 only).
	pub fn port(&self) -> u16 {
		self.port
	}

	/// Stops the server the way a crash would (`pg_ctl stop -m immediate`: no checkpoint,
	/// connections cut): what survives is exactly what was committed.
	pub fn crash(&self) -> io::Result<()> {
		let data = self.data_dir().display().to_string();
		self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]).map(drop)
	}

	/// Starts the server again on the same port after [`ThrowawayPostgres::crash`] (recovery
	/// replays the WAL).
	pub fn restart(&self) -> io::Result<()> {
		self.start_server()
	}

	/// The server's log so far (for a failing test's message).
	pub fn log(&self) -> String {
		std::fs::read_to_string(self.log_file()).unwrap_or_default()
	}

	fn data_dir(&self) -> PathBuf {
		self.dir.join("data")
	}

	fn log_file(&self) -> PathBuf {
		self.dir.join("server.log")
	}

	fn start_server(&self) -> io::Result<()> {
		let data = self.data_dir().display().to_string();
		let log = self.log_file().display().to_string();
		// Small: several of these run at once on a small machine. fsync stays on: what a test
		// proves about durability must hold on a real server.
		let options = format!(
			"-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=30 \
			 -c shared_buffers=16MB",
			self.port,
			self.dir.display()
		);
		self.run("pg_ctl", &["-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options, "start"])
			.map(drop)
			.map_err(|e| io::Error::new(e.kind(), format!("{e}; server log:\n{}", self.log())))
	}

	/// Runs one of the server's programs, as `postgres` when we are root.
	fn run(&self, program: &str, args: &[&str]) -> io::Result<Output> {
		let path = self.bin.join(program);
		let mut command = if self.as_postgres {
			let mut command = Command::new("runuser");
			command.args(["-u", SUPERUSER, "--"]).arg(&path);
			command
		} else {
			Command::new(&path)
		};
		// The server's working directory must be one `postgres` may enter.
		command.args(args).current_dir(&self.dir);
		run_checked(&mut command, program)
	}
}

impl Drop for ThrowawayPostgres {
	fn drop(&mut self) {
		// Already stopped (after a crash() not followed by restart()) is fine: either way the
		// directory goes, and a server can no longer be running in it.
		let _ = self.crash();
		let _ = std::fs::remove_dir_all(&self.dir);
	}
}

fn run_checked(command: &mut Command, what: &str) -> io::Result<Output> {
	let output = command.stdin(Stdio::null()).output().map_err(|e| {
		io::Error::new(e.kind(), format!("cannot run {what} ({:?}): {e}", command.get_program()))
	})?;
	if output.status.success() {
		return Ok(output);
	}
	Err(io::Error::other(format!(
		"{what} failed ({}): {}{}",
		output.status,
		String::from_utf8_lossy(&output.stdout),
		String::from_utf8_lossy(&output.stderr)
	)))
}

/// The directory holding `initdb` and `pg_ctl` (Debian keeps them out of `PATH`, behind
/// wrappers that pick a cluster).
fn find_bin_dir() -> Option<PathBuf> {
	let has_programs = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
	if let Some(dir) = std::env::var_os("FULGUR_PG_BIN").map(PathBuf::from) {
		return has_programs(&dir).then_some(dir);
	}
	let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
		.into_iter()
		.flatten()
		.flatten()
		.filter_map(|entry| {
			let version = entry.file_name().to_str()?.parse().ok()?;
			Some((version, entry.path().join("bin")))
		})
		.collect();
	versions.sort();
	if let Some((_, dir)) = versions.into_iter().rev().find(|(_, dir)| has_programs(dir)) {
		return Some(dir);
	}
	let path = std::env::var_os("PATH")?;
	std::env::split_paths(&path).find(|dir| has_programs(dir))
}

fn running_as_root() -> bool {
	Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

/// A new directory under the system's temporary directory, private to its owner.
fn make_private_dir() -> io::Result<PathBuf> {
	use std::os::unix::fs::DirBuilderExt;
	static NEXT: AtomicU64 = AtomicU64::new(0);
	let nanos = std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map(|d| d.subsec_nanos())
		.unwrap_or(0);
	let name = format!(
		"fulgur-pg-{}-{}-{nanos}",
		std::process::id(),
		NEXT.fetch_add(1, Ordering::Relaxed)
	);
	let dir = std::env::temp_dir().join(name);
	std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
	Ok(dir)
}

/// A port nobody listens on right now (the server may still lose a race for it: the caller
/// retries).
fn free_port() -> io::Result<u16> {
	Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_cluster_starts_survives_a_crash_and_is_gone_after_drop() {
		let server = ThrowawayPostgres::provide().unwrap();
		assert!(server.url().ends_with(&format!(":{}/{DATABASE}", server.port())));
		let dir = server.dir.clone();
		assert!(dir.join("data").join("PG_VERSION").is_file());
		std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
		server.crash().unwrap();
		assert!(std::net::TcpStream::connect(("127.0.0.1", server.port())).is_err());
		server.restart().unwrap();
		std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
		let other = server.create_database("second_db").unwrap();
		assert!(other.ends_with(&format!(":{}/second_db", server.port())), "{other}");
		assert!(server.create_database("bad name; DROP").is_err());
		drop(server);
		assert!(!dir.exists(), "{dir:?} left behind");
	}
}
