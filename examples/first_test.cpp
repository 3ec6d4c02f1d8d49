// A first Provium test suite. The fixture prepares a VM once (the newest kernel in /boot with
// a busybox userspace; no configuration needed); every test then gets a fresh copy of that
// prepared VM, resumed from a snapshot in a fraction of a second.
//
// Build it against an installed Provium with
//   c++ -std=c++20 first_test.cpp $(pkg-config --cflags --libs provium-gtest-main)
#include <sys/syscall.h>

#include <cerrno>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <provium/gtest.h>
#include <provium/provium.h>

using provium::ExecExitsWith;
using provium::ExecSucceeds;
using provium::SyscallFailsWithErrno;
using provium::SyscallSucceeds;
using ::testing::HasSubstr;
using ::testing::Ne;
using ::testing::StartsWith;

// Runs once (and again only when this program, the kernel or QEMU change); `vm` is then
// snapshotted.
PROVIUM_FIXTURE(first) {
  vm.exec("echo 1 > /proc/sys/kernel/sysrq");
  vm.write_file("/etc/motd", "prepared by the fixture\n");
}

TEST_F(first, KernelReleaseMatchesProcVersion) {
  provium::ExecResult release = vm.exec("uname -r");
  ASSERT_THAT(release, ExecSucceeds());  // a failure prints the exit code, stdout and stderr
  std::string name = release.out.substr(0, release.out.find('\n'));
  EXPECT_THAT(vm.read_file("/proc/version"), StartsWith("Linux version " + name));
}

TEST_F(first, AFailingCommandReportsItsExitCodeAndStderr) {
  provium::ExecResult result = vm.exec("ls /no/such/path");
  EXPECT_THAT(result, ExecExitsWith(Ne(0)));
  EXPECT_THAT(result.err, HasSubstr("No such file or directory"));
}

TEST_F(first, EveryTestStartsFromTheFixture) {
  EXPECT_EQ(vm.read_file("/etc/motd"), "prepared by the fixture\n");
  EXPECT_EQ(vm.read_file("/proc/sys/kernel/sysrq"), "1\n");
  vm.exec("rm /etc/motd");  // gone for this test only
}

TEST_F(first, RawSyscallsReadLikeTheirIntent) {
  EXPECT_THAT(vm.syscall(SYS_getpid), SyscallSucceeds());
  EXPECT_THAT(vm.syscall(SYS_close, -1), SyscallFailsWithErrno(EBADF));
  auto uts = vm.syscall(SYS_uname, {provium::out(6 * 65)});
  ASSERT_THAT(uts, SyscallSucceeds());
  EXPECT_EQ(std::string(uts.out[0].c_str()), "Linux");
}
