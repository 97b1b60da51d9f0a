//! The layered configuration of `fulgur node`, `fulgur tower` and `fulgur regtest up`: the
//! configuration file (`DIR/fulgur.conf` or `--config`), then `FULGUR_*` environment
//! variables, then flags, each layer winning over the one before, then the built-in default.
//!
//! Invariant: every option is declared once, as a clap argument whose doc comment is its only
//! documentation; its file key and its environment variable are derived from its name here
//! ([`Layered::file_key`], [`Layered::env_name`]), so the three cannot drift apart. A file line
//! that is not `name = value`, names no option of the command, repeats a key or holds a value
//! the option refuses stops the command before it does anything, naming the file and line.
//! Unknown `FULGUR_*` variables only warn: the environment is shared with the client, the
//! scripts and the other commands, while a file is written for one command.

mod file;
mod suggest;
#[cfg(test)]
mod tests;

pub use file::{ConfigFile, Entry, MAX_CONFIG_FILE_BYTES};

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Command};

/// The prefix of every variable fulgur reads.
pub const ENV_PREFIX: &str = "FULGUR_";

/// The name of the configuration file in a command's directory.
pub const CONFIG_FILE_NAME: &str = "fulgur.conf";

/// The option naming the configuration file; it cannot be set inside one.
pub const CONFIG_OPTION: &str = "config";

/// Variables of the project's scripts and test harness, not of this binary's options: set
/// in the same shell, they are not worth a warning.
pub const TOOL_VARIABLES: [&str; 4] =
	["FULGUR_CACHE", "FULGUR_INSTALL_DRY_RUN", "FULGUR_APT_LOCK_TIMEOUT", "FULGUR_KEEP_TEST_DIRS"];

/// Variables a command reads itself, with no option behind them: a secret given through the
/// environment must not also be a flag (flags show in the process list).
pub const SECRET_VARIABLES: [&str; 1] = [crate::daemon::SECRETS_KEY_ENV];

/// A command whose options are layered.
#[derive(Debug)]
pub struct Layered {
	/// Its subcommand path: `["node"]`, `["regtest", "up"]`.
	pub path: &'static [&'static str],
	/// The prefix of its own variables (`FULGUR_TOWER_` makes `--port` `FULGUR_TOWER_PORT`).
	pub env_prefix: &'static str,
	/// The option (its id) naming its directory, where `fulgur.conf` is looked for.
	pub dir_option: &'static str,
	/// That directory when the option is not given.
	pub default_dir: fn() -> PathBuf,
}

/// The layered commands.
pub const LAYERED: [Layered; 3] = [
	Layered {
		path: &["node"],
		env_prefix: "FULGUR_",
		dir_option: "data_dir",
		default_dir: crate::daemon::default_data_dir,
	},
	Layered {
		path: &["tower"],
		env_prefix: "FULGUR_TOWER_",
		dir_option: "data_dir",
		default_dir: crate::tower::default_data_dir,
	},
	Layered {
		path: &["regtest", "up"],
		env_prefix: "FULGUR_REGTEST_",
		dir_option: "dir",
		default_dir: crate::regtest::default_dir,
	},
];

/// The `FULGUR_*` variables of the process, read once.
#[derive(Clone, Debug, Default)]
pub struct Environment(BTreeMap<String, OsString>);

impl Environment {
	/// This process's `FULGUR_*` variables.
	pub fn from_process() -> Environment {
		Environment::from_vars(std::env::vars_os())
	}

	/// The `FULGUR_*` variables among `vars`.
	pub fn from_vars<K: Into<OsString>, V: Into<OsString>>(
		vars: impl IntoIterator<Item = (K, V)>,
	) -> Environment {
		let vars = vars.into_iter().filter_map(|(name, value)| {
			let name = name.into().into_string().ok()?;
			name.starts_with(ENV_PREFIX).then(|| (name, value.into()))
		});
		Environment(vars.collect())
	}

	/// The value of `name`, if set.
	pub fn get(&self, name: &str) -> Option<&OsStr> {
		self.0.get(name).map(OsString::as_os_str)
	}
}

