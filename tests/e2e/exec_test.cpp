// vm.exec on a real VM: exit codes, stdout and stderr apart, binary and large output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <optional>
#include <thread>

#include <provium/gtest.h>
#include <provium/provium.h>

using ::testing::HasSubstr;

namespace {

// One VM for the whole suite: booting is the slow part, and these tests only read.
class ExecTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    vm_ = new provium::Vm(provium::create());
    vm_->boot();
  }
  static void TearDownTestSuite() {
    delete vm_;
    vm_ = nullptr;
  }
  provium::Vm& vm() { return *vm_; }
  static provium::Vm* vm_;
};
provium::Vm* ExecTest::vm_ = nullptr;

TEST_F(ExecTest, ExitCodes) {
  EXPECT_EQ(vm().exec("true").exit_code, 0);
  EXPECT_TRUE(vm().exec("true").ok());
  EXPECT_EQ(vm().exec("false").exit_code, 1);
  EXPECT_EQ(vm().exec("exit 42").exit_code, 42);
  EXPECT_FALSE(vm().exec("exit 42").ok());
}

TEST_F(ExecTest, KilledBySignalIs128PlusSignal) {
  EXPECT_EQ(vm().exec("kill -9 $$").exit_code, 128 + 9);
}

TEST_F(ExecTest, StdoutAndStderrStayApart) {
  auto result = vm().exec("echo to-out; echo to-err >&2; echo more-out");
  EXPECT_EQ(result.out, "to-out\nmore-out\n");
  EXPECT_EQ(result.err, "to-err\n");
}

TEST_F(ExecTest, BinaryOutputWithNulBytes) {
  auto result = vm().exec(R"(printf 'a\000b\377c'; printf '\000\001' >&2)");
  EXPECT_EQ(result.out, std::string("a\0b\xff" "c", 5));
  EXPECT_EQ(result.err, std::string("\0\1", 2));
}

TEST_F(ExecTest, OutputLargerThanOneMebibyte) {
  // 3 MiB of a known pattern: every byte must arrive, in order.
  auto result = vm().exec("yes 0123456789abcde | head -c 3145728");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(result.out.size(), 3u * 1024 * 1024);
  std::string expected;
  while (expected.size() < result.out.size()) expected += "0123456789abcde\n";
  expected.resize(result.out.size());
  EXPECT_TRUE(result.out == expected) << "the large output was corrupted";
}

TEST_F(ExecTest, CommandsSeeTheGuestKernel) {
  auto version = vm().exec("cat /proc/version");
  ASSERT_TRUE(version.ok()) << version.err;
  auto release = vm().exec("uname -r");
  ASSERT_TRUE(release.ok());
  ASSERT_FALSE(release.out.empty());
  EXPECT_THAT(version.out, HasSubstr(release.out.substr(0, release.out.size() - 1)));
}

// The built-in userspace answers the everyday questions: its users (root, nobody) by name, and
// its host name.
TEST_F(ExecTest, TheBuiltInUserspaceKnowsItsUsersAndItsName) {
  EXPECT_THAT(vm().exec("whoami"), provium::ExecOutputIs("root\n"));
  EXPECT_THAT(vm().exec("id -un; id -gn"), provium::ExecOutputIs("root\nroot\n"));
  EXPECT_THAT(vm().exec("hostname"), provium::ExecOutputIs("provium\n"));
  EXPECT_THAT(vm().exec("touch /tmp/owned && chown nobody:nobody /tmp/owned && ls -l /tmp/owned | awk '{print $3, $4}'"),
              provium::ExecOutputIs("nobody nobody\n"));
}

TEST_F(ExecTest, MissingCommandIs127WithItsMessage) {
  auto result = vm().exec("no-such-command");
  EXPECT_EQ(result.exit_code, 127);
  EXPECT_THAT(result.err, HasSubstr("not found"));
}

}  // namespace

