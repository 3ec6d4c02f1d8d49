// Run by fixture_test's AFailedTestEndsWithItsVmsConsoleAndKeepsItsLog: one test that fails
// after its guest wrote to the console, and one that passes. shell_test attaches to the failed
// test's VM (--provium_keep_failed) and finds the file it left.
#include <provium/gtest.h>

// run_command_test resumes it with `provium run --fixture context`, and finds what the body left.
PROVIUM_FIXTURE(context) { vm.write_file("/tmp/prepared-by-the-fixture", "prepared\n"); }

TEST_F(context, FailsAfterTheGuestSpoke) {
  vm.exec("echo guest-said-this > /dev/console");
  vm.write_file("/tmp/left-by-the-failed-test", "left-here\n");
  ADD_FAILURE() << "failing on purpose";
}

TEST_F(context, Passes) { vm.exec("echo quiet-one > /dev/console"); }
