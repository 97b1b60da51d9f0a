//! Build script of the `fulgur` binary: `fulgur --version` names the LDK version it is built
//! on, read from Cargo.lock (the `lightning` package) so it can never drift from what is built.

use std::path::Path;

fn main() {
	let lock_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock");
	println!("cargo:rerun-if-changed={}", lock_path.display());
	let lock = match std::fs::read_to_string(&lock_path) {
		Ok(lock) => lock,
		Err(e) => panic!("cannot read {} for the LDK version: {e}", lock_path.display()),
	};
	let version = lock
		.split("[[package]]")
		.find(|package| package.contains("\nname = \"lightning\"\n"))
		.and_then(|package| package.lines().find_map(|line| line.strip_prefix("version = ")))
		.map(|version| version.trim().trim_matches('"').to_owned());
	match version {
		Some(version) => println!("cargo:rustc-env=FULGUR_LDK_VERSION={version}"),
		None => panic!("no `lightning` package in {}", lock_path.display()),
	}
}