namespace {

// A call's own deadline wins over the VM's, both ways; a missed one says how to raise it.
// Its own VM: a missed deadline retires the connection.
TEST(ExecDeadlineTest, ACallsOwnDeadlineWinsOverTheVms) {
  auto vm = provium::create();
  vm.boot();
  vm.set_timeout(std::chrono::seconds(1));
  EXPECT_EQ(vm.exec("sleep 2; echo done", {.timeout = std::chrono::seconds(20)}).out, "done\n");
  vm.write_file("/tmp/f", "x", {.timeout = std::chrono::seconds(5)});
  EXPECT_EQ(vm.read_file("/tmp/f", {.timeout = std::chrono::seconds(5)}), "x");
  vm.set_timeout(std::chrono::seconds(60));
  EXPECT_THAT([&] { vm.exec("sleep 5", {.timeout = std::chrono::milliseconds(500)}); },
              ::testing::ThrowsMessage<provium::TimeoutError>(::testing::AllOf(
                  HasSubstr("not done within its deadline of 0.5s"), HasSubstr("ExecOptions{.timeout = ...}"),
                  HasSubstr("PROVIUM_TIMEOUT"))));
}

// At its deadline the guest kills the command's process group (a child it left in the
// background too); the error has what it wrote, and the same connection answers after.
TEST(ExecDeadlineTest, ACommandPastItsDeadlineIsKilledWithItsOutputAndTheVmAnswersAfter) {
  auto vm = provium::create();
  vm.boot();
  try {
    vm.exec("echo started; echo warned >&2; sleep 1000 & sleep 1000; echo never", {.timeout = std::chrono::seconds(2)});
    ADD_FAILURE() << "the command was not stopped at its deadline";
  } catch (const provium::TimeoutError& error) {
    EXPECT_EQ(error.out(), "started\n");
    EXPECT_EQ(error.err(), "warned\n");
    EXPECT_THAT(error.what(), HasSubstr("killed with its process group"));
    EXPECT_THAT(error.what(), HasSubstr("Its stdout until then (last 20 lines):\nstarted"));
    EXPECT_THAT(error.what(), HasSubstr("The VM is still usable"));
  }
  EXPECT_THAT(vm.dmesg(), HasSubstr("Linux version"));
  EXPECT_EQ(vm.exec("pgrep -x sleep || echo none").out, "none\n");
}

// The deadline holds for a command that closed its output and runs on, and for one that never
// stops writing.
TEST(ExecDeadlineTest, TheDeadlineHoldsWhateverTheCommandDoesWithItsOutput) {
  auto vm = provium::create();
  vm.boot();
  EXPECT_THAT([&] { vm.exec("exec >/dev/null 2>&1; sleep 1000", {.timeout = std::chrono::seconds(1)}); },
              ::testing::ThrowsMessage<provium::TimeoutError>(HasSubstr("killed with its process group")));
  EXPECT_THAT([&] { vm.exec("while :; do echo more; done", {.timeout = std::chrono::seconds(1)}); },
              ::testing::ThrowsMessage<provium::TimeoutError>(HasSubstr("killed with its process group")));
  EXPECT_EQ(vm.exec("pgrep -x sleep || echo none").out, "none\n");
}

// A process that SIGKILL does not end (here: frozen by the cgroup v1 freezer, which holds it
// until thawed, as a task stuck in the kernel is held) is reported as stuck; once it can die,
// it is reaped.
TEST(ExecDeadlineTest, AProcessThatOutlivesSigkillIsReportedAsStuckInTheKernel) {
  auto vm = provium::create();
  vm.boot();
  const std::string freezer = "/sys/fs/cgroup/freezer";
  ASSERT_THAT(vm.exec("mount -t tmpfs none /sys/fs/cgroup && mkdir " + freezer + " && mount -t cgroup -o freezer none " +
                      freezer + " && mkdir " + freezer + "/held"),
              ::provium::ExecSucceeds());
  EXPECT_THAT(
      [&] {
        vm.exec("sh -c 'echo $$ > " + freezer + "/held/tasks; echo FROZEN > " + freezer + "/held/freezer.state; echo never'",
                {.timeout = std::chrono::seconds(2)});
      },
      ::testing::ThrowsMessage<provium::TimeoutError>(HasSubstr("it is stuck in the kernel")));
  EXPECT_EQ(vm.exec("echo THAWED > " + freezer + "/held/freezer.state && echo thawed").out, "thawed\n");
  vm.wait_until([&] { return vm.exec("cat " + freezer + "/held/tasks").out.empty(); }, std::chrono::seconds(10),
                std::chrono::milliseconds(100), "the thawed process to die");
}

// A daemon that left the command's process group keeps the output pipe open: the command is
// still answered, a second after its kill.
TEST(ExecDeadlineTest, ADaemonThatLeftTheGroupDoesNotHoldTheKilledCommandsAnswer) {
  auto vm = provium::create();
  vm.boot();
  EXPECT_THROW(vm.exec("setsid sleep 1000 & echo begun; sleep 1000", {.timeout = std::chrono::seconds(1)}),
               provium::TimeoutError);
  EXPECT_EQ(vm.exec("echo alive").out, "alive\n");
}

// A streamed command's lines reach this process's stdout while it still runs.
TEST(ExecStreamTest, AStreamedCommandsLinesAppearBeforeItEnds) {
  auto vm = provium::create();
  vm.boot();
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  std::fflush(stdout);
  const int saved_stdout = ::dup(STDOUT_FILENO);
  ::dup2(pipe_fds[1], STDOUT_FILENO);
  ::close(pipe_fds[1]);
  std::atomic<bool> ended = false;
  provium::ExecResult result;
  std::thread running([&] {
    result = vm.exec("echo first; echo oops >&2; sleep 3; echo second", {.stream = true});
    ended = true;
  });
  std::string seen;
  std::optional<bool> running_at_first_line;
  char buffer[256];
  for (ssize_t n; seen.find("second") == std::string::npos && (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) {
    seen.append(buffer, n);
    if (!running_at_first_line && seen.find("] first\n") != std::string::npos) running_at_first_line = !ended;
  }
  running.join();
  std::fflush(stdout);
  ::dup2(saved_stdout, STDOUT_FILENO);
  ::close(saved_stdout);
  ::close(pipe_fds[0]);
  EXPECT_EQ(running_at_first_line, true) << "the first line came only after the command ended";
  EXPECT_THAT(seen, ::testing::MatchesRegex(R"(\[vm-[A-Za-z0-9]+\] first.\[vm-[A-Za-z0-9]+ stderr\] oops.)"
                                             R"(\[vm-[A-Za-z0-9]+\] second.)"));
  EXPECT_EQ(result.out, "first\nsecond\n");  // the result is whole as ever
  EXPECT_EQ(result.err, "oops\n");
}

}  // namespace
