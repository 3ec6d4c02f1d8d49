// GoogleTest integration: fixtures (PROVIUM_FIXTURE), matchers for syscall results and TAP
// runs, the environment that checks prerequisites, and the entry point used by
// provium_gtest_main for programs that bring their own main().
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <type_traits>

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

// After a failed test: prints the last lines of `vm`'s console (everything since it was booted
// or resumed is the test's own) and keeps the whole console in a log file, whose path it prints
// and records as the test's property "console_log".
void ShowGuestContext(const ::provium::Vm& vm);

// Fails the running test with what vm.check_kernel_reports() found: each kernel report no
// vm.expect_kernel_report declared, with its text, and each declared one that never came.
void CheckKernelReports(::provium::Vm& vm);

// --provium_shell=NAME: a login shell in a fresh VM of fixture NAME on this process's terminal,
// instead of the tests (Init calls it and exits with the shell's status; 125 when the VM or
// the fixture failed).
int ShellInFixture(const std::string& name);

// With PROVIUM_KEEP_FAILED=1 (--provium_keep_failed): keeps a failed test's VM for a look
// instead of letting it be killed at once. Prints the command that opens a shell in it
// (provium shell --attach NAME) and waits for that shell to end, 10 minutes at most. A
// debugging switch, never for CI.
void KeepFailedVm(::provium::Vm& vm);

// With PROVIUM_GDB=1 (--provium_gdb): the test's VM (QEMU's gdbstub on, booted with nokaslr)
// waits for a debugger before the test body runs: the program prints the gdb command that
// attaches to it and goes on when gdb continues or detaches. A debugging switch, never for CI.
void WaitForDebugger(::provium::Vm& vm);

// The base of the test classes PROVIUM_FIXTURE defines: each test gets `vm`, a fresh VM
// resumed from the fixture's snapshot, killed after the test. A kernel report during the test
// fails it (CheckKernelReports); a failed test ends with its VM's console (ShowGuestContext).
class FixtureTest : public ::testing::Test {
 protected:
  explicit FixtureTest(const char* fixture) : fixture_(fixture) {}
  void SetUp() override {
    vm = ::provium::fixture(fixture_);
    WaitForDebugger(vm);
  }
  void TearDown() override {
    CheckKernelReports(vm);
    if (HasFailure()) {
      ShowGuestContext(vm);
      KeepFailedVm(vm);
    }
    vm.kill();
  }

  ::provium::Vm vm;

 private:
  const char* fixture_;
};

// Registers a fixture at static initialization; used by the macros below.
bool RegisterFixture(const char* name, ::provium::FixtureOptions options,
                     void (*setup)(::provium::Vm&));

namespace matcher_detail {
inline int64_t result_of(int64_t ret) { return ret; }
inline int64_t result_of(const SyscallResult& result) { return result.ret; }
inline int64_t result_of(const IoctlResult& result) { return result.ret; }
// "-9 (EBADF: Bad file descriptor)"
std::string describe_result(int64_t ret);
std::string errno_name(int error);
}  // namespace matcher_detail

}  // namespace provium::testing

// PROVIUM_FIXTURE(name) { ...prepare `vm`... } defines a fixture on the default profile and a
// test class `name`, so that every TEST_F(name, Case) { vm.exec(...); } gets a fresh VM
// resumed from the snapshot taken after the body ran:
//
//   PROVIUM_FIXTURE(kacs) { vm.exec("modprobe kacs"); }
//   PROVIUM_FIXTURE(kacs_on_v2, "v2") { ... }                  // on profile "v2"
//   PROVIUM_FIXTURE_WITH(big, {.boot = {.memory = "2G"}}) { ... }
//   PROVIUM_FIXTURE_WITH(kacs_loaded, {.parent = "kacs"}) { ... }  // from kacs's snapshot
//
// The body runs once per cache key (see docs/fixtures.md), not once per test.
#define PROVIUM_FIXTURE(...) \
  PROVIUM_FIXTURE_PICK_(__VA_ARGS__, PROVIUM_FIXTURE_ON_PROFILE_, PROVIUM_FIXTURE_DEFAULT_)(__VA_ARGS__)
#define PROVIUM_FIXTURE_WITH(name, ...) PROVIUM_FIXTURE_DEFINE_(name, ::provium::FixtureOptions __VA_ARGS__)

#define PROVIUM_FIXTURE_PICK_(_1, _2, chosen, ...) chosen
#define PROVIUM_FIXTURE_DEFAULT_(name) PROVIUM_FIXTURE_DEFINE_(name, ::provium::FixtureOptions{})
#define PROVIUM_FIXTURE_ON_PROFILE_(name, profile_name) \
  PROVIUM_FIXTURE_DEFINE_(name, ::provium::FixtureOptions{.profile = profile_name})
