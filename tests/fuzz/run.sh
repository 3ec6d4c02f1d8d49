#!/bin/sh
# run.sh FUZZER WORKDIR SEEDS [libFuzzer options...]
# Runs a fuzz target on a fresh WORKDIR/corpus (libFuzzer writes the inputs it finds into the
# first corpus directory it is given) followed by the committed seeds, which it only reads. A
# crashing input is saved as WORKDIR/crash-*, a leak as WORKDIR/leak-*, a hang as
# WORKDIR/timeout-*.
set -eu
fuzzer=$1 workdir=$2 seeds=$3
shift 3
rm -rf "$workdir"
mkdir -p "$workdir/corpus"
exec "$fuzzer" -artifact_prefix="$workdir/" "$@" "$workdir/corpus" "$seeds"
