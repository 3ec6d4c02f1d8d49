#!/bin/bash
# A program that uses an installed Provium needs only GoogleTest and Provium's own libraries:
# installs the build into a scratch root, lets pkg-config see nothing but GoogleTest's .pc
# files and Provium's, builds examples/first_test.cpp the way its comment says, and lists its
# tests. Usage: check_pkg_config.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
source=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

meson install -C "$build" --destdir "$scratch/root" --no-rebuild --quiet >/dev/null
prefix=$(find "$scratch/root" -type d -path '*/include/provium' | sed 's#/include/provium$##')
mkdir "$scratch/pc"
cp /usr/lib/x86_64-linux-gnu/pkgconfig/gtest.pc /usr/lib/x86_64-linux-gnu/pkgconfig/gmock.pc "$scratch/pc"
export PKG_CONFIG_LIBDIR="$scratch/pc:$(dirname "$(find "$scratch/root" -name provium.pc)")"

flags=$(pkg-config --define-variable=prefix="$prefix" --cflags --libs provium-gtest-main)
echo "pkg-config --cflags --libs provium-gtest-main: $flags"
c++ -std=c++20 "$source/examples/first_test.cpp" $flags -o "$scratch/first_test"
LD_LIBRARY_PATH="$(dirname "$(find "$scratch/root" -name 'libprovium.so' | head -1)")" \
  "$scratch/first_test" --gtest_list_tests
