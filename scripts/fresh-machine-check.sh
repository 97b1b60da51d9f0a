#!/usr/bin/env bash
# Checks the README's promise: on this machine, a fresh clone and the README's two commands
# bring up the regtest network and pass the tests, with nothing installed by hand.
#
# In a throwaway directory it clones the repository, takes the two commands of the README's
# "On a fresh machine" section and its curl example ("Pay a carol invoice") from the clone's
# README.md, and runs them as written: the first until the network says it is ready (then the
# curl example against it, then Ctrl-C), the second to the end. Each has a time limit; each
# step's time is reported at the end.
#
# Usage: scripts/fresh-machine-check.sh [REPO]   (default: the repository this script is in)
#
# Fresh by default, without touching the machine's caches: the bitcoind cache (FULGUR_CACHE)
# and cargo's target directory are new directories inside the throwaway one (so bitcoind is
# built from source), BITCOIND_EXE is unset, and the network lives in the throwaway directory
# (FULGUR_REGTEST_DIR, the env of `regtest up --dir`). Set FULGUR_CACHE to reuse a cache.
# Cargo's own registry (~/.cargo) is the machine's.
#
# Environment: FRESH_UP_LIMIT and FRESH_TEST_LIMIT (seconds; 3600 each) bound the two
# commands, FRESH_KEEP=1 keeps the throwaway directory, FRESH_DIR picks it.
set -euo pipefail

REPO="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
UP_LIMIT="${FRESH_UP_LIMIT:-3600}"
TEST_LIMIT="${FRESH_TEST_LIMIT:-3600}"
WORK="${FRESH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/fulgur-fresh.XXXXXX")}"
mkdir -p "$WORK"
CHECK_STARTED=$SECONDS

say() { echo "fresh-machine-check: $*" >&2; }
duration() { printf '%dm %02ds' $(($1 / 60)) $(($1 % 60)); }

RESULTS=()
# record NAME STATUS SECONDS
record() {
	RESULTS+=("$(printf '%-52s %-6s %s' "$1" "$2" "$(duration "$3")")")
	say "$1: $2 in $(duration "$3")"
}
report() {
	echo
	echo "=== fresh-machine-check: $(duration $((SECONDS - CHECK_STARTED))) in all; $WORK"
	printf '%-52s %-6s %s\n' "step" "result" "time"
	local line
	for line in "${RESULTS[@]}"; do echo "$line"; done
}

NETWORK_PID=""
cleanup() {
	if [[ -n "$NETWORK_PID" ]] && kill -0 "$NETWORK_PID" 2>/dev/null; then
		kill -INT "$NETWORK_PID" 2>/dev/null || true
		sleep 5
		kill -KILL "$NETWORK_PID" 2>/dev/null || true
	fi
	if [[ -z "${FRESH_KEEP:-}" ]]; then
		rm -rf "$WORK"
	else
		say "kept $WORK"
	fi
}
trap cleanup EXIT

# Prints the new lines of a log file since the last call, indented (offset in a variable
# named by $2).
follow() {
	local file="$1" var="$2" lines
	lines=$(wc -l <"$file")
	if ((lines > ${!var})); then
		sed -n "$((${!var} + 1)),${lines}p" "$file" | sed 's/^/  | /' >&2
		printf -v "$var" '%s' "$lines"
	fi
}

export FULGUR_CACHE="${FULGUR_CACHE:-$WORK/cache}"
export FULGUR_REGTEST_DIR="$WORK/regtest"
unset BITCOIND_EXE CARGO_TARGET_DIR
say "repository $REPO; working in $WORK"
say "machine: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), $(nproc) cores, user $(id -un)"
say "bitcoind cache $FULGUR_CACHE ($( [[ -x "$FULGUR_CACHE/bitcoind-31.99/bin/bitcoind" ]] && echo "has bitcoind" || echo "empty: bitcoind will be built"))"
for tool in cmake c++ chromium chromedriver bitcoind; do
	say "  $tool: $(command -v "$tool" || echo "not installed")"
done

# 1. Clone.
started=$SECONDS
git clone --quiet "$REPO" "$WORK/fulgur"
record "git clone" ok $((SECONDS - started))
cd "$WORK/fulgur"