/// Why a command line could not be loaded.
#[derive(Debug)]
pub enum Error {
	/// The flags themselves (also `--help` and `--version`): clap prints and exits.
	Command(clap::Error),
	/// The configuration file or a variable.
	Config(String),
}

impl std::fmt::Display for Error {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Error::Command(e) => write!(f, "{e}"),
			Error::Config(message) => f.write_str(message),
		}
	}
}

/// Parses `argv` with `command`; for a layered command, with its file and environment
/// values under the flags. `command` is the whole command line, [`document`]ed; `warn` gets
/// a line for each `FULGUR_*` variable no command reads, before the file is read.
pub fn load(
	command: Command, argv: &[OsString], env: &Environment, warn: &mut dyn FnMut(String),
) -> Result<ArgMatches, Error> {
	let flags_only = command.clone().try_get_matches_from(argv).map_err(Error::Command)?;
	let selected = LAYERED.iter().find_map(|layered| {
		let matches = layered.matches_in(&flags_only)?;
		let sub = layered.command_in(&command)?;
		Some((layered, sub, matches))
	});
	let Some((layered, sub, matches)) = selected else {
		return Ok(flags_only);
	};
	unknown_variables(&command, env).into_iter().for_each(warn);
	let file = layered.config_file(matches, env).map_err(Error::Config)?;
	if let Some(file) = &file {
		layered.check_keys(&command, sub, file).map_err(Error::Config)?;
	}
	let values = layered.values(sub, file.as_ref(), env).map_err(Error::Config)?;
	let command = at_path(command, layered.path, |sub| {
		values
			.into_iter()
			.fold(sub, |sub, (id, value)| sub.mut_arg(id, |arg| arg.default_value(value)))
	});
	command.try_get_matches_from(argv).map_err(Error::Command)
}

/// `command` with each layered option's help naming its variable (and its file key, where it
/// is not the flag's name), and each layered command's help saying how the layers combine.
pub fn document(command: Command) -> Command {
	LAYERED.iter().fold(command, |command, layered| {
		at_path(command, layered.path, |sub| layered.document(sub))
	})
}

/// Every variable some fulgur command or tool reads.
pub fn known_variables(command: &Command) -> BTreeSet<String> {
	let mut known: BTreeSet<String> =
		TOOL_VARIABLES.iter().chain(&SECRET_VARIABLES).map(|name| name.to_string()).collect();
	let mut pending = vec![command];
	while let Some(current) = pending.pop() {
		known.extend(
			current
				.get_arguments()
				.filter_map(Arg::get_env)
				.filter_map(OsStr::to_str)
				.map(str::to_string),
		);
		pending.extend(current.get_subcommands());
	}
	for layered in &LAYERED {
		if let Some(sub) = layered.command_in(command) {
			known.extend(options(sub).map(|arg| layered.env_name(arg.get_id().as_str())));
		}
	}
	known
}

/// A warning for each `FULGUR_*` variable no command or tool reads.
fn unknown_variables(command: &Command, env: &Environment) -> Vec<String> {
	let known = known_variables(command);
	env.0
		.keys()
		.filter(|name| !known.contains(*name))
		.map(|name| {
			let hint = match suggest::closest(name, known.iter().map(String::as_str)) {
				Some(known) => format!(" (did you mean {known}?)"),
				None => String::new(),
			};
			format!("{name} is read by no fulgur command{hint}; ignored")
		})
		.collect()
}

impl Layered {
	/// The variable of option `id`: the prefix and the name in capitals. The options about
	/// the chain (`--network`, `--bitcoind-*`) have the node's name in every command.
	pub fn env_name(&self, id: &str) -> String {
		let prefix = if is_chain_option(id) { ENV_PREFIX } else { self.env_prefix };
		format!("{prefix}{}", id.to_ascii_uppercase())
	}

	/// The file key of option `id`: its name with `-` (the flag's name, but for `--tower`,
	/// a list whose key is `towers`).
	pub fn file_key(id: &str) -> String {
		id.replace('_', "-")
	}

