# Sourced, not run: installs the Debian packages a fulgur step needs and cannot find.
#
# install_packages WHO WHY PKG... takes packages the caller found missing and either installs
# them (root, with apt-get: non-interactively, one line saying what and why) or stops with one
# line naming the exact command to run. It never installs anything otherwise, and never asks.
#
# Used by scripts/bitcoind.sh (the bitcoind build) and by the tests' browser harness; both the
# binary and the tests embed this file in front of the script that calls it.
#
# FULGUR_INSTALL_DRY_RUN=1 says what would be installed (and how) and changes nothing.
# One install at a time on the machine: parallel tests wait for each other on a lock file,
# and apt waits for any other apt holding the dpkg lock.

# How long apt-get waits for another apt or dpkg to release the lock, in seconds.
FULGUR_APT_LOCK_TIMEOUT="${FULGUR_APT_LOCK_TIMEOUT:-600}"

install_packages() {
	local who="$1" why="$2"
	shift 2
	local packages=("$@")
	[[ ${#packages[@]} -gt 0 ]] || return 0
	local list="${packages[*]}"
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "$who: missing $list ($why): install them with the system's package manager (Debian: apt-get install $list)" >&2
		return 1
	fi
	if [[ "$(id -u)" -ne 0 ]]; then
		echo "$who: missing $list ($why): run \`sudo apt-get install -y --no-install-recommends $list\`" >&2
		return 1
	fi
	local command="apt-get install -y --no-install-recommends $list"
	if [[ -n "${FULGUR_INSTALL_DRY_RUN:-}" ]]; then
		echo "$who: would install $list ($why): DEBIAN_FRONTEND=noninteractive $command" >&2
		return 0
	fi

	# The lock is held until this shell (or subshell) exits: enough, as every caller installs
	# once and goes on; fd 8 is ours (bitcoind.sh holds its build lock on 9).
	local lock_dir=/run/lock
	[[ -d "$lock_dir" && -w "$lock_dir" ]] || lock_dir=/tmp
	exec 8>"$lock_dir/fulgur-apt.lock"
	flock 8
	# Another process may have installed them while this one waited.
	local still_missing=() package
	for package in "${packages[@]}"; do
		if [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null)" != "ii " ]]; then
			still_missing+=("$package")
		fi
	done
	if [[ ${#still_missing[@]} -eq 0 ]]; then
		flock -u 8
		return 0
	fi
	list="${still_missing[*]}"
	command="apt-get install -y --no-install-recommends $list"

	echo "$who: installing $list ($why)" >&2
	local log
	log="$(mktemp "${TMPDIR:-/tmp}/fulgur-apt.XXXXXX.log")"
	local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o "DPkg::Lock::Timeout=$FULGUR_APT_LOCK_TIMEOUT")
	if ! "${apt[@]}" install -y --no-install-recommends "${still_missing[@]}" >"$log" 2>&1; then
		# A fresh machine often has no package lists yet ("Unable to locate package").
		echo "$who: apt-get install failed; updating the package lists (apt-get update) and trying again" >&2
		if ! { "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends "${still_missing[@]}"; } >>"$log" 2>&1; then
			tail -n 20 "$log" >&2
			echo "$who: could not install $list ($why); the output above is the end of $log. Run \`$command\` and try again" >&2
			flock -u 8
			return 1
		fi
	fi
	rm -f "$log"
	flock -u 8
	echo "$who: installed $list" >&2
}
