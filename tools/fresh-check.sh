#!/usr/bin/env bash
# The clean-root check: makes a pristine Debian 12 root with debootstrap (variant minbase: the
# essential packages and apt, less than any installed Debian has), copies a clean checkout of
# this repository's HEAD into it and runs exactly the README's two commands there under chroot,
# as root, with PROVIUM_REQUIRE=1 (a missing QEMU or kernel fails instead of skipping).
#
# It proves that tools/debian-packages.txt and tools/quickstart.sh install everything that the
# build and the whole test suite need: the root has nothing that was installed by hand on this
# machine. CI (.ci/run) runs it. It needs root, debootstrap (Debian package debootstrap), git,
# and Debian's package mirror; it takes about 20 minutes on two cores.
#
# Usage: tools/fresh-check.sh [--keep] [COMMAND...]
#   --keep    leave the root in place, unmounted
#   COMMAND   what to run in the root, one shell command each, in order, stopping at the first
#             that fails; by default the README's two commands, `tools/quickstart.sh` and
#             `meson test -C build --print-errorlogs`
# Environment:
#   PROVIUM_FRESH_MIRROR  Debian mirror (default http://deb.debian.org/debian; security updates
#                         come from the same host's debian-security)
#   PROVIUM_FRESH_CACHE   downloaded packages kept between runs (default
#                         /var/cache/provium-fresh-check); apt and debootstrap check each one
#                         against the signed archive index before using it, so a stale or
#                         damaged file is fetched again, never installed; its kernels/ keeps
#                         the kernels the tests build from source (tools/build-kernel.sh)
#   PROVIUM_FRESH_DIR     where the root is made (default: a new directory under /var/tmp); it
#                         is removed afterwards
# The test logs (meson-logs of the run in the root) are copied to fresh-check-logs/ here.
set -euo pipefail
# The whole script is one block, read before it runs: editing this file during a run (a
# checkout, say) cannot change what the run does.
{
repo=$(cd "$(dirname "$0")/.." && pwd)
keep=false
if [ "${1:-}" = --keep ]; then keep=true; shift; fi
case "${1:-}" in
  -*) echo "usage: tools/fresh-check.sh [--keep] [COMMAND...]" >&2; exit 2 ;;
esac
commands=("$@")
[ ${#commands[@]} -gt 0 ] || commands=("tools/quickstart.sh" "meson test -C build --print-errorlogs")

fail() { echo "fresh-check: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "run as root: it runs debootstrap, mounts /proc, /sys and /dev into the root and chroots"
command -v debootstrap >/dev/null || fail "debootstrap not found (Debian: apt-get install debootstrap)"
command -v git >/dev/null || fail "git not found (Debian: apt-get install git)"
for program in chroot:coreutils mount:mount findmnt:util-linux tar:tar; do
  command -v "${program%%:*}" >/dev/null || fail "${program%%:*} not found (Debian: apt-get install ${program#*:})"
done
git -C "$repo" rev-parse --verify -q HEAD >/dev/null || fail "$repo is not a git checkout with a commit"

mirror=${PROVIUM_FRESH_MIRROR:-http://deb.debian.org/debian}
cache=${PROVIUM_FRESH_CACHE:-/var/cache/provium-fresh-check}
mkdir -p "$cache/debootstrap" "$cache/apt-archives/partial"
work=$(mktemp -d "${PROVIUM_FRESH_DIR:-/var/tmp}/provium-fresh-check.XXXXXX")
root=$work/root
logs=$repo/fresh-check-logs
started=$SECONDS

# Mount points at or below the root (a plain prefix test: the path is no pattern).
mounted() { findmnt -rn -o TARGET | awk -v root="$root" '$0 == root || index($0, root "/") == 1' | sort -r; }
cleanup() {
  local status=$?
  # Whatever still runs in the root (a QEMU left by a failed test) ends before the unmounting.
  for link in /proc/[0-9]*/root; do
    [ "$(readlink "$link" 2>/dev/null)" = "$root" ] && kill -KILL "$(basename "$(dirname "$link")")" 2>/dev/null
  done
  local target
  while read -r target; do umount -l "$target" || true; done < <(mounted)
  if [ -n "$(mounted)" ]; then
    echo "fresh-check: mounts remain under $root; not removing it" >&2
  elif $keep; then
    echo "fresh-check: the root is kept in $root"
  else
    rm -rf --one-file-system "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { echo "=== fresh-check: $* ($(( SECONDS - started )) s)"; }

step "debootstrap bookworm (minbase) into $root"
for attempt in 1 2 3; do
  debootstrap --variant=minbase --cache-dir="$cache/debootstrap" bookworm "$root" "$mirror" \
    > "$work/debootstrap.log" 2>&1 && break
  tail -n 20 "$work/debootstrap.log" >&2
  [ "$attempt" -lt 3 ] || fail "debootstrap failed three times (log above)"
  echo "fresh-check: debootstrap failed; trying again" >&2
  rm -rf --one-file-system "$root"
done

# The sources of an installed Debian 12: the release, its updates and its security updates.
cat > "$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
EOF
# Only how the network is used: a dropped connection is retried.
echo 'Acquire::Retries "3";' > "$root/etc/apt/apt.conf.d/80-fresh-check-retries"
cp /etc/resolv.conf "$root/etc/resolv.conf"

mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"
mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
# Kernels built from source by the tests (tools/build-kernel.sh) are kept between runs too.
mkdir -p "$cache/kernels" "$root/var/cache/provium-kernels"
mount --bind "$cache/kernels" "$root/var/cache/provium-kernels"

step "copying HEAD ($(git -C "$repo" rev-parse --short HEAD)) to /root/provium"
mkdir -p "$root/root/provium"
git -C "$repo" archive --format=tar HEAD | tar -x -C "$root/root/provium"

# In the root: a login's environment, nothing of this one's.
in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb PROVIUM_REQUIRE=1 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c "cd /root/provium && $1"
}

status=0
for command in "${commands[@]}"; do
  step "$command"
  in_root "$command" || { status=$?; break; }
done
rm -rf "$logs"
if [ -d "$root/root/provium/build/meson-logs" ]; then
  cp -r "$root/root/provium/build/meson-logs" "$logs"
fi
step "done, exit status $status; the test logs are in $logs"
exit "$status"
}