	/// `fulgur node`, `fulgur regtest up`: how messages name the command.
	pub fn name(&self) -> String {
		format!("fulgur {}", self.path.join(" "))
	}

	/// This command's matches within `matches`, if it is the one given.
	fn matches_in<'m>(&self, mut matches: &'m ArgMatches) -> Option<&'m ArgMatches> {
		for name in self.path {
			matches = matches.subcommand_matches(name)?;
		}
		Some(matches)
	}

	/// This command within the whole command line.
	fn command_in<'c>(&self, mut command: &'c Command) -> Option<&'c Command> {
		for name in self.path {
			command = command.find_subcommand(name)?;
		}
		Some(command)
	}

	/// The configuration file: `--config` (flag, then variable), which must exist, else
	/// `fulgur.conf` in the command's directory, if there is one.
	fn config_file(
		&self, matches: &ArgMatches, env: &Environment,
	) -> Result<Option<ConfigFile>, String> {
		let explicit = given(matches, CONFIG_OPTION)
			.or_else(|| env.get(&self.env_name(CONFIG_OPTION)).map(OsStr::to_os_string));
		if let Some(path) = explicit {
			return ConfigFile::read(&PathBuf::from(path)).map(Some);
		}
		let dir = given(matches, self.dir_option)
			.or_else(|| env.get(&self.env_name(self.dir_option)).map(OsStr::to_os_string))
			.map(PathBuf::from)
			.unwrap_or_else(self.default_dir);
		let path = dir.join(CONFIG_FILE_NAME);
		if !path.exists() {
			return Ok(None);
		}
		ConfigFile::read(&path).map(Some)
	}

	/// The value of each option set in the environment or the file (the environment
	/// winning), each checked with the option's own parser.
	fn values(
		&self, command: &Command, file: Option<&ConfigFile>, env: &Environment,
	) -> Result<Vec<(String, OsString)>, String> {
		let mut values = Vec::new();
		for arg in options(command) {
			let id = arg.get_id().as_str();
			let env_name = self.env_name(id);
			let key = Layered::file_key(id);
			let in_file = file.and_then(|file| {
				file.entries.iter().find(|entry| entry.name == key).map(|entry| (file, entry))
			});
			// Every layer given is checked, also one a later layer hides: a bad line or
			// variable is reported now, not the day the flag that hid it is dropped.
			if let Some((file, entry)) = in_file {
				check_value(arg, OsStr::new(&entry.value)).map_err(|reason| {
					format!(
						"{}: invalid value {:?} for {key}: {reason}",
						file.at(entry),
						entry.value
					)
				})?;
			}
			let in_env = env.get(&env_name);
			if let Some(value) = in_env {
				check_value(arg, value)
					.map_err(|reason| format!("{env_name}: invalid value {value:?}: {reason}"))?;
			}
			let value = match (in_env, in_file) {
				(Some(value), _) => value.to_os_string(),
				(None, Some((_, entry))) => OsString::from(&entry.value),
				(None, None) => continue,
			};
			values.push((id.to_string(), value));
		}
		Ok(values)
	}

	/// Refuses a file key that is no option of this command (`command`, within the whole
	/// `command_line`), or the `config` key.
	fn check_keys(
		&self, command_line: &Command, command: &Command, file: &ConfigFile,
	) -> Result<(), String> {
		let keys = option_keys(command);
		for entry in &file.entries {
			if entry.name == Layered::file_key(CONFIG_OPTION) {
				return Err(format!(
					"{}: {:?} cannot be set in a configuration file (give --config or {})",
					file.at(entry),
					entry.key,
					self.env_name(CONFIG_OPTION)
				));
			}
			if keys.contains(&entry.name) {
				continue;
			}
			let settable = keys.iter().map(String::as_str).filter(|key| *key != CONFIG_OPTION);
			let elsewhere = LAYERED.iter().find(|other| {
				let keys = other.command_in(command_line).map(option_keys).unwrap_or_default();
				other.path != self.path && keys.contains(&entry.name)
			});
			let hint = match (suggest::closest(&entry.name, settable), elsewhere) {
				(Some(key), _) => format!(" (did you mean {key:?}?)"),
				(None, Some(other)) => {
					format!(" (an option of `{}`, not of `{}`)", other.name(), self.name())
				}
				(None, None) => format!(" (`{} --help` lists the options)", self.name()),
			};
			return Err(format!("{}: unknown key {:?}{hint}", file.at(entry), entry.key));
		}
		Ok(())
	}

	/// `command` with each option's help naming its variable (and its file key where that
	/// is not the flag's name), and a closing paragraph on the layers.
	fn document(&self, command: Command) -> Command {
		let dir_flag = format!("--{}", Layered::file_key(self.dir_option));
		let notes: Vec<(String, String)> = options(&command)
			.map(|arg| {
				let id = arg.get_id().as_str();
				let key = Layered::file_key(id);
				let env_name = self.env_name(id);
				let note = if id == CONFIG_OPTION || arg.get_long() == Some(key.as_str()) {
					format!("[env: {env_name}]")
				} else {
					format!("[env: {env_name}] [file: {key}]")
				};
				(id.to_string(), note)
			})
			.collect();
		let mut command = command.after_help(format!(
			"Each option can also be set by its environment variable or by a `name = value` line in \
			 the configuration file ({CONFIG_FILE_NAME} in {dir_flag}, or --config), the name being \
			 the flag's without `--`. Flags win over the environment, which wins over the file. A \
			 line the file cannot hold (an unknown name, a repeated one, a bad value) stops the \
			 command; an unknown FULGUR_* variable is only warned about.\n"
		));
		for (id, note) in notes {
			command = command.mut_arg(id, |arg| {
				let help = match arg.get_help() {
					Some(help) => format!("{help} {note}"),
					None => note.clone(),
				};
				let long_help = arg.get_long_help().map(|long| format!("{long}\n\n{note}"));
				let arg = arg.help(help);
				match long_help {
					Some(long) => arg.long_help(long),
					None => arg,
				}
			});
		}
		command
	}
}

