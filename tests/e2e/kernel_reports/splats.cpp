// Run by kernel_reports_test: tests during which the kernel reports a bug (a warning written to
// /dev/kmsg exactly as the kernel prints one), and the tests around them.
#include <provium/gtest.h>

#include <string>

namespace {
void warn(provium::Vm& vm, const std::string& where) {
  vm.exec("echo '<4>WARNING: CPU: 0 PID: 1 at " + where + " f+0x1/0x2' > /dev/kmsg");
}
}  // namespace

PROVIUM_FIXTURE(splats) {}

TEST_F(splats, Warns) { warn(vm, "cpp/test.c:1"); }

TEST_F(splats, PassesAfterTheTestThatWarned) { EXPECT_THAT(vm.exec("true"), provium::ExecSucceeds()); }

TEST_F(splats, ExpectsItsWarning) {
  vm.expect_kernel_report("WARNING: .* at cpp/expected\\.c");
  warn(vm, "cpp/expected.c:2");
}

TEST_F(splats, ExpectsAReportThatNeverComes) { vm.expect_kernel_report("BUG: KASAN"); }

// A VM of the test's own, not a fixture's: checked when it is destroyed at the test's end.
TEST(plain, AVmOfItsOwnThatWarns) {
  auto vm = provium::create();
  vm.boot({.memory = "256M"});
  warn(vm, "cpp/plain.c:3");
}

// The fixture's body makes the kernel warn: it is never snapshotted, and its test fails.
PROVIUM_FIXTURE(warned_setup) { warn(vm, "cpp/setup.c:4"); }

TEST_F(warned_setup, NeverRuns) { ADD_FAILURE() << "the body of a fixture whose setup warned ran"; }