// The options are variadic: the commas inside their braces ({.profile = "p", .boot = ...}) split
// them into several macro arguments, which go back together where they are used.
#define PROVIUM_FIXTURE_DEFINE_(name, ...)                                                    \
  static void provium_fixture_setup_##name(::provium::Vm& vm);                                \
  [[maybe_unused]] static const bool provium_fixture_registered_##name =                      \
      ::provium::testing::RegisterFixture(#name, __VA_ARGS__, &provium_fixture_setup_##name); \
  class name : public ::provium::testing::FixtureTest {                                  \
   protected:                                                                            \
    name() : ::provium::testing::FixtureTest(#name) {}                                   \
  };                                                                                     \
  static void provium_fixture_setup_##name([[maybe_unused]] ::provium::Vm& vm)

// Checks a TapResult: skips the test when every subtest was skipped (the reasons are the skip's
// message), else expects TapPasses(). `result` is evaluated once. Its skip returns, like
// GTEST_SKIP(): use it in a test's body or a void function.
//   PROVIUM_EXPECT_TAP(provium::parse_tap(run.out, run.exit_code));
#define PROVIUM_EXPECT_TAP(result)                                                            \
  do {                                                                                        \
    const ::provium::TapResult& provium_tap_result_ = (result);                               \
    if (provium_tap_result_.all_skipped())                                                    \
      GTEST_SKIP() << ::provium::explain_tap(provium_tap_result_);                            \
    EXPECT_THAT(provium_tap_result_, ::provium::TapPasses());                                 \
  } while (false)

namespace provium {

// GoogleTest's printers for the guest's results, so that a failed expectation shows the exit
// code and the output, or the errno's name: "exit code 1, stdout \"\", stderr \"no such\"",
// "-13, EACCES (Permission denied)".
void PrintTo(const ExecResult& result, std::ostream* os);
void PrintTo(const JobResult& result, std::ostream* os);
void PrintTo(const SyscallResult& result, std::ostream* os);
void PrintTo(const IoctlResult& result, std::ostream* os);

namespace testing::matcher_detail {
// "EBADF (Bad file descriptor)" for an errno value, else what the matcher says of an errno.
template <class M>
std::string describe_errno(const M& error) {
  if constexpr (std::is_integral_v<M>) return errno_name(static_cast<int>(error));
  else return "an errno that " + ::testing::DescribeMatcher<int>(::testing::MatcherCast<int>(error));
}
}  // namespace testing::matcher_detail

// gVisor-style matchers for a syscall's result: an int64_t from vm.syscall(...) with integers,
// a SyscallResult, or an IoctlResult. Values or any gmock matchers:
//   EXPECT_THAT(vm.syscall(SYS_getpid), SyscallSucceeds());
//   EXPECT_THAT(vm.syscall(SYS_write, fd, buf, 4), SyscallSucceedsWithValue(Gt(0)));
//   EXPECT_THAT(vm.syscall(SYS_close, -1), SyscallFailsWithErrno(EBADF));
//   EXPECT_THAT(vm.syscall(SYS_open, ...), SyscallFailsWithErrno(AnyOf(EACCES, EPERM)));
MATCHER(SyscallSucceeds, "succeeds") {
  const int64_t ret = ::provium::testing::matcher_detail::result_of(arg);
  *result_listener << "returned " << ::provium::testing::matcher_detail::describe_result(ret);
  return ret >= 0;
}

MATCHER_P(SyscallSucceedsWithValue, value,
          "succeeds with a value that " + ::testing::DescribeMatcher<int64_t>(::testing::MatcherCast<int64_t>(value))) {
  const int64_t ret = ::provium::testing::matcher_detail::result_of(arg);
  *result_listener << "returned " << ::provium::testing::matcher_detail::describe_result(ret);
  return ret >= 0 && ::testing::Matches(::testing::MatcherCast<int64_t>(value))(ret);
}

MATCHER(SyscallFails, "fails") {
  const int64_t ret = ::provium::testing::matcher_detail::result_of(arg);
  *result_listener << "returned " << ::provium::testing::matcher_detail::describe_result(ret);
  return ret < 0;
}

MATCHER_P(SyscallFailsWithErrno, error, "fails with " + ::provium::testing::matcher_detail::describe_errno(error)) {
  const int64_t ret = ::provium::testing::matcher_detail::result_of(arg);
  *result_listener << "returned " << ::provium::testing::matcher_detail::describe_result(ret);
  return ret < 0 && ret >= -4095 && ::testing::Matches(::testing::MatcherCast<int>(error))(static_cast<int>(-ret));
}

// Matchers for an ExecResult; a failure shows the exit code, stdout and stderr:
//   EXPECT_THAT(vm.exec("modprobe kacs"), ExecSucceeds());
//   EXPECT_THAT(vm.exec("cat /nope"), ExecExitsWith(Ne(0)));
//   EXPECT_THAT(vm.exec("uname -s"), ExecOutputIs("Linux\n"));
MATCHER(ExecSucceeds, "exits with 0") { return arg.exit_code == 0; }

MATCHER_P(ExecExitsWith, code,
          "exits with a code that " + ::testing::DescribeMatcher<int>(::testing::MatcherCast<int>(code))) {
  return ::testing::Matches(::testing::MatcherCast<int>(code))(arg.exit_code);
}

MATCHER_P(ExecOutputIs, output,
          "writes a stdout that " + ::testing::DescribeMatcher<std::string>(::testing::MatcherCast<std::string>(output))) {
  return ::testing::ExplainMatchResult(::testing::MatcherCast<std::string>(output), arg.out, result_listener);
}

// Matches a TapResult that passed(): a run whose subtests were all skipped passes too.
//   const auto run = vm.exec("/kselftest/seccomp/seccomp_bpf");
//   EXPECT_THAT(provium::parse_tap(run.out, run.exit_code), provium::TapPasses());
MATCHER(TapPasses, "passes: no TAP subtest failed or is missing, no bail out, exit code 0") {
  *result_listener << ::provium::explain_tap(arg);
  return arg.passed();
}

}  // namespace provium
