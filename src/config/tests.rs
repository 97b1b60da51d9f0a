//! The layered loader driven with the real option structs of `fulgur node`, `fulgur tower` and
//! `fulgur regtest up`, an explicit environment and configuration files on disk.

use std::path::Path;

use bitcoin::Network;
use clap::{Args, FromArgMatches};

use super::*;
use crate::daemon::NodeArgs;
use crate::regtest::UpArgs;
use crate::tower::TowerArgs;

/// The layered part of the `fulgur` command line, documented as `main` does it.
fn command_line() -> Command {
	let regtest = Command::new("regtest").subcommand(UpArgs::augment_args(Command::new("up")));
	document(
		Command::new("fulgur")
			.subcommand(NodeArgs::augment_args(Command::new("node")))
			.subcommand(TowerArgs::augment_args(Command::new("tower")))
			.subcommand(regtest)
			.subcommand(Command::new("info").arg(Arg::new("api_url").long("api-url"))),
	)
}

/// Loads `argv` (after `fulgur`) with `env`; the warnings go to `warnings`.
fn load_with(
	argv: &[&str], env: &[(&str, &str)], warnings: &mut Vec<String>,
) -> Result<ArgMatches, String> {
	let argv: Vec<OsString> =
		std::iter::once("fulgur").chain(argv.iter().copied()).map(OsString::from).collect();
	let env = Environment::from_vars(env.iter().map(|(name, value)| (*name, *value)));
	load(command_line(), &argv, &env, &mut |warning| warnings.push(warning))
		.map_err(|e| e.to_string())
}

fn node(argv: &[&str], env: &[(&str, &str)]) -> Result<NodeArgs, String> {
	let matches =
		load_with(&["node"].iter().chain(argv).copied().collect::<Vec<_>>(), env, &mut Vec::new())?;
	NodeArgs::from_arg_matches(matches.subcommand_matches("node").expect("node"))
		.map_err(|e| e.to_string())
}

fn tower(argv: &[&str], env: &[(&str, &str)]) -> Result<TowerArgs, String> {
	let matches = load_with(
		&["tower"].iter().chain(argv).copied().collect::<Vec<_>>(),
		env,
		&mut Vec::new(),
	)?;
	TowerArgs::from_arg_matches(matches.subcommand_matches("tower").expect("tower"))
		.map_err(|e| e.to_string())
}

fn regtest_up(argv: &[&str], env: &[(&str, &str)]) -> Result<UpArgs, String> {
	let argv: Vec<&str> = ["regtest", "up"].iter().chain(argv).copied().collect();
	let matches = load_with(&argv, env, &mut Vec::new())?;
	let up =
		matches.subcommand_matches("regtest").and_then(|m| m.subcommand_matches("up")).expect("up");
	UpArgs::from_arg_matches(up).map_err(|e| e.to_string())
}

/// A directory holding `fulgur.conf` with `text`, and its path as a flag value.
fn dir_with_config(text: &str) -> (tempfile::TempDir, String) {
	let dir = tempfile::tempdir().expect("temp dir");
	std::fs::write(dir.path().join(CONFIG_FILE_NAME), text).expect("write config");
	let path = dir.path().to_str().expect("UTF-8 temp dir").to_string();
	(dir, path)
}

fn config_path(dir: &Path) -> String {
	dir.join(CONFIG_FILE_NAME).display().to_string()
}

#[test]
fn flags_win_over_the_environment_which_wins_over_the_file() {
	let (dir, data_dir) =
		dir_with_config("alias = from-file\nlisten = 127.0.0.1:1111\nmax-path-count = 3\n");
	let file_only = node(&["--data-dir", &data_dir], &[]).unwrap();
	assert_eq!((file_only.alias.as_str(), file_only.max_path_count), ("from-file", 3));
	assert_eq!(file_only.listen, "127.0.0.1:1111".parse().unwrap());

	let env = [("FULGUR_ALIAS", "from-env"), ("FULGUR_MAX_PATH_COUNT", "4")];
	let env_over_file = node(&["--data-dir", &data_dir], &env).unwrap();
	assert_eq!((env_over_file.alias.as_str(), env_over_file.max_path_count), ("from-env", 4));
	assert_eq!(
		env_over_file.listen,
		"127.0.0.1:1111".parse().unwrap(),
		"the file still fills the rest"
	);

	let flags = ["--data-dir", &data_dir, "--alias", "from-flag", "--max-path-count=5"];
	let flag_over_env = node(&flags, &env).unwrap();
	assert_eq!((flag_over_env.alias.as_str(), flag_over_env.max_path_count), ("from-flag", 5));

	// Without file or variable, the declared defaults.
	let empty = tempfile::tempdir().unwrap();
	let defaults = node(&["--data-dir", empty.path().to_str().unwrap()], &[]).unwrap();
	assert_eq!((defaults.alias.as_str(), defaults.max_path_count), ("fulgur", 10));
	assert_eq!(defaults.events_retention_days, 90);
	drop(dir);
}

