//! The client's options (`--api-url`, `--api-key`, `--api-key-file`): where and how to reach
//! a node's API. They belong to the commands that talk to an API, and only those list them in
//! their help; they are accepted after the command or any of its subcommands
//! (`fulgur invoice create ... --api-url URL`) and, as before, in front of it
//! (`fulgur --api-url URL info`), where they are hidden from the top-level help.

use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command, FromArgMatches, Subcommand};

use super::ClientCommand;

/// The ids of the client options, as clap names them.
const OPTION_IDS: [&str; 3] = ["api_url", "api_key", "api_key_file"];

/// Where and how to reach the API. Added to a command line by [`with_client_options`] and
/// read back with [`ClientArgs::from_matches`].
#[derive(Args, Clone, Debug)]
pub struct ClientArgs {
	/// URL of the node's HTTP API
	#[arg(long, env = "FULGUR_API_URL", default_value = "http://127.0.0.1:3000")]
	pub api_url: String,
	/// API key; prefer --api-key-file or the environment, as arguments are visible to
	/// other users of the machine
	#[arg(long, env = "FULGUR_API_KEY", hide_env_values = true)]
	pub api_key: Option<String>,
	/// File holding the API key (the one the node created at first start)
	#[arg(long, env = "FULGUR_API_KEY_FILE", value_name = "FILE")]
	pub api_key_file: Option<PathBuf>,
}

/// `command` (the top-level command line, whose subcommands include the flattened
/// [`ClientCommand`]s) with the client options on every client command, shown in its help and
/// in its subcommands', and hidden in front of the subcommand.
pub fn with_client_options(command: Command) -> Command {
	let client_commands: Vec<String> = ClientCommand::augment_subcommands(Command::new("client"))
		.get_subcommands()
		.map(|sub| sub.get_name().to_owned())
		.collect();
	let mut command = ClientArgs::augment_args(command);
	for id in OPTION_IDS {
		command = command.mut_arg(id, |arg| arg.hide(true));
	}
	for name in client_commands {
		command = command.mut_subcommand(name, |sub| {
			let mut sub = ClientArgs::augment_args(sub);
			for id in OPTION_IDS {
				sub = sub.mut_arg(id, |arg| arg.global(true));
			}
			sub
		});
	}
	command
}

impl ClientArgs {
	/// The client options of a command line built with [`with_client_options`]: each as given
	/// after the client command, else as given in front of it, else from the environment or
	/// the default.
	pub fn from_matches(top: &ArgMatches) -> Result<ClientArgs, clap::Error> {
		let before = ClientArgs::from_arg_matches(top)?;
		let Some((_, sub)) = top.subcommand() else { return Ok(before) };
		// Commands that are not client commands carry no client options.
		if !sub.ids().any(|id| id.as_str() == "api_url") {
			return Ok(before);
		}
		let after = ClientArgs::from_arg_matches(sub)?;
		let on_command_line = |matches: &ArgMatches, id: &str| {
			matches.value_source(id) == Some(ValueSource::CommandLine)
		};
		let use_before = |id: &str| !on_command_line(sub, id) && on_command_line(top, id);
		Ok(ClientArgs {
			api_url: if use_before("api_url") { before.api_url } else { after.api_url },
			api_key: if use_before("api_key") { before.api_key } else { after.api_key },
			api_key_file: if use_before("api_key_file") {
				before.api_key_file
			} else {
				after.api_key_file
			},
		})
	}

	/// The API key: `--api-key` (or `FULGUR_API_KEY`) if given, else the content of
	/// `--api-key-file` (or `FULGUR_API_KEY_FILE`).
	pub fn resolve_key(&self) -> Result<String, String> {
		self.resolve(None)
	}

	/// Like [`ClientArgs::resolve_key`], falling back to `default_file` (e.g. the key file in
	/// the default data directory) when neither a key nor a key file is given.
	pub fn resolve_key_or(&self, default_file: &Path) -> Result<String, String> {
		self.resolve(Some(default_file))
	}

