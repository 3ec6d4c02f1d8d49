// Run by fixture_test's AFailedTestEndsWithItsVmsConsoleAndKeepsItsLog: one test that fails
// after its guest wrote to the console, and one that passes.
#include <provium/gtest.h>

PROVIUM_FIXTURE(context) {}

TEST_F(context, FailsAfterTheGuestSpoke) {
  vm.exec("echo guest-said-this > /dev/console");
  ADD_FAILURE() << "failing on purpose";
}

TEST_F(context, Passes) { vm.exec("echo quiet-one > /dev/console"); }