#[test]
fn comments_blank_lines_lists_and_spellings_of_keys() {
	let text = "# the node\n\n   \n  # indented comment\nalias=  spaced out  \n\
		towers = 127.0.0.1:9814,02ab@10.0.0.2:9814\nFEE_FLOOR_SAT_PER_KW = 300\n\
		anchor-channels = false\nbitcoind-rpc-password = p#ss=word\n";
	let (_dir, data_dir) = dir_with_config(text);
	let args = node(&["--data-dir", &data_dir], &[]).unwrap();
	assert_eq!(args.alias, "spaced out");
	assert_eq!(args.towers, ["127.0.0.1:9814", "02ab@10.0.0.2:9814"]);
	assert_eq!(args.fee_floor_sat_per_kw, 300);
	assert!(!args.anchor_channels);
	assert_eq!(args.bitcoind.bitcoind_rpc_password, "p#ss=word", "`#` and `=` belong to the value");
	let (_standby_dir, standby_data_dir) = dir_with_config("standby = true\n");
	assert!(node(&["--data-dir", &standby_data_dir], &[]).unwrap().standby, "standby in the file");
	let from_env = node(&["--data-dir", &data_dir], &[("FULGUR_STANDBY", "true")]).unwrap();
	assert!(from_env.standby, "FULGUR_STANDBY");
	// A flag replaces the file's list, as it replaced the variable's.
	let args = node(&["--data-dir", &data_dir, "--tower", "10.0.0.3:9814"], &[]).unwrap();
	assert_eq!(args.towers, ["10.0.0.3:9814"]);
}

#[test]
fn an_unknown_key_stops_the_command_naming_file_line_and_the_closest_key() {
	let (dir, data_dir) = dir_with_config("alias = a\n# fee\nfee-floor = 300\n");
	let error = node(&["--data-dir", &data_dir], &[]).unwrap_err();
	let expected = format!(
		"{}:3: unknown key \"fee-floor\" (did you mean \"fee-floor-sat-per-kw\"?)",
		config_path(dir.path())
	);
	assert_eq!(error, expected);

	// The node's repeated `--tower` is the list `towers` in the file.
	std::fs::write(dir.path().join(CONFIG_FILE_NAME), "tower = 127.0.0.1:9814\n").unwrap();
	let error = node(&["--data-dir", &data_dir], &[]).unwrap_err();
	assert!(error.ends_with(":1: unknown key \"tower\" (did you mean \"towers\"?)"), "{error}");

	// A key of another command says so; a key of none points at the help.
	std::fs::write(dir.path().join(CONFIG_FILE_NAME), "max-users = 5\n").unwrap();
	let error = node(&["--data-dir", &data_dir], &[]).unwrap_err();
	assert!(
		error.ends_with(
			":1: unknown key \"max-users\" (an option of `fulgur tower`, not of `fulgur node`)"
		),
		"{error}"
	);
	std::fs::write(dir.path().join(CONFIG_FILE_NAME), "colour = blue\n").unwrap();
	let error = node(&["--data-dir", &data_dir], &[]).unwrap_err();
	assert!(
		error.ends_with(":1: unknown key \"colour\" (`fulgur node --help` lists the options)"),
		"{error}"
	);
}

#[test]
fn malformed_repeated_and_refused_lines_stop_the_command() {
	let (dir, data_dir) = dir_with_config("alias = a\nbitcoind-rpc-password secret\n");
	let at = |line: usize| format!("{}:{line}", config_path(dir.path()));
	let error = node(&["--data-dir", &data_dir], &[]).unwrap_err();
	assert_eq!(error, format!("{}: expected `name = value`", at(2)));
	assert!(!error.contains("secret"), "the line is not quoted back");

	let cases = [
		("= 5\n", format!("{}: expected `name = value`", at(1))),
		("[node]\n", format!("{}: expected `name = value`", at(1))),
		("alias = a\n\nALIAS = b\n", format!("{}: \"ALIAS\" is set twice (first on line 1)", at(3))),
		(
			"config = other.conf\n",
			format!("{}: \"config\" cannot be set in a configuration file (give --config or FULGUR_CONFIG)", at(1)),
		),
		("max-path-count = 0\n", format!("{}: invalid value \"0\" for max-path-count: 0 is not in 1..=255", at(1))),
		("anchor-channels = maybe\n", format!("{}: invalid value \"maybe\" for anchor-channels: expected one of true, false", at(1))),
		("events-retention-days =\n", format!("{}: invalid value \"\" for events-retention-days: cannot parse integer from empty string", at(1))),
	];
	for (text, expected) in cases {
		std::fs::write(dir.path().join(CONFIG_FILE_NAME), text).unwrap();
		assert_eq!(node(&["--data-dir", &data_dir], &[]).unwrap_err(), expected, "{text:?}");
	}
}

