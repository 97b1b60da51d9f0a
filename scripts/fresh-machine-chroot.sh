#!/usr/bin/env bash
# Runs scripts/fresh-machine-check.sh on a machine as fresh as can be made without a new one:
# a minimal Debian chroot (debootstrap) with only what a new machine of this kind has (the Rust
# toolchain, bind-mounted read-only from this machine; gcc, g++, make, git, curl) and no package
# lists, so every install the README's promise needs happens there for real, while this
# machine's packages and caches stay untouched. The chroot's mounts live in their own mount
# namespace and vanish with it. Root only; needs debootstrap (apt-get install debootstrap).
#
# Usage: scripts/fresh-machine-chroot.sh ROOT [REPO]
#   ROOT  the chroot's directory (created with debootstrap when missing; reused otherwise)
#   REPO  the repository to check (default: the one this script is in); its checked-out
#         branch is what the chroot clones
set -euo pipefail

ROOT="${1:?usage: fresh-machine-chroot.sh ROOT [REPO]}"
REPO="${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
SUITE="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
say() { echo "fresh-machine-chroot: $*" >&2; }

[[ "$(id -u)" -eq 0 ]] || { say "needs root (chroot, mounts)"; exit 1; }
command -v debootstrap >/dev/null || { say "needs debootstrap: run \`apt-get install -y debootstrap\`"; exit 1; }
RUSTUP_DIR="${RUSTUP_HOME:-$HOME/.rustup}"
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"

if [[ ! -x "$ROOT/bin/bash" ]]; then
	say "creating a minimal Debian $SUITE in $ROOT"
	debootstrap --variant=minbase --include=gcc,g++,make,libc6-dev,git,ca-certificates,curl,procps \
		"$SUITE" "$ROOT" >&2
	if [[ -d /etc/apt/sources.list.d && -n "$(ls /etc/apt/sources.list.d/*.sources 2>/dev/null)" ]]; then
		rm -f "$ROOT/etc/apt/sources.list"
		cp /etc/apt/sources.list.d/*.sources "$ROOT/etc/apt/sources.list.d/"
	fi
	# A new machine has no package lists until the first apt-get update.
	find "$ROOT/var/lib/apt/lists" -maxdepth 1 -type f -delete
	# Every installed machine has these two names; debootstrap leaves /etc/hosts out, and
	# chromedriver reaches the browser at "localhost".
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"
	mkdir -p "$ROOT/root/.cargo" "$ROOT/root/.rustup"
	cp -a "$CARGO_BIN" "$ROOT/root/.cargo/"
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# The certificate authorities this machine adds (a network that inspects TLS needs them).
if [[ -n "$(ls /usr/local/share/ca-certificates/ 2>/dev/null)" ]]; then
	cp -r /usr/local/share/ca-certificates/. "$ROOT/usr/local/share/ca-certificates/"
	chroot "$ROOT" update-ca-certificates >/dev/null 2>&1
fi

# What the chroot clones: the checked-out branch, as a bare repository inside it.
rm -rf "$ROOT/repo.git"
git clone --quiet --bare "$REPO" "$ROOT/repo.git"
cp "$(dirname "${BASH_SOURCE[0]}")/fresh-machine-check.sh" "$ROOT/fresh-machine-check.sh"
say "checking $(git -C "$ROOT/repo.git" log --oneline -1 HEAD) in $ROOT"

exec unshare --mount --propagation private bash -c '
	set -euo pipefail
	root="$1" rustup="$2"
	mount --rbind /dev "$root/dev"
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount --bind "$rustup" "$root/root/.rustup"
	mount -o remount,bind,ro "$root/root/.rustup"
	exec chroot "$root" env -i HOME=/root USER=root LANG=C.UTF-8 TERM=dumb \
		PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		FRESH_UP_LIMIT="${FRESH_UP_LIMIT:-3600}" FRESH_TEST_LIMIT="${FRESH_TEST_LIMIT:-3600}" \
		bash /fresh-machine-check.sh /repo.git
' fresh-chroot "$ROOT" "$RUSTUP_DIR"
