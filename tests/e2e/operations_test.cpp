// Every agent operation on a real VM: files, raw syscalls with buffers and pointers, ioctls,
// background jobs and the helpers.
#include <fcntl.h>
#include <sys/syscall.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include <provium/gtest.h>
#include <provium/provium.h>

#include "shared_vm.h"

using namespace std::chrono_literals;
using provium::in;
using provium::inout;
using provium::out;
using provium::pack;
using provium::SyscallFailsWithErrno;
using provium::SyscallSucceeds;
using provium::SyscallSucceedsWithValue;
using provium::unpack;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::testing::ThrowsMessage;

namespace {

using FilesTest = SharedVmTest;
using SyscallTest = SharedVmTest;
using IoctlTest = SharedVmTest;
using JobTest = SharedVmTest;
using HelpersTest = SharedVmTest;

std::string c_string(std::string_view text) { return std::string(text) + '\0'; }

// openat(AT_FDCWD, path, flags): the fd.
int64_t open_in_guest(provium::Guest& guest, std::string_view path, int flags = O_RDONLY) {
  return guest.syscall(SYS_openat, {AT_FDCWD, in(c_string(path)), flags, 0644}).ret;
}

TEST_F(FilesTest, BinaryRoundTrip) {
  std::string data;
  for (int i = 0; i < 1 << 20; ++i) data.push_back(static_cast<char>(i * 7));
  vm().write_file("/tmp/binary", data);
  EXPECT_TRUE(vm().read_file("/tmp/binary") == data);
  EXPECT_EQ(vm().exec("wc -c < /tmp/binary").out, "1048576\n");
}

// One frame up to the frame's 16 MiB, 4 MiB pieces beyond: sizes on both sides of a piece and of
// the frame (a 16 MiB write does not fit one with its path) arrive whole.
TEST_F(FilesTest, FilesOfAnySizeRoundTrip) {
  for (const std::size_t size : {std::size_t{4} << 20, (std::size_t{4} << 20) + 1, std::size_t{16} << 20,
                                 (std::size_t{20} << 20) + 3}) {
    SCOPED_TRACE(size);
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 2654435761u) >> 13);
    vm().write_file("/tmp/sized", data);
    EXPECT_EQ(vm().exec("wc -c < /tmp/sized").out, std::to_string(size) + "\n");
    EXPECT_TRUE(vm().read_file("/tmp/sized") == data);
  }
  EXPECT_EQ(vm().exec("ls /tmp | grep -c provium-partial").out, "0\n") << "no temporary file left";
}

TEST_F(FilesTest, ProcFilesReadToTheEnd) {
  EXPECT_THAT(vm().read_file("/proc/version"), StartsWith("Linux version"));
}

TEST_F(FilesTest, MissingPathIsAnErrorWithTheErrnoText) {
  EXPECT_THAT([&] { vm().read_file("/no/such/file"); },
              ThrowsMessage<provium::Error>(::testing::AllOf(
                  HasSubstr("/no/such/file"), HasSubstr("No such file or directory"))));
  EXPECT_THROW(vm().write_file("/no/such/dir/file", "x"), provium::Error);
  EXPECT_THAT([&] { vm().write_file("/no/such/dir/file", std::string(5 << 20, 'x')); },
              ThrowsMessage<provium::Error>(HasSubstr("No such file or directory")));
  EXPECT_THAT([&] { vm().copy_from("/no/such/file", "/tmp/provium-never-written"); },
              ThrowsMessage<provium::Error>(HasSubstr("No such file or directory")));
  EXPECT_FALSE(std::filesystem::exists("/tmp/provium-never-written"));
  EXPECT_THAT([&] { vm().copy_to("/nonexistent/provium-host-file", "/tmp/never"); },
              ThrowsMessage<provium::Error>(::testing::AllOf(HasSubstr("/nonexistent/provium-host-file"),
                                                             HasSubstr("No such file or directory"))));
  EXPECT_THAT(vm().exec("test -e /tmp/never"), Not(::provium::ExecSucceeds()));
  EXPECT_THAT(vm().exec("true"), ::provium::ExecSucceeds());
}

TEST_F(SyscallTest, Getpid) {
  EXPECT_THAT(vm().syscall(SYS_getpid), SyscallSucceeds());
  EXPECT_GT(vm().syscall(SYS_getpid), 1);
}