	fn resolve(&self, default_file: Option<&Path>) -> Result<String, String> {
		if let Some(key) = self.api_key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
			return Ok(key.to_owned());
		}
		match self.api_key_file.as_deref().or(default_file) {
			Some(path) => read_key_file(path),
			None => Err("no API key: pass --api-key-file <FILE> or set FULGUR_API_KEY_FILE \
				(or FULGUR_API_KEY)"
				.into()),
		}
	}
}

fn read_key_file(path: &Path) -> Result<String, String> {
	let contents = std::fs::read_to_string(path)
		.map_err(|e| format!("cannot read the API key file {}: {e}", path.display()))?;
	let key = contents.trim();
	if key.is_empty() {
		return Err(format!("the API key file {} is empty", path.display()));
	}
	Ok(key.to_owned())
}

#[cfg(test)]
mod tests {
	use super::*;
	use clap::{CommandFactory, Parser};

	#[derive(Parser, Debug)]
	struct Commands {
		#[command(subcommand)]
		cmd: ClientCommand,
	}

	fn options(args: &[&str]) -> ClientArgs {
		let argv = std::iter::once("fulgur").chain(args.iter().copied());
		let matches = with_client_options(Commands::command())
			.try_get_matches_from(argv)
			.unwrap_or_else(|e| panic!("{args:?}: {e}"));
		ClientArgs::from_matches(&matches).unwrap()
	}

	#[test]
	fn options_before_or_after_the_command() {
		let url = |args: &[&str]| options(args).api_url;
		assert_eq!(url(&["--api-url", "http://a:1", "info"]), "http://a:1");
		assert_eq!(url(&["info", "--api-url", "http://b:2"]), "http://b:2");
		assert_eq!(
			url(&["--api-url", "http://a:1", "info", "--api-url", "http://b:2"]),
			"http://b:2"
		);
		let nested = options(&[
			"invoice",
			"create",
			"5",
			"-d",
			"x",
			"--api-url",
			"http://c:3",
			"--api-key",
			"k",
		]);
		assert_eq!((nested.api_url.as_str(), nested.api_key.as_deref()), ("http://c:3", Some("k")));
		let before = options(&["--api-key-file", "/k", "invoice", "get", "ab"]);
		assert_eq!(before.api_key_file, Some(PathBuf::from("/k")));
		if std::env::var_os("FULGUR_API_URL").is_none() {
			assert_eq!(url(&["info"]), "http://127.0.0.1:3000");
		}
	}

	#[test]
	fn resolves_the_api_key() {
		let dir = std::env::temp_dir().join(format!("fulgur-cli-test-{}", std::process::id()));
		std::fs::create_dir_all(&dir).unwrap();
		let file = dir.join("api_key");
		std::fs::write(&file, "abc123\n").unwrap();
		let args = |key: Option<&str>, file: Option<&Path>| ClientArgs {
			api_url: "http://127.0.0.1:3000".into(),
			api_key: key.map(str::to_owned),
			api_key_file: file.map(Path::to_path_buf),
		};
		assert_eq!(args(Some("k"), Some(&file)).resolve_key(), Ok("k".into()));
		assert_eq!(args(None, Some(&file)).resolve_key(), Ok("abc123".into()));
		assert_eq!(args(Some(" "), Some(&file)).resolve_key(), Ok("abc123".into()));
		assert!(args(None, None).resolve_key().is_err());
		assert_eq!(args(None, None).resolve_key_or(&file), Ok("abc123".into()));
		assert!(args(None, Some(&dir.join("missing"))).resolve_key().is_err());
		std::fs::write(&file, "\n").unwrap();
		assert!(args(None, Some(&file)).resolve_key().is_err());
		std::fs::remove_dir_all(&dir).unwrap();
	}
}
