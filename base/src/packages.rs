//! Missing system packages are installed, or named: never silently skipped.
//!
//! The logic is `scripts/packages.sh`, embedded so the binary and the tests work from any
//! directory: as root on a machine with `apt-get` it installs what a step lacks,
//! non-interactively, printing one line saying what and why; otherwise it fails with one
//! line naming the exact command to run. One install runs at a time on the machine.

use std::process::{Command, Stdio};

/// `scripts/packages.sh`: defines the shell function `install_packages WHO WHY PKG...`.
pub const PACKAGES_SCRIPT: &str = include_str!("../../scripts/packages.sh");

/// `script` with `scripts/packages.sh` in front of it, ready for `bash -c`, so that it can
/// call `install_packages`.
pub fn with_packages_script(script: &str) -> String {
	format!("{PACKAGES_SCRIPT}\n{script}")
}

/// Installs the Debian `packages` (which the caller found missing) for `who` (the name its
/// messages start with) because of `why`, or fails with the line naming the command to run.
///
/// Blocks (apt may take minutes): call it from `spawn_blocking` in async code. Its output
/// goes to this process's stderr.
pub fn install_packages(who: &str, why: &str, packages: &[&str]) -> Result<(), String> {
	if packages.is_empty() {
		return Ok(());
	}
	let status = Command::new("bash")
		.arg("-c")
		.arg(with_packages_script("install_packages \"$@\""))
		.arg("packages.sh")
		.arg(who)
		.arg(why)
		.args(packages)
		.stdin(Stdio::null())
		.stdout(Stdio::inherit())
		.stderr(Stdio::inherit())
		.status()
		.map_err(|e| format!("{who}: cannot run bash to install {}: {e}", packages.join(" ")))?;
	if status.success() {
		Ok(())
	} else {
		Err(format!(
			"{who}: {} missing ({why}); see the line above for the command to run",
			packages.join(" ")
		))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn nothing_to_install_is_not_an_error() {
		install_packages("test", "nothing", &[]).unwrap();
	}

	/// What the install path would do, without doing it: root with apt-get installs, anyone
	/// else is told the command.
	#[test]
	fn a_dry_run_names_the_packages_and_the_command() {
		let output = Command::new("bash")
			.arg("-c")
			.arg(with_packages_script("install_packages \"$@\""))
			.args(["packages.sh", "fulgur-test", "needed by a test", "fulgur-no-such-package"])
			.env("FULGUR_INSTALL_DRY_RUN", "1")
			.output()
			.unwrap();
		let stderr = String::from_utf8_lossy(&output.stderr);
		let root_with_apt = is_root() && on_path("apt-get");
		if root_with_apt {
			assert!(output.status.success(), "{output:?}");
			assert!(
				stderr.contains(
					"fulgur-test: would install fulgur-no-such-package (needed by a test)"
				),
				"{stderr}"
			);
		} else {
			assert!(!output.status.success(), "{output:?}");
			assert!(
				stderr.contains("missing fulgur-no-such-package (needed by a test)"),
				"{stderr}"
			);
		}
		assert!(
			stderr.contains("apt-get install -y --no-install-recommends fulgur-no-such-package")
				|| stderr.contains("apt-get install fulgur-no-such-package"),
			"{stderr}"
		);
		assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
	}

	fn is_root() -> bool {
		Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
	}

	fn on_path(program: &str) -> bool {
		Command::new("bash")
			.args(["-c", "command -v \"$1\"", "bash", program])
			.output()
			.map(|o| o.status.success())
			.unwrap_or(false)
	}
}