TEST_F(SyscallTest, WriteFromAnInputBufferReachesTheConsole) {
  // The agent's stdout is the serial console.
  const std::string text = "provium-wrote-this\n";
  EXPECT_THAT(vm().syscall(SYS_write, {1, in(text), text.size()}),
              SyscallSucceedsWithValue(text.size()));
  vm().wait_until([&] { return vm().console_tail(5).find("provium-wrote-this") != std::string::npos; },
                  5s, 50ms, "the text on the console");
}

TEST_F(SyscallTest, ReadIntoAnOutputBuffer) {
  const int64_t fd = open_in_guest(vm(), "/proc/version");
  ASSERT_THAT(fd, SyscallSucceeds());
  auto result = vm().syscall(SYS_read, {fd, out(256), 256});
  ASSERT_THAT(result, SyscallSucceeds());
  ASSERT_EQ(result.out.size(), 1u);
  EXPECT_THAT(result.out[0].substr(0, result.ret), StartsWith("Linux version"));
  EXPECT_THAT(vm().syscall(SYS_close, fd), SyscallSucceeds());
}

TEST_F(SyscallTest, ReadvThroughAStructHoldingAPointer) {
  const int64_t fd = open_in_guest(vm(), "/proc/version");
  ASSERT_THAT(fd, SyscallSucceeds());
  // struct iovec { void* iov_base; size_t iov_len; }: iov_base patched to a 13-byte buffer.
  auto iovec = in(pack<uint64_t, uint64_t>(0, 13)).ptr(0, out(13));
  auto result = vm().syscall(SYS_readv, {fd, iovec, 1});
  EXPECT_THAT(result, SyscallSucceedsWithValue(13));
  ASSERT_EQ(result.out.size(), 1u);  // the iovec is in(): only the pointed-to buffer returns
  EXPECT_EQ(result.out[0], "Linux version");
  vm().syscall(SYS_close, fd);
}

TEST_F(SyscallTest, UnameIntoAnOutputBuffer) {
  auto result = vm().syscall(SYS_uname, {out(6 * 65)});
  ASSERT_THAT(result, SyscallSucceeds());
  const std::string& uts = result.out[0];
  EXPECT_EQ(std::string(uts.c_str()), "Linux");
  const std::string release = uts.substr(2 * 65).c_str();
  EXPECT_EQ(vm().exec("uname -r").out, release + "\n");
}

TEST_F(SyscallTest, ACStringArgumentIsAPath) {
  const auto fd = vm().syscall(SYS_openat, {AT_FDCWD, provium::cstr("/proc/version"), O_RDONLY});
  ASSERT_THAT(fd, SyscallSucceeds());
  auto read = vm().syscall(SYS_read, {fd.ret, provium::out(13), 13});
  EXPECT_THAT(read, SyscallSucceedsWithValue(13));
  EXPECT_EQ(read.out[0], "Linux version");
  EXPECT_THAT(vm().syscall(SYS_close, fd.ret), SyscallSucceeds());
  EXPECT_THAT(vm().syscall(SYS_openat, {AT_FDCWD, provium::cstr("/no/such"), O_RDONLY}), SyscallFailsWithErrno(ENOENT));
}

TEST_F(SyscallTest, FailuresAreNegativeErrno) {
  EXPECT_THAT(vm().syscall(SYS_close, -1), SyscallFailsWithErrno(EBADF));
  const int64_t fd = open_in_guest(vm(), "/proc/version");
  EXPECT_THAT(vm().syscall(SYS_read, fd, 1, 16), SyscallFailsWithErrno(EFAULT));  // address 1
  vm().syscall(SYS_close, fd);
  EXPECT_THAT(open_in_guest(vm(), "/no/such/file"), SyscallFailsWithErrno(ENOENT));
}

