//! The `fulgur` command: daemon, CLI client, regtest launcher.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fulgur::cli::{ClientArgs, ClientCommand};
use fulgur::daemon::NodeArgs;

/// fulgur: a Lightning node on LDK, with a JSON API, a CLI and a one-command regtest network.
#[derive(Parser, Debug)]
#[command(name = "fulgur", version, about)]
struct Cli {
	#[command(flatten)]
	client: ClientArgs,
	#[command(subcommand)]
	command: Command,
}

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
	Up {
		/// Number of nodes (alice, bob, carol, ...), in a line of channels
		#[arg(long, default_value_t = 3)]
		nodes: usize,
		/// Directory of the network (default ~/.fulgur/regtest)
		#[arg(long, env = "FULGUR_REGTEST_DIR")]
		dir: Option<PathBuf>,
	},
	/// Mine blocks on the running network
	Mine {
		/// How many blocks
		blocks: u64,
		/// Pay the block rewards to this address (e.g. a node's `fulgur address`); they
		/// mature after 100 more blocks
		#[arg(long)]
		address: Option<String>,
		/// Directory of the network (default ~/.fulgur/regtest)
		#[arg(long, env = "FULGUR_REGTEST_DIR")]
		dir: Option<PathBuf>,
	},
}

fn main() -> ExitCode {
	let args: Vec<String> = std::env::args().collect();
	if args.get(1).map(String::as_str) == Some("node") {
		if let Err(e) = fulgur::daemon::load_config_file(&args) {
			eprintln!("error: {e}");
			return ExitCode::FAILURE;
		}
	}
	let cli = Cli::parse();
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
			Command::Regtest { command: RegtestCommand::Up { nodes, dir } } => {
				let dir = dir.unwrap_or_else(fulgur::regtest::default_dir);
				fulgur::regtest::run_up(&dir, nodes).await
			}
			Command::Regtest { command: RegtestCommand::Mine { blocks, address, dir } } => {
				let dir = dir.unwrap_or_else(fulgur::regtest::default_dir);
				fulgur::regtest::run_mine(&dir, blocks, address.as_deref()).await
			}
			Command::Tower(args) => fulgur::tower::run(args).await,
			Command::Bench(args) => fulgur::bench::run(args).await,
			Command::Client(command) => {
				let default_key = fulgur::daemon::default_data_dir().join("api_key");
				let key = cli.client.resolve_key_or(&default_key)?;
				fulgur::cli::run_client(&cli.client.api_url, &key, command).await
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
