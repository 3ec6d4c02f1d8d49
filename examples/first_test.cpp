// A first Provium test: boot the default VM (the newest kernel in /boot with a busybox
// userspace; no configuration needed) and run commands in it.
//
// Build it against an installed Provium with
//   c++ -std=c++20 first_test.cpp $(pkg-config --cflags --libs provium-gtest-main)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <provium/gtest.h>
#include <provium/provium.h>

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Booting takes a few seconds under emulation, so the tests of this suite share one VM.
// (Fixtures, which give every test a fresh VM from a snapshot, are the next step.)
class FirstTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    vm = new provium::Vm(provium::create("default"));
    vm->boot();  // default options: 512M of memory, 1 CPU, 30 s to come up
  }
  static void TearDownTestSuite() {
    vm->shutdown();
    delete vm;
  }
  static provium::Vm* vm;
};
provium::Vm* FirstTest::vm = nullptr;

TEST_F(FirstTest, KernelReleaseMatchesProcVersion) {
  provium::ExecResult release = vm->exec("uname -r");
  ASSERT_TRUE(release.ok()) << release.err;
  std::string name = release.out.substr(0, release.out.find('\n'));

  provium::ExecResult version = vm->exec("cat /proc/version");
  ASSERT_TRUE(version.ok()) << version.err;
  EXPECT_THAT(version.out, StartsWith("Linux version " + name));
}

TEST_F(FirstTest, AFailingCommandReportsItsExitCodeAndStderr) {
  provium::ExecResult result = vm->exec("ls /no/such/path");
  EXPECT_FALSE(result.ok());
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("No such file or directory"));
}

TEST_F(FirstTest, TheGuestIsYours) {
  // Root in a throwaway VM: write anywhere, load modules, poke /proc/sys.
  ASSERT_TRUE(vm->exec("echo 1 > /proc/sys/kernel/sysrq").ok());
  EXPECT_EQ(vm->exec("cat /proc/sys/kernel/sysrq").out, "1\n");
}