/// `--network` and `--bitcoind-*`: one variable for the node and the tower.
fn is_chain_option(id: &str) -> bool {
	id == "network" || id.starts_with("bitcoind_")
}

/// The options of `command` (named, not positional; not `--help`/`--version`).
fn options(command: &Command) -> impl Iterator<Item = &Arg> {
	command
		.get_arguments()
		.filter(|arg| !arg.is_positional() && !matches!(arg.get_id().as_str(), "help" | "version"))
}

/// The file keys of `command`'s options.
fn option_keys(command: &Command) -> Vec<String> {
	options(command).map(|arg| Layered::file_key(arg.get_id().as_str())).collect()
}

/// The raw value of `id` if given as a flag.
fn given(matches: &ArgMatches, id: &str) -> Option<OsString> {
	if matches.value_source(id) != Some(ValueSource::CommandLine) {
		return None;
	}
	matches.get_raw(id)?.next().map(OsStr::to_os_string)
}

/// Whether `arg` accepts `value`, by its own parser (and delimiter, and range).
fn check_value(arg: &Arg, value: &OsStr) -> Result<(), String> {
	let probe = Command::new("fulgur")
		.no_binary_name(true)
		.disable_help_flag(true)
		.arg(arg.clone().required(false).default_value(value.to_os_string()));
	probe.try_get_matches_from(Vec::<OsString>::new()).map(drop).map_err(|e| reason(&e))
}

/// What clap says is wrong with a value, without its usage text.
fn reason(e: &clap::Error) -> String {
	if let Some(source) = std::error::Error::source(e) {
		return source.to_string();
	}
	if let Some(clap::error::ContextValue::Strings(valid)) =
		e.get(clap::error::ContextKind::ValidValue)
	{
		return format!("expected one of {}", valid.join(", "));
	}
	e.kind().to_string()
}

/// `command` with `change` applied to its subcommand at `path`.
fn at_path(command: Command, path: &[&str], change: impl FnOnce(Command) -> Command) -> Command {
	match path.split_first() {
		None => change(command),
		Some((first, rest)) => command.mut_subcommand(first, |sub| at_path(sub, rest, change)),
	}
}