TEST_F(IoctlTest, FionreadOnAPipeReturnsItsOutput) {
  auto fds = vm().syscall(SYS_pipe2, {out(8), 0});
  ASSERT_THAT(fds, SyscallSucceeds());
  auto [read_end, write_end] = unpack<int32_t, int32_t>(fds.out[0]);
  ASSERT_THAT(vm().syscall(SYS_write, {write_end, in("hello"), 5}), SyscallSucceedsWithValue(5));
  constexpr unsigned long kFionread = 0x541B;  // no direction bits: data in, data back
  auto result = vm().ioctl(read_end, kFionread, std::string(4, '\0'));
  ASSERT_THAT(result, SyscallSucceeds());
  ASSERT_TRUE(result.out);
  EXPECT_EQ(std::get<0>(unpack<int32_t>(*result.out)), 5);
  vm().syscall(SYS_close, read_end);
  vm().syscall(SYS_close, write_end);
}

TEST_F(IoctlTest, IoctlOnABadFdFails) {
  EXPECT_THAT(vm().ioctl(-1, 0x541B, std::string(4, '\0')), SyscallFailsWithErrno(EBADF));
}

TEST_F(IoctlTest, StructWithAPointerIsPatched) {
  // SIOCGIFCONF fills the buffer that struct ifconf points to: { int len; pad; char* buf; }.
  ASSERT_THAT(vm().exec("ip link set lo up"), ::provium::ExecSucceeds());  // lo gets 127.0.0.1 when it comes up
  const int64_t sock = vm().syscall(SYS_socket, 2 /* AF_INET */, 2 /* SOCK_DGRAM */, 0);
  ASSERT_THAT(sock, SyscallSucceeds());
  constexpr unsigned long kSiocgifconf = 0x8912;
  auto result = vm().ioctl(static_cast<int>(sock), kSiocgifconf,
                           inout(pack<int32_t, uint32_t, uint64_t>(4 * 40, 0, 0)).ptr(8, out(4 * 40)));
  ASSERT_THAT(result, SyscallSucceeds());
  ASSERT_TRUE(result.out);
  EXPECT_EQ(std::get<0>(unpack<int32_t>(*result.out)), 40);  // one struct ifreq
  ASSERT_EQ(result.buffers.size(), 1u);
  EXPECT_EQ(std::string(result.buffers[0].c_str()), "lo");
  vm().syscall(SYS_close, sock);
}

TEST_F(JobTest, SleepingJobRunsUntilKilled) {
  auto job = vm().background("sleep 100");
  EXPECT_GT(job.pid, 1);
  auto polled = vm().job_wait(job);
  EXPECT_TRUE(polled.running);
  EXPECT_EQ(polled.exit_code, -1);
  auto waited = vm().job_wait(job, 200ms);
  EXPECT_TRUE(waited.running);
  auto killed = vm().job_kill(job);
  EXPECT_FALSE(killed.running);
  EXPECT_EQ(killed.exit_code, 128 + 9);
  EXPECT_EQ(vm().job_wait(job).exit_code, 128 + 9);  // the result stays
}

TEST_F(JobTest, FinishedJobReportsItsOutput) {
  auto job = vm().background("echo out; echo err >&2; exit 3");
  auto result = vm().job_wait(job, 10s);
  EXPECT_FALSE(result.running);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.out, "out\n");
  EXPECT_EQ(result.err, "err\n");
}

TEST_F(JobTest, FourMebibytesOfOutputArriveWhole) {
  auto job = vm().background("yes 0123456789abcde | head -c 4194304");
  auto result = vm().job_wait(job, 60s);
  ASSERT_FALSE(result.running);
  EXPECT_EQ(result.exit_code, 0);
  ASSERT_EQ(result.out.size(), 4u * 1024 * 1024);
  EXPECT_EQ(result.out.substr(result.out.size() - 16), "0123456789abcde\n");
}

// job_output hands out only what is new; job_wait and job_kill still give the whole output.
TEST_F(JobTest, JobOutputReturnsOnlyWhatIsNew) {
  auto job = vm().background("echo one; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo two >&2; echo three; sleep 100");
  std::string first;
  vm().wait_until([&] { return (first += vm().job_output(job).out) == "one\n"; }, 10s, 50ms, "the first line");
  vm().write_file("/tmp/go", "");
  std::string out, err;
  vm().wait_until([&] {
    auto news = vm().job_output(job);
    out += news.out;
    err += news.err;
    return out == "three\n";
  }, 10s, 50ms, "the third line");
  EXPECT_EQ(err, "two\n");
  EXPECT_EQ(vm().job_output(job).out, "");
  EXPECT_EQ(vm().job_wait(job).out, "one\nthree\n");
  auto killed = vm().job_kill(job);
  EXPECT_EQ(killed.out, "one\nthree\n");
  EXPECT_EQ(killed.err, "two\n");
}

