#!/usr/bin/env bash
# Which machine type, firmware and kernel format boot fastest: QEMU start -> a minimal init
# that reboots at once (reboot=t: a triple fault, which every machine type turns into QEMU
# exiting under -no-reboot), medians of N boots each, measured side by side
# in one run. The kernel and QEMU are the default profile's; the uncompressed (PVH) kernel is
# the one Provium caches for it (run any Provium boot first).
#   bench/machine_types.sh [N]
set -euo pipefail
runs=${1:-5}
kernel=$(ls -1 /boot/vmlinuz-* | sort -V | tail -1)
cache=${PROVIUM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/provium}
elf=$(ls -1t "$cache"/kernels/*.elf 2>/dev/null | head -1 || true)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/bin"
cp /bin/busybox "$work/root/bin/"
printf '#!/bin/busybox sh\n/bin/busybox reboot -f\n' > "$work/root/init"
chmod +x "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet > "$work/init.cpio")

boot() {  # prints the milliseconds from QEMU's start to its exit, or "failed"
  local start end
  start=$(date +%s%N)
  if ! timeout 30 qemu-system-x86_64 "$@" -accel tcg -cpu max -m 512M -nodefaults -no-user-config \
    -display none -no-reboot -initrd "$work/init.cpio" -append "console=ttyS0 panic=-1 quiet reboot=t" \
    -serial "file:$work/console.log" >/dev/null 2>&1; then
    echo failed
    return
  fi
  end=$(date +%s%N)
  echo $(( (end - start) / 1000000 ))
}

declare -A configs=(
  ["q35, SeaBIOS, bzImage"]="-M q35 -kernel $kernel"
  ["q35, qboot, bzImage"]="-M q35 -bios /usr/share/qemu/qboot.rom -kernel $kernel"
  ["pc, SeaBIOS, bzImage"]="-M pc -kernel $kernel"
  ["microvm, bzImage"]="-M microvm -kernel $kernel"
)
if [ -n "$elf" ]; then
  configs["q35, SeaBIOS, PVH ELF"]="-M q35 -kernel $elf"
  configs["q35, qboot, PVH ELF"]="-M q35 -bios /usr/share/qemu/qboot.rom -kernel $elf"
  configs["microvm, PVH ELF"]="-M microvm -kernel $elf"
fi
declare -A times
for ((i = 0; i < runs; i++)); do  # interleaved, so that a busy moment hits every config alike
  for name in "${!configs[@]}"; do
    # shellcheck disable=SC2086
    times["$name"]+="$(boot ${configs[$name]}) "
  done
done
printf '%-26s %s\n' "configuration" "median ms (QEMU start -> exit, $runs boots)"
for name in "${!configs[@]}"; do
  # shellcheck disable=SC2086
  median=$(printf '%s\n' ${times[$name]} | grep -v failed | sort -n |
           awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "-"}')
  failed=$(printf '%s\n' ${times[$name]} | grep -c failed || true)
  printf '%-26s %s%s\n' "$name" "$median" "$( [ "$failed" = 0 ] || echo " ($failed of $runs did not boot in 30 s)")"
done | sort