# The README's commands, as written in the clone.
mapfile -t COMMANDS < <(awk '
	/^## On a fresh machine/ { section = 1; next }
	/^## / { section = 0 }
	section && /^```sh/ { block = 1; next }
	block && /^```/ { exit }
	block { sub(/[ \t]+#.*$/, ""); if (length($0)) print }
' README.md)
if [[ ${#COMMANDS[@]} -ne 2 ]]; then
	say "the README's \"On a fresh machine\" section has ${#COMMANDS[@]} commands, not two: ${COMMANDS[*]:-none}"
	exit 1
fi
UP_COMMAND="${COMMANDS[0]}"
TEST_COMMAND="${COMMANDS[1]}"
CURL_EXAMPLE="$(awk '
	/^Pay a carol invoice/ { found = 1; next }
	found && /^```sh/ { block = 1; next }
	block && /^```/ { exit }
	block { print }
' README.md)"
[[ "$UP_COMMAND" == *"regtest up"* ]] || { say "the first command is not \`regtest up\`: $UP_COMMAND"; exit 1; }
[[ -n "$CURL_EXAMPLE" ]] || { say "no curl example (\"Pay a carol invoice\") in the README"; exit 1; }
say "command 1: $UP_COMMAND"
say "command 2: $TEST_COMMAND"

# 2. The first command, until the network is ready.
say "running \`$UP_COMMAND\` (limit $(duration "$UP_LIMIT")); its output:"
started=$SECONDS
UP_LOG="$WORK/regtest-up.log"
# `cargo run` replaces itself with the binary, so this pid is the network's.
bash -c "exec $UP_COMMAND" >"$UP_LOG" 2>&1 </dev/null &
NETWORK_PID=$!
shown=0
until grep -q "network ready" "$UP_LOG"; do
	follow "$UP_LOG" shown
	if ! kill -0 "$NETWORK_PID" 2>/dev/null; then
		follow "$UP_LOG" shown
		record "1. $UP_COMMAND" failed $((SECONDS - started))
		report
		exit 1
	fi
	if ((SECONDS - started > UP_LIMIT)); then
		record "1. $UP_COMMAND" "limit" $((SECONDS - started))
		report
		exit 1
	fi
	sleep 2
done
follow "$UP_LOG" shown
record "1. $UP_COMMAND (until ready)" ok $((SECONDS - started))

# 3. The curl example against it (curl and jq are its prerequisites, as the README says).
missing=()
command -v curl >/dev/null || missing+=(curl)
command -v jq >/dev/null || missing+=(jq)
if [[ ${#missing[@]} -gt 0 ]]; then
	# shellcheck source=packages.sh
	source scripts/packages.sh
	install_packages fresh-machine-check "the README's curl example uses them" "${missing[@]}"
fi
started=$SECONDS
say "the README's curl example, with NET in the throwaway network's directory:"
CURL_SCRIPT="${CURL_EXAMPLE//\~\/.fulgur\/regtest/$FULGUR_REGTEST_DIR}"
echo "$CURL_SCRIPT" | sed 's/^/  $ /' >&2
if answer="$(timeout 120 bash -c "$CURL_SCRIPT" 2>&1)" && [[ "$answer" == *'"status": "succeeded"'* || "$answer" == *'"status":"succeeded"'* ]]; then
	echo "$answer" | sed 's/^/  | /' >&2
	record "curl example (alice pays carol)" ok $((SECONDS - started))
else
	echo "$answer" | sed 's/^/  | /' >&2
	record "curl example (alice pays carol)" failed $((SECONDS - started))
	report
	exit 1
fi

# Ctrl-C, as the network's banner says.
started=$SECONDS
kill -INT "$NETWORK_PID"
for _ in $(seq 60); do kill -0 "$NETWORK_PID" 2>/dev/null || break; sleep 1; done
if kill -0 "$NETWORK_PID" 2>/dev/null; then
	record "Ctrl-C stops the network" failed $((SECONDS - started))
	report
	exit 1
fi
wait "$NETWORK_PID" || true
NETWORK_PID=""
follow "$UP_LOG" shown
record "Ctrl-C stops the network" ok $((SECONDS - started))

# 4. The second command.
say "running \`$TEST_COMMAND\` (limit $(duration "$TEST_LIMIT")); its output:"
started=$SECONDS
TEST_LOG="$WORK/test.log"
set +e
timeout -k 30 "$TEST_LIMIT" bash -c "$TEST_COMMAND" >"$TEST_LOG" 2>&1 </dev/null &
TEST_PID=$!
shown=0
while kill -0 "$TEST_PID" 2>/dev/null; do
	follow "$TEST_LOG" shown
	sleep 5
done
wait "$TEST_PID"
status=$?
set -e
follow "$TEST_LOG" shown
passed=$(grep -Eo '[0-9]+ passed' "$TEST_LOG" | awk '{ s += $1 } END { print s + 0 }')
failed=$(grep -Eo '[0-9]+ failed' "$TEST_LOG" | awk '{ s += $1 } END { print s + 0 }')
say "tests: $passed passed, $failed failed (exit status $status)"
if [[ $status -eq 0 ]]; then
	record "2. $TEST_COMMAND ($passed passed)" ok $((SECONDS - started))
elif [[ $status -eq 124 ]]; then
	record "2. $TEST_COMMAND" "limit" $((SECONDS - started))
else
	record "2. $TEST_COMMAND ($failed failed)" failed $((SECONDS - started))
fi
report
[[ $status -eq 0 ]]