#[test]
fn a_bad_value_in_the_environment_names_the_variable() {
	let empty = tempfile::tempdir().unwrap();
	let data_dir = empty.path().to_str().unwrap();
	let error = node(&["--data-dir", data_dir], &[("FULGUR_MAX_PATH_COUNT", "x")]).unwrap_err();
	assert_eq!(error, "FULGUR_MAX_PATH_COUNT: invalid value \"x\": invalid digit found in string");
	// A flag does not make a bad variable acceptable: every layer given is checked.
	let error =
		node(&["--data-dir", data_dir, "--max-path-count", "2"], &[("FULGUR_MAX_PATH_COUNT", "0")]);
	assert!(error.unwrap_err().starts_with("FULGUR_MAX_PATH_COUNT: invalid value \"0\""));
	// Nor does a variable make a bad file line acceptable.
	let (_dir, data_dir) = dir_with_config("max-path-count = 0\n");
	let error = node(&["--data-dir", &data_dir], &[("FULGUR_MAX_PATH_COUNT", "2")]).unwrap_err();
	assert!(error.ends_with(":1: invalid value \"0\" for max-path-count: 0 is not in 1..=255"));
}

#[test]
fn the_file_is_found_by_flag_variable_or_directory_and_an_explicit_one_must_exist() {
	let (dir, data_dir) = dir_with_config("alias = in-data-dir\n");
	let other = dir.path().join("other.conf");
	std::fs::write(&other, "alias = other\n").unwrap();
	let other = other.to_str().unwrap();
	assert_eq!(node(&[], &[("FULGUR_DATA_DIR", &data_dir)]).unwrap().alias, "in-data-dir");
	assert_eq!(node(&["--data-dir", &data_dir, "--config", other], &[]).unwrap().alias, "other");
	assert_eq!(
		node(&["--data-dir", &data_dir], &[("FULGUR_CONFIG", other)]).unwrap().alias,
		"other"
	);
	// The flag wins over the variable for the file's place too.
	let env = [("FULGUR_DATA_DIR", "/nonexistent"), ("FULGUR_CONFIG", "/nonexistent/x.conf")];
	assert_eq!(node(&["--config", other], &env).unwrap().alias, "other");

	let missing = dir.path().join("missing.conf");
	let error = node(&["--config", missing.to_str().unwrap()], &[]).unwrap_err();
	assert!(error.starts_with(&format!("reading config {}: ", missing.display())), "{error}");
	// A data directory without a file is fine.
	let empty = tempfile::tempdir().unwrap();
	assert!(node(&["--data-dir", empty.path().to_str().unwrap()], &[]).is_ok());
}

#[test]
fn a_file_that_is_too_large_or_not_text_is_refused() {
	let dir = tempfile::tempdir().unwrap();
	let large = dir.path().join("large.conf");
	let line = "# padding\n".repeat(1 + (MAX_CONFIG_FILE_BYTES as usize) / 10);
	std::fs::write(&large, line).unwrap();
	let error = node(&["--config", large.to_str().unwrap()], &[]).unwrap_err();
	assert_eq!(
		error,
		format!("config {}: larger than 1024 KiB, not a configuration file", large.display())
	);
	let binary = dir.path().join("binary.conf");
	std::fs::write(&binary, [0x61, 0x3d, 0xff, 0xfe]).unwrap();
	let error = node(&["--config", binary.to_str().unwrap()], &[]).unwrap_err();
	assert_eq!(error, format!("config {}: not UTF-8 text", binary.display()));
}

