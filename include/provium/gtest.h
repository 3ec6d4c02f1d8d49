// GoogleTest integration: fixtures (PROVIUM_FIXTURE), matchers for syscall results and TAP
// runs, the environment that checks prerequisites, and the entry point used by
// provium_gtest_main for programs that bring their own main().
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

// The base of the test classes PROVIUM_FIXTURE defines: each test gets `vm`, a fresh VM
// resumed from the fixture's snapshot, killed after the test.
class FixtureTest : public ::testing::Test {
 protected:
  explicit FixtureTest(const char* fixture) : fixture_(fixture) {}
  void SetUp() override { vm = ::provium::fixture(fixture_); }
  void TearDown() override { vm.kill(); }

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

// Matches a TapResult that passed(): a run whose subtests were all skipped passes too.
//   const auto run = vm.exec("/kselftest/seccomp/seccomp_bpf");
//   EXPECT_THAT(provium::parse_tap(run.out, run.exit_code), provium::testing::TapPasses());
MATCHER(TapPasses, "passes: no TAP subtest failed or is missing, no bail out, exit code 0") {
  *result_listener << ::provium::explain_tap(arg);
  return arg.passed();
}

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
#define PROVIUM_FIXTURE_ON_PROFILE_(name, profile) \
  PROVIUM_FIXTURE_DEFINE_(name, ::provium::FixtureOptions{.profile = profile})
#define PROVIUM_FIXTURE_DEFINE_(name, options)                                           \
  static void provium_fixture_setup_##name(::provium::Vm& vm);                           \
  [[maybe_unused]] static const bool provium_fixture_registered_##name =                 \
      ::provium::testing::RegisterFixture(#name, options, &provium_fixture_setup_##name); \
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
      GTEST_SKIP() << ::provium::explain_tap(provium_tap_result_);   \
    EXPECT_THAT(provium_tap_result_, ::provium::testing::TapPasses());                        \
  } while (false)

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
