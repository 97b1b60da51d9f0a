//! The `fulgur` command: daemon, CLI client, regtest launcher.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use fulgur::cli::{ClientArgs, ClientCommand};
use fulgur::daemon::NodeArgs;

/// `fulgur --version`: this version and the LDK (`lightning` crate) version it is built on,
/// which the build script reads from Cargo.lock.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (LDK ", env!("FULGUR_LDK_VERSION"), ")");

/// fulgur: a Lightning node on LDK, with a JSON API, a CLI and a one-command regtest network.
#[derive(Parser, Debug)]
#[command(name = "fulgur", version = VERSION, about)]
struct Cli {
	#[command(subcommand)]
	command: Command,
}

/// The command line: [`Cli`] with the client options on the client commands only, and the
/// layered commands' help saying where else each option can be set.
fn command_line() -> clap::Command {
	fulgur::config::document(fulgur::cli::with_client_options(Cli::command()))
}

/// `regtest mine --dir` reads the variable of `regtest up --dir` (a test checks they agree).
const REGTEST_DIR_ENV: &str = "FULGUR_REGTEST_DIR";

#[derive(Subcommand, Debug)]
enum Command {
	/// Run the node daemon with its HTTP API
	Node(NodeArgs),
	/// A local regtest network: bitcoind plus fulgur nodes with channels
	Regtest {
		#[command(subcommand)]
		command: RegtestCommand,
	},
	/// Run a standalone watchtower (The Eye of Satoshi API) on its own port and data dir
	Tower(fulgur::tower::TowerArgs),
	/// Benchmarks: print numbers, run their baseline in the same run
	Bench(fulgur::bench::BenchArgs),
	#[command(flatten)]
	Client(ClientCommand),
}

#[derive(Subcommand, Debug)]
enum RegtestCommand {
	/// Start (or restart from DIR) the network and run until Ctrl-C
	Up(fulgur::regtest::UpArgs),
	/// Mine blocks on the running network
	Mine {
		/// How many blocks
		blocks: u64,
		/// Pay the block rewards to this address (e.g. a node's `fulgur address`); they
		/// mature after 100 more blocks
		#[arg(long)]
		address: Option<String>,
		/// Directory of the network (default ~/.fulgur/regtest)
		#[arg(long, env = REGTEST_DIR_ENV)]
		dir: Option<PathBuf>,
	},
}

fn main() -> ExitCode {
	let argv: Vec<OsString> = std::env::args_os().collect();
	let environment = fulgur::config::Environment::from_process();
	let warn = &mut |warning: String| eprintln!("warning: {warning}");
	let matches = match fulgur::config::load(command_line(), &argv, &environment, warn) {
		Ok(matches) => matches,
		Err(fulgur::config::Error::Command(e)) => e.exit(),
		Err(e) => {
			eprintln!("error: {e}");
			return ExitCode::FAILURE;
		}
	};
	let parsed = Cli::from_arg_matches(&matches)
		.and_then(|cli| ClientArgs::from_matches(&matches).map(|client| (cli, client)));
	let (cli, client) = parsed.unwrap_or_else(|e| e.exit());
	let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
		Ok(runtime) => runtime,
		Err(e) => {
			eprintln!("error: cannot start the async runtime: {e}");
			return ExitCode::FAILURE;
		}
	};
	let result = runtime.block_on(async move {
		match cli.command {
			Command::Node(args) => fulgur::daemon::run(args).await,
			Command::Regtest { command: RegtestCommand::Up(up) } => {
				let dir = up.dir.unwrap_or_else(fulgur::regtest::default_dir);
				fulgur::regtest::run_up(&dir, up.nodes).await
			}
			Command::Regtest { command: RegtestCommand::Mine { blocks, address, dir } } => {
				let dir = dir.unwrap_or_else(fulgur::regtest::default_dir);
				fulgur::regtest::run_mine(&dir, blocks, address.as_deref()).await
			}
			Command::Tower(args) => fulgur::tower::run(args).await,
			Command::Bench(args) => fulgur::bench::run(args).await,
			Command::Client(command) => {
				let default_key = fulgur::daemon::default_data_dir().join("api_key");
				let key = client.resolve_key_or(&default_key)?;
				fulgur::cli::run_client(&client.api_url, &key, command).await
			}
		}
	});
	match result {
		Ok(()) => ExitCode::SUCCESS,
		Err(e) => {
			eprintln!("error: {e}");
			ExitCode::FAILURE
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn command() -> clap::Command {
		command_line()
	}

	/// What `fulgur <args> --help` prints.
	fn help(args: &[&str]) -> String {
		let argv = std::iter::once("fulgur").chain(args.iter().copied()).chain(["--help"]);
		match command().try_get_matches_from(argv) {
			Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => e.to_string(),
			other => panic!("{args:?} --help: {other:?}"),
		}
	}

	const CLIENT_OPTIONS: [&str; 3] = ["--api-url", "--api-key", "--api-key-file"];

	#[test]
	fn command_line_is_consistent() {
		command().debug_assert();
	}

	#[test]
	fn client_options_only_in_the_client_commands_help() {
		for args in [
			&["bench", "payments"][..],
			&["bench"],
			&["node"],
			&["tower"],
			&["regtest"],
			&["regtest", "up"],
			&["regtest", "mine"],
		] {
			let help = help(args);
			for option in CLIENT_OPTIONS {
				assert!(!help.contains(option), "`fulgur {args:?} --help` lists {option}:\n{help}");
			}
		}
		for args in [&["info"][..], &["pay"], &["invoice", "create"], &["key", "create"]] {
			let help = help(args);
			for option in CLIENT_OPTIONS {
				assert!(help.contains(option), "`fulgur {args:?} --help` lacks {option}:\n{help}");
			}
		}
	}

	#[test]
	fn regtest_mine_reads_the_directory_variable_of_regtest_up() {
		let command = command();
		let regtest = command.find_subcommand("regtest").expect("regtest");
		let up = regtest.find_subcommand("up").expect("regtest up");
		let mine = regtest.find_subcommand("mine").expect("regtest mine");
		let layered = fulgur::config::LAYERED.iter().find(|l| l.path == ["regtest", "up"]);
		let derived = layered.expect("regtest up is layered").env_name("dir");
		assert!(up.get_arguments().any(|arg| arg.get_id() == "dir"));
		let dir = mine.get_arguments().find(|arg| arg.get_id() == "dir").expect("mine --dir");
		assert_eq!(dir.get_env(), Some(std::ffi::OsStr::new(&derived)));
	}

	#[test]
	fn version_names_the_ldk_version_in_cargo_lock() {
		let lock = include_str!("../Cargo.lock");
		let ldk = lock
			.split("[[package]]")
			.find(|package| package.contains("\nname = \"lightning\"\n"))
			.and_then(|package| package.lines().find_map(|l| l.strip_prefix("version = ")))
			.map(|version| version.trim_matches('"'))
			.expect("lightning in Cargo.lock");
		let version = command().render_version();
		assert_eq!(version.trim(), format!("fulgur {} (LDK {ldk})", env!("CARGO_PKG_VERSION")));
	}
}
