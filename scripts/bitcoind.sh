#!/usr/bin/env bash
# Provision bitcoind + bitcoin-cli and print the bitcoind path on stdout.
#
# Lookup order (DESIGN.md): $BITCOIND_EXE, `bitcoind` on PATH, the cache
# ($FULGUR_CACHE or ~/.cache/fulgur/bitcoind-31.99/), then build from the
# Bitcoin Core source vendored in the Rust crate registry's package
# libbitcoinkernel-sys 0.4.1 into the cache. A second call returns at once.
#
# The build needs cmake, make, a C and C++ compiler and the Boost headers; what is
# missing is installed with apt-get when running as root (scripts/packages.sh),
# otherwise the script stops with the command to run. The build prints one
# progress line per step and per percent; cmake's own output goes to a log file
# whose path is printed, and which is shown in full if the build fails.
#
# Usage: bitcoind.sh               find or build bitcoind; print its path
#        bitcoind.sh --check-deps  say which of the build's system packages this
#                                  machine lacks and what provisioning would do
#                                  about them; installs and builds nothing
set -euo pipefail

# The binary and the tests run this script with scripts/packages.sh in front of it.
if ! declare -F install_packages >/dev/null; then
	# shellcheck source=packages.sh
	source "$(dirname "${BASH_SOURCE[0]}")/packages.sh"
fi

VERSION=31.99
CRATE=libbitcoinkernel-sys
CRATE_VERSION=0.4.1
CACHE_ROOT="${FULGUR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fulgur}"
CACHE="$CACHE_ROOT/bitcoind-$VERSION"
LOG="$CACHE_ROOT/bitcoind-$VERSION-build.log"
STEPS=4

log() { echo "bitcoind.sh: $*" >&2; }

# The Debian packages of what the build needs and this machine lacks, one per line.
missing_build_packages() {
	command -v cmake >/dev/null || echo cmake
	command -v make >/dev/null || echo make
	command -v cc >/dev/null || echo gcc
	command -v c++ >/dev/null || echo g++
	local dir
	for dir in ${BOOST_ROOT:+"$BOOST_ROOT/include"} /usr/include /usr/local/include; do
		[[ -f "$dir/boost/version.hpp" ]] && return 0
	done
	echo libboost-dev
}