#[test]
fn the_tower_has_its_own_keys_and_shares_the_chain_ones_with_the_node() {
	let text = "port = 9900\nmax-users = 5\npoll-ms = 250\nnetwork = signet\nbitcoind-rpc-user = watcher\n";
	let (_dir, data_dir) = dir_with_config(text);
	let args = tower(&["--data-dir", &data_dir], &[]).unwrap();
	assert_eq!((args.port, args.max_users, args.poll_ms), (9900, 5, 250));
	assert_eq!(
		(args.network, args.bitcoind.bitcoind_rpc_user.as_str()),
		(Network::Signet, "watcher")
	);

	let env = [
		("FULGUR_TOWER_PORT", "9901"),
		("FULGUR_NETWORK", "testnet"),
		("FULGUR_BITCOIND_RPC_USER", "env"),
	];
	let args = tower(&["--data-dir", &data_dir, "--max-users", "6"], &env).unwrap();
	assert_eq!((args.port, args.max_users, args.poll_ms), (9901, 6, 250));
	assert_eq!((args.network, args.bitcoind.bitcoind_rpc_user.as_str()), (Network::Testnet, "env"));
	// The node's variables are not the tower's, and the other way round.
	let args =
		tower(&["--data-dir", &data_dir], &[("FULGUR_PORT", "1"), ("FULGUR_DATA_DIR", "/x")])
			.unwrap();
	assert_eq!(args.port, 9900);

	let (_dir, data_dir) = dir_with_config("alias = tower\n");
	let error = tower(&["--data-dir", &data_dir], &[]).unwrap_err();
	assert!(
		error.ends_with(
			":1: unknown key \"alias\" (an option of `fulgur node`, not of `fulgur tower`)"
		),
		"{error}"
	);
	let args =
		tower(&[], &[("FULGUR_TOWER_DATA_DIR", &data_dir), ("FULGUR_TOWER_CONFIG", "/dev/null")])
			.unwrap();
	assert_eq!(args.data_dir.as_deref(), Some(Path::new(&data_dir)), "/dev/null is an empty file");
}

#[test]
fn regtest_up_reads_its_directorys_file() {
	let (_dir, net_dir) = dir_with_config("nodes = 5\n");
	assert_eq!(regtest_up(&["--dir", &net_dir], &[]).unwrap().nodes, 5);
	assert_eq!(regtest_up(&[], &[("FULGUR_REGTEST_DIR", &net_dir)]).unwrap().nodes, 5);
	let env = [("FULGUR_REGTEST_DIR", net_dir.as_str()), ("FULGUR_REGTEST_NODES", "2")];
	assert_eq!(regtest_up(&[], &env).unwrap().nodes, 2);
	assert_eq!(regtest_up(&["--nodes", "1"], &env).unwrap().nodes, 1);
	let (_dir, net_dir) = dir_with_config("node = 5\n");
	let error = regtest_up(&["--dir", &net_dir], &[]).unwrap_err();
	assert!(error.ends_with(":1: unknown key \"node\" (did you mean \"nodes\"?)"), "{error}");
}

#[test]
fn unknown_variables_warn_and_known_ones_of_any_command_do_not() {
	let empty = tempfile::tempdir().unwrap();
	let argv = ["node", "--data-dir", empty.path().to_str().unwrap()];
	let env = [
		("FULGUR_FEE_FLOOR", "300"),
		("FULGUR_TOWER_PORT", "9814"),
		("FULGUR_CACHE", "/tmp"),
		("FULGUR_COLOUR", "blue"),
		("OTHER_TOOL", "x"),
	];
	let mut warnings = Vec::new();
	let matches = load_with(&argv, &env, &mut warnings).expect("warnings do not stop the node");
	assert!(matches.subcommand_matches("node").is_some());
	assert_eq!(
		warnings,
		[
			"FULGUR_COLOUR is read by no fulgur command; ignored",
			"FULGUR_FEE_FLOOR is read by no fulgur command (did you mean FULGUR_FEE_FLOOR_SAT_PER_KW?); ignored",
		]
	);
	// Commands that are not layered neither warn nor read a file.
	let mut warnings = Vec::new();
	load_with(&["info", "--api-url", "x"], &env, &mut warnings).unwrap();
	assert!(warnings.is_empty());
}

