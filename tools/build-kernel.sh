#!/usr/bin/env bash
# Builds Debian's linux-source-6.1 (the package of that name) for Provium's own tests, configured
# by `provium kconfig --minimal` (plus the fragments given), and prints the build directory.
# Each build is kept in a cache outside the repository and the build directory and reused while
# its inputs are unchanged: the source package's version, this script, the fragment that
# `provium kconfig` applies, the name and the fragments' contents.
#
# usage: build-kernel.sh PROVIUM NAME [FRAGMENT...]
#   PROVIUM   the provium executable (its `kconfig`)
#   NAME      a name for the build (a directory name)
#   FRAGMENT  more .config lines, applied after provium kconfig (a later value wins)
# environment: PROVIUM_KERNEL_CACHE  where builds are kept (default /var/cache/provium-kernels)
set -euo pipefail
# The whole script is one block, read before it runs: a checkout during a build cannot change
# what the build does.
{
[ $# -ge 2 ] || { echo "usage: $0 PROVIUM NAME [FRAGMENT...]" >&2; exit 2; }
provium=$(realpath "$1"); name=$2; shift 2
tarball=/usr/src/linux-source-6.1.tar.xz
fail() { echo "build-kernel: $*" >&2; exit 1; }
[ -f "$tarball" ] || fail "$tarball not found (Debian: apt-get install linux-source-6.1)"
for program in make:make gcc:gcc flex:flex bison:bison bc:bc xz:xz-utils; do
  command -v "${program%%:*}" >/dev/null || fail "${program%%:*} not found (Debian: apt-get install ${program#*:})"
done
[ -f /usr/include/libelf.h ] || fail "libelf.h not found (Debian: apt-get install libelf-dev)"

cache=${PROVIUM_KERNEL_CACHE:-/var/cache/provium-kernels}
mkdir -p "$cache"
version=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || stat -c %s-%Y "$tarball")
key=$( { echo "$version"; cat "$0"; "$provium" kconfig --print; echo "$name"; for f in "$@"; do cat "$f"; done; } |
  sha256sum | cut -c1-16)
out=$cache/$name-$key
exec 9>"$cache/$name.lock"
flock 9   # one build of a name at a time, across processes
if [ -f "$out/.provium-built" ]; then echo "$out"; exit 0; fi

# The source, unpacked once per package version (O= builds leave it clean).
source=$cache/source-$version
if [ ! -f "$source/.provium-unpacked" ]; then
  exec 8>"$cache/source.lock"; flock 8
  if [ ! -f "$source/.provium-unpacked" ]; then
    rm -rf "$source" && mkdir -p "$source"
    tar -xf "$tarball" -C "$source" --strip-components=1
    touch "$source/.provium-unpacked"
  fi
  flock -u 8
fi
# Builds of other inputs under this name are stale: only the newest is kept.
rm -rf "$cache/$name"-*/ && mkdir -p "$out"
start=$(date +%s)
"$provium" kconfig --minimal --source "$source" "$out" >&2
if [ $# -gt 0 ]; then
  cat "$@" >> "$out/.config"
  make -C "$source" O="$out" olddefconfig >&2
fi
targets=bzImage
grep -q '^CONFIG_MODULES=y' "$out/.config" && targets="bzImage modules"
make -C "$source" O="$out" -j"$(nproc)" $targets >"$out/build.log" 2>&1 || { tail -30 "$out/build.log" >&2; fail "the build failed; its log: $out/build.log"; }
echo "build-kernel: $name built in $(( $(date +%s) - start )) s: $out" >&2
touch "$out/.provium-built"
echo "$out"
exit 0
}