# Installs what the build lacks (or, with FULGUR_INSTALL_DRY_RUN, says what it would);
# fails with one line naming the command when it cannot.
ensure_build_packages() {
	local missing
	mapfile -t missing < <(missing_build_packages)
	[[ ${#missing[@]} -eq 0 ]] && return 0
	install_packages bitcoind.sh "needed to build bitcoind" "${missing[@]}" || return 1
	[[ -n "${FULGUR_INSTALL_DRY_RUN:-}" ]] && return 0
	mapfile -t missing < <(missing_build_packages)
	if [[ ${#missing[@]} -gt 0 ]]; then
		log "still missing after the install: ${missing[*]} (installed, but not on PATH?)"
		return 1
	fi
}

if [[ "${1:-}" == "--check-deps" ]]; then
	mapfile -t missing < <(missing_build_packages)
	if [[ ${#missing[@]} -eq 0 ]]; then
		log "the build has everything it needs (cmake, make, cc, c++, the Boost headers)"
		exit 0
	fi
	FULGUR_INSTALL_DRY_RUN=1 ensure_build_packages
	exit $?
elif [[ $# -gt 0 ]]; then
	log "unknown argument $1 (usage: bitcoind.sh [--check-deps])"
	exit 2
fi

if [[ -n "${BITCOIND_EXE:-}" ]]; then
	if [[ -x "$BITCOIND_EXE" ]]; then echo "$BITCOIND_EXE"; exit 0; fi
	log "BITCOIND_EXE=$BITCOIND_EXE is not an executable"; exit 1
fi
if found="$(command -v bitcoind 2>/dev/null)"; then echo "$found"; exit 0; fi
if [[ -x "$CACHE/bin/bitcoind" && -x "$CACHE/bin/bitcoin-cli" ]]; then
	echo "$CACHE/bin/bitcoind"; exit 0
fi

mkdir -p "$CACHE_ROOT"
# Only one build at a time: concurrent test processes wait for the first.
exec 9>"$CACHE_ROOT/bitcoind-$VERSION.lock"
if ! flock -n 9; then
	log "another process is building bitcoind (see $LOG); waiting for it"
	flock 9
fi
if [[ -x "$CACHE/bin/bitcoind" && -x "$CACHE/bin/bitcoin-cli" ]]; then
	echo "$CACHE/bin/bitcoind"; exit 0
fi

command -v cargo >/dev/null || { log "cargo is needed to fetch the Bitcoin Core source (install the Rust toolchain)"; exit 1; }
ensure_build_packages || exit 1

STARTED=$SECONDS
STEP=""
elapsed() {
	local seconds=$((SECONDS - STARTED))
	printf '%dm %02ds' $((seconds / 60)) $((seconds % 60))
}
step() {
	STEP="step $1/$STEPS: $2"
	log "$STEP ($(elapsed))"
}
# The whole log on stderr, then one line saying where the build stopped.
fail() {
	echo "----- $LOG -----" >&2
	cat "$LOG" >&2
	echo "----- end of $LOG -----" >&2
	log "the build failed at $STEP after $(elapsed); its log is above and in $LOG"
	exit 1
}
# Copies the build's output to the log and prints one progress line per new percentage
# (cmake's Makefiles print "[ NN%] Building CXX object ..."); on a terminal the line is
# rewritten in place.
show_progress() {
	local line last="" percent
	while IFS= read -r line; do
		printf '%s\n' "$line" >>"$LOG"
		[[ "$line" =~ ^\[\ *([0-9]+)%\] ]] || continue
		percent="${BASH_REMATCH[1]}"
		[[ "$percent" == "$last" ]] && continue
		last="$percent"
		if [[ -t 2 ]]; then
			printf '\rbitcoind.sh: compiling: %3d%% (%s)' "$percent" "$(elapsed)" >&2
		else
			log "compiling: $percent% ($(elapsed))"
		fi
	done
	if [[ -t 2 && -n "$last" ]]; then echo >&2; fi
}

WORK="$(mktemp -d "$CACHE_ROOT/build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
: >"$LOG"
log "building bitcoind $VERSION from the crate $CRATE $CRATE_VERSION (5 to 15 minutes on 2 cores); log: $LOG"

step 1 "fetching the Bitcoin Core source (crate $CRATE $CRATE_VERSION) with cargo"
# Fetch the crate with cargo itself, outside any workspace.
mkdir -p "$WORK/fetch/src"
cat >"$WORK/fetch/Cargo.toml" <<TOML
[package]
name = "fetch-bitcoin-source"
version = "0.0.0"
edition = "2021"
[dependencies]
$CRATE = "=$CRATE_VERSION"
[workspace]
TOML
echo "" >"$WORK/fetch/src/lib.rs"
cargo fetch --manifest-path "$WORK/fetch/Cargo.toml" >>"$LOG" 2>&1 || fail
CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
archive="$(ls "$CARGO_HOME"/registry/cache/*/"$CRATE-$CRATE_VERSION.crate" 2>>"$LOG" | head -n1)" || true
[[ -n "$archive" ]] || { echo "no $CRATE-$CRATE_VERSION.crate under $CARGO_HOME/registry/cache" >>"$LOG"; fail; }
tar -xzf "$archive" -C "$WORK" >>"$LOG" 2>&1 || fail
SRC="$WORK/$CRATE-$CRATE_VERSION/bitcoin"

step 2 "configuring with cmake"
cmake -S "$SRC" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release \
	-DBUILD_DAEMON=ON -DBUILD_CLI=ON -DENABLE_WALLET=OFF -DBUILD_GUI=OFF \
	-DBUILD_TESTS=OFF -DBUILD_BENCH=OFF -DBUILD_TX=OFF -DBUILD_UTIL=OFF \
	-DBUILD_WALLET_TOOL=OFF -DBUILD_KERNEL_LIB=OFF -DENABLE_IPC=OFF \
	-DWITH_ZMQ=OFF -DWITH_EMBEDDED_ASMAP=OFF >>"$LOG" 2>&1 || fail

step 3 "compiling bitcoind and bitcoin-cli on $(nproc) cores"
cmake --build "$WORK/build" -j"$(nproc)" --target bitcoind bitcoin-cli 2>&1 | show_progress || fail

step 4 "installing into $CACHE"
mkdir -p "$CACHE.tmp/bin"
cp "$WORK/build/bin/bitcoind" "$WORK/build/bin/bitcoin-cli" "$CACHE.tmp/bin/" 2>>"$LOG" || fail
rm -rf "$CACHE"
mv "$CACHE.tmp" "$CACHE"
log "built bitcoind $VERSION in $(elapsed); cached in $CACHE (log: $LOG)"
echo "$CACHE/bin/bitcoind"
