// GoogleTest integration: the environment that checks prerequisites, and the entry point used
// by provium_gtest_main for programs that bring their own main().
#pragma once

#include <gtest/gtest.h>

#include <provium/provium.h>

namespace provium::testing {

// Parses and removes the --provium_* flags from argv, and registers the global environment:
// it checks that QEMU and a kernel are there, and skips every test with the reason when they
// are not (fails instead when the environment variable PROVIUM_REQUIRE=1).
// Call after ::testing::InitGoogleTest.
void Init(int* argc, char** argv);

// The exit code of a run: 77 ("skipped" for meson and automake) when tests ran and every one
// was skipped, else RUN_ALL_TESTS()'s own.
int ExitCode(int run_all_tests_result);

}  // namespace provium::testing
