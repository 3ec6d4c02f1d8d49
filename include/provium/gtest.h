// GoogleTest integration: the environment that checks prerequisites, and the entry point used
// by provium_gtest_main for programs that bring their own main().
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

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

namespace matcher_detail {
inline int64_t result_of(int64_t ret) { return ret; }
inline int64_t result_of(const SyscallResult& result) { return result.ret; }
inline int64_t result_of(const IoctlResult& result) { return result.ret; }
// "-9 (EBADF: Bad file descriptor)"
std::string describe_result(int64_t ret);
std::string errno_name(int error);
}  // namespace matcher_detail

}  // namespace provium::testing

namespace provium {

// gVisor-style matchers for a syscall's result: an int64_t from vm.syscall(...) with integers,
// a SyscallResult, or an IoctlResult.
//   EXPECT_THAT(vm.syscall(SYS_getpid), SyscallSucceeds());
//   EXPECT_THAT(vm.syscall(SYS_close, -1), SyscallFailsWithErrno(EBADF));
MATCHER(SyscallSucceeds, "succeeds") {
  const int64_t ret = ::provium::testing::matcher_detail::result_of(arg);
  *result_listener << "returned " << ::provium::testing::matcher_detail::describe_result(ret);
  return ret >= 0;
}

MATCHER_P(SyscallSucceedsWithValue, value,
          "succeeds with " + ::testing::PrintToString(value)) {
  const int64_t ret = ::provium::testing::matcher_detail::result_of(arg);
  *result_listener << "returned " << ::provium::testing::matcher_detail::describe_result(ret);
  return ret == static_cast<int64_t>(value);
}

MATCHER_P(SyscallFailsWithErrno, error,
          "fails with " + ::provium::testing::matcher_detail::errno_name(error)) {
  const int64_t ret = ::provium::testing::matcher_detail::result_of(arg);
  *result_listener << "returned " << ::provium::testing::matcher_detail::describe_result(ret);
  return ret == -static_cast<int64_t>(error);
}

}  // namespace provium
