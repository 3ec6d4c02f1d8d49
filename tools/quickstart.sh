#!/usr/bin/env bash
# Sets Provium up on a Debian 12 machine and runs the example suite against a real VM:
# installs what is missing (with sudo unless root), builds in ./build, runs `--suite examples`.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; return; fi
  command -v sudo >/dev/null || { echo "quickstart: installing packages needs root: run this as root, or install sudo" >&2; exit 1; }
  sudo "$@"
}

mapfile -t packages < <(grep -v '^#' tools/debian-packages.txt)
# A guest kernel: the host's own /boot is enough; a machine without one gets Debian's cloud
# kernel (small, virtio drivers as modules, which Provium loads itself).
if ! compgen -G '/boot/vmlinuz-*' >/dev/null; then packages+=(linux-image-cloud-amd64); fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[ -f build/build.ninja ] || meson setup build
meson compile -C build
meson test -C build --suite examples --print-errorlogs