// A job that truncates its own output (a reopen with O_TRUNC) has less than the host holds: the
// host gets it whole again and drops what it held.
TEST_F(JobTest, AJobThatTruncatesItsOutputIsFollowedStill) {
  auto job = vm().background("echo one-two-three; while [ ! -e /tmp/cut ]; do sleep 0.05; done; echo x > /proc/self/fd/1; sleep 100");
  vm().wait_until([&] { return vm().job_wait(job).out == "one-two-three\n"; }, 10s, 50ms, "the first line");
  vm().write_file("/tmp/cut", "");
  vm().wait_until([&] { return vm().job_wait(job).out == "x\n"; }, 10s, 50ms, "the truncated output");
  EXPECT_EQ(vm().job_output(job).out, "x\n");
  EXPECT_EQ(vm().job_kill(job).out, "x\n");
}

TEST_F(JobTest, OtherRequestsAreServedWhileAJobRuns) {
  auto job = vm().background("sleep 100");
  EXPECT_EQ(vm().exec("echo meanwhile").out, "meanwhile\n");
  vm().job_kill(job);
}

TEST_F(JobTest, UnknownJobIsAnError) {
  EXPECT_THROW(vm().job_wait(provium::Job{999999, 0}), provium::Error);
}

TEST_F(HelpersTest, DmesgFiltersByPattern) {
  auto all = vm().dmesg();
  EXPECT_THAT(all, HasSubstr("Linux version"));
  auto lines = vm().dmesg("Linux version");
  EXPECT_THAT(lines, HasSubstr("Linux version"));
  EXPECT_LT(lines.size(), all.size());
  EXPECT_EQ(vm().dmesg("no such text in any kernel log"), "");
}

TEST_F(HelpersTest, MountVfsIsIdempotent) {
  vm().mount_vfs();
  vm().mount_vfs();
  auto mounts = vm().read_file("/proc/self/mounts");
  for (const char* line : {"proc /proc proc", "sysfs /sys sysfs", "securityfs /sys/kernel/security",
                           "devtmpfs /dev devtmpfs", "devpts /dev/pts devpts", "tmpfs /dev/shm tmpfs",
                           "tmpfs /run tmpfs"}) {
    std::size_t count = 0;
    for (auto at = mounts.find(line); at != std::string::npos; at = mounts.find(line, at + 1)) ++count;
    EXPECT_EQ(count, 1u) << line << " in\n" << mounts;
  }
  // The initramfs root is in memory already: a tmpfs over /tmp would only hide its files.
  EXPECT_THAT(mounts, Not(HasSubstr(" /tmp ")));
  // What selftests use them for: POSIX shared memory, pseudo-terminals.
  EXPECT_THAT(vm().exec("echo x > /dev/shm/probe && rm /dev/shm/probe"), ::provium::ExecSucceeds());
  EXPECT_THAT(vm().exec("test -c /dev/pts/ptmx"), ::provium::ExecSucceeds());
}

TEST(MountVfsTest, EachMountCanBeSkipped) {
  auto vm = provium::create("default");
  vm.boot();
  vm.mount_vfs({.devpts = false, .shm = false, .run = false});
  const auto mounts = vm.read_file("/proc/self/mounts");
  EXPECT_THAT(mounts, HasSubstr("devtmpfs /dev devtmpfs"));
  EXPECT_THAT(mounts, Not(HasSubstr("/dev/pts")));
  EXPECT_THAT(mounts, Not(HasSubstr("/dev/shm")));
  EXPECT_THAT(mounts, Not(HasSubstr(" /run ")));
}

TEST_F(HelpersTest, WaitUntilPollsAndNamesWhatItWaitedFor) {
  vm().exec("rm -f /tmp/flag");
  vm().background("sleep 0.3; touch /tmp/flag");
  vm().wait_until([&] { return vm().exec("test -e /tmp/flag").ok(); }, 10s, 50ms, "the flag");
  EXPECT_THAT([&] { vm().wait_until([] { return false; }, 200ms, 50ms, "the impossible"); },
              ThrowsMessage<provium::TimeoutError>(HasSubstr("the impossible")));
}

}  // namespace
