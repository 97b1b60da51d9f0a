#!/usr/bin/env bash
# Provision bitcoind + bitcoin-cli and print the bitcoind path on stdout.
#
# Lookup order (DESIGN.md): $BITCOIND_EXE, `bitcoind` on PATH, the cache
# ($FULGUR_CACHE or ~/.cache/fulgur/bitcoind-31.99/), then build from the
# Bitcoin Core source vendored in the crates.io package libbitcoinkernel-sys
# 0.4.1 into the cache. A second call returns at once.
#
# Needs (only for the build): cmake libevent-dev libboost-dev pkg-config.
set -euo pipefail

VERSION=31.99
CRATE=libbitcoinkernel-sys
CRATE_VERSION=0.4.1
CACHE_ROOT="${FULGUR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fulgur}"
CACHE="$CACHE_ROOT/bitcoind-$VERSION"

log() { echo "bitcoind.sh: $*" >&2; }

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
flock 9
if [[ -x "$CACHE/bin/bitcoind" && -x "$CACHE/bin/bitcoin-cli" ]]; then
	echo "$CACHE/bin/bitcoind"; exit 0
fi

for tool in cmake pkg-config c++; do
	command -v "$tool" >/dev/null || { log "missing $tool: apt-get install cmake libevent-dev libboost-dev pkg-config build-essential"; exit 1; }
done

WORK="$(mktemp -d "$CACHE_ROOT/build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
log "building bitcoind $VERSION from $CRATE $CRATE_VERSION (about 7 minutes on 2 cores)"

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
cargo fetch --quiet --manifest-path "$WORK/fetch/Cargo.toml" >&2
CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
archive="$(ls "$CARGO_HOME"/registry/cache/*/"$CRATE-$CRATE_VERSION.crate" | head -n1)"
tar -xzf "$archive" -C "$WORK"
SRC="$WORK/$CRATE-$CRATE_VERSION/bitcoin"

cmake -S "$SRC" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release \
	-DBUILD_DAEMON=ON -DBUILD_CLI=ON -DENABLE_WALLET=OFF -DBUILD_GUI=OFF \
	-DBUILD_TESTS=OFF -DBUILD_BENCH=OFF -DBUILD_TX=OFF -DBUILD_UTIL=OFF \
	-DBUILD_WALLET_TOOL=OFF -DBUILD_KERNEL_LIB=OFF -DENABLE_IPC=OFF \
	-DWITH_ZMQ=OFF -DWITH_EMBEDDED_ASMAP=OFF >&2
cmake --build "$WORK/build" -j"$(nproc)" --target bitcoind bitcoin-cli >&2

mkdir -p "$CACHE.tmp/bin"
cp "$WORK/build/bin/bitcoind" "$WORK/build/bin/bitcoin-cli" "$CACHE.tmp/bin/"
rm -rf "$CACHE"
mv "$CACHE.tmp" "$CACHE"
log "cached in $CACHE"
echo "$CACHE/bin/bitcoind"