#[test]
fn help_and_version_and_bad_flags_are_clap_errors() {
	let argv: Vec<OsString> = ["fulgur", "node", "--help"].map(OsString::from).to_vec();
	let error = load(command_line(), &argv, &Environment::default(), &mut |_| {}).unwrap_err();
	assert!(matches!(&error, Error::Command(e) if e.kind() == clap::error::ErrorKind::DisplayHelp));
	let help = error.to_string();
	for name in [
		"FULGUR_DATA_DIR",
		"FULGUR_BITCOIND_RPC_COOKIE",
		"FULGUR_TOWERS] [file: towers]",
		"fulgur.conf in --data-dir",
	] {
		assert!(help.contains(name), "node help lacks {name}:\n{help}");
	}
	let argv: Vec<OsString> = ["fulgur", "node", "--fee-floor", "1"].map(OsString::from).to_vec();
	let error = load(command_line(), &argv, &Environment::default(), &mut |_| {}).unwrap_err();
	assert!(
		matches!(error, Error::Command(e) if e.kind() == clap::error::ErrorKind::UnknownArgument)
	);
}

/// The variables before the loader derived them, spelt out: they keep working.
#[test]
fn every_variable_keeps_its_name() {
	let node_names = [
		"FULGUR_DATA_DIR",
		"FULGUR_CONFIG",
		"FULGUR_NETWORK",
		"FULGUR_LISTEN",
		"FULGUR_API_BIND",
		"FULGUR_LND_REST_PORT",
		"FULGUR_LND_REST_BIND",
		"FULGUR_ALIAS",
		"FULGUR_BITCOIND_RPC",
		"FULGUR_BITCOIND_RPC_USER",
		"FULGUR_BITCOIND_RPC_PASSWORD",
		"FULGUR_BITCOIND_RPC_COOKIE",
		"FULGUR_FEE_FLOOR_SAT_PER_KW",
		"FULGUR_ANCHOR_CHANNELS",
		"FULGUR_DUST_EXPOSURE_MULTIPLIER",
		"FULGUR_MAX_DUST_EXPOSURE_MSAT",
		"FULGUR_MAX_PEER_FEE_RATE_SAT_PER_KW",
		"FULGUR_FEE_BASE_MSAT",
		"FULGUR_FEE_PPM",
		"FULGUR_CLTV_EXPIRY_DELTA",
		"FULGUR_MAX_PATH_COUNT",
		"FULGUR_MAX_CLTV_EXPIRY_DELTA",
		"FULGUR_TOWERS",
		"FULGUR_EVENTS_RETENTION_DAYS",
		"FULGUR_PHOENIXD_PORT",
		"FULGUR_PHOENIXD_BIND",
		"FULGUR_STORE",
		"FULGUR_POSTGRES_URL",
		"FULGUR_SECRETS_KEY_FILE",
		"FULGUR_STANDBY",
		"FULGUR_RECEIVE_DELAY",
	];
	let tower_names = [
		"FULGUR_TOWER_DATA_DIR",
		"FULGUR_TOWER_CONFIG",
		"FULGUR_TOWER_PORT",
		"FULGUR_TOWER_HOST",
		"FULGUR_NETWORK",
		"FULGUR_BITCOIND_RPC",
		"FULGUR_BITCOIND_RPC_USER",
		"FULGUR_BITCOIND_RPC_PASSWORD",
		"FULGUR_BITCOIND_RPC_COOKIE",
		"FULGUR_TOWER_POLL_MS",
		"FULGUR_TOWER_SLOTS",
		"FULGUR_TOWER_SUBSCRIPTION_BLOCKS",
		"FULGUR_TOWER_MAX_USERS",
		"FULGUR_TOWER_MAX_SLOTS_PER_USER",
		"FULGUR_TOWER_MAX_TOTAL_SLOTS",
		"FULGUR_TOWER_REGISTRATIONS_PER_HOUR",
		"FULGUR_TOWER_MAX_APPOINTMENTS_PER_LOCATOR",
		"FULGUR_TOWER_MAX_CONNECTIONS",
		"FULGUR_TOWER_IDLE_TIMEOUT_SECS",
		"FULGUR_TOWER_FLUSH_PACE_MS",
	];
	let regtest_names = ["FULGUR_REGTEST_NODES", "FULGUR_REGTEST_DIR", "FULGUR_REGTEST_CONFIG"];
	let command = command_line();
	for (layered, expected) in LAYERED.iter().zip([&node_names[..], &tower_names, &regtest_names]) {
		let sub = layered.command_in(&command).expect("layered command");
		let names: Vec<String> =
			options(sub).map(|arg| layered.env_name(arg.get_id().as_str())).collect();
		assert_eq!(names, expected, "{}", layered.name());
		let dir_flag = sub.get_arguments().find(|arg| arg.get_id() == layered.dir_option);
		assert!(dir_flag.is_some(), "{} has no --{}", layered.name(), layered.dir_option);
	}
}
