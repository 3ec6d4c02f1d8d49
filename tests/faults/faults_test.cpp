// Faults: a run always ends and says what happened, in the kernel's own words when it died,
// and one failing test never takes the next one down.
#include <signal.h>
#include <sys/syscall.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <thread>

#include <provium/gtest.h>
#include <provium/provium.h>

#include "base/settings.h"
#include "../e2e/support/child_process.h"
#include "../e2e/support/processes.h"
#include "vm/vm_access.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

PROVIUM_FIXTURE(faulty) {}

// The QEMU process of `vm` (not the spare QEMU that may run beside it).
int qemu_pid(const provium::Vm& vm) { return provium::vm::VmAccess::machine(vm).qemu_pid(); }

// Builds normally; with PROVIUM_FAULTS_DIE_IN_SETUP set, its process SIGKILLs itself in the
// middle of the build, holding the build lock, a run directory and a running QEMU.
PROVIUM_FIXTURE(killed_while_building) {
  if (std::getenv("PROVIUM_FAULTS_DIE_IN_SETUP")) {
    std::fprintf(stderr, "qemu pid %d\n", qemu_pid(vm));
    std::fflush(stderr);
    ::raise(SIGKILL);
  }
  vm.exec("touch /tmp/built");
}

namespace {

using Clock = std::chrono::steady_clock;

TEST_F(faulty, KernelPanicFailsTheTestWithThePanicLines) {
  const auto start = Clock::now();
  EXPECT_THAT([&] { vm.exec("echo c > /proc/sysrq-trigger"); },
              ThrowsMessage<provium::Error>(AllOf(HasSubstr("the guest kernel crashed"),
                                                  HasSubstr("Kernel panic - not syncing"),
                                                  HasSubstr("sysrq"))));
  // At once: the VM's death ends the wait, not the 60 s deadline.
  EXPECT_LT(Clock::now() - start, 30s);
}

TEST_F(faulty, TheTestAfterAPanicPasses) { EXPECT_THAT(vm.exec("true"), ::provium::ExecSucceeds()); }

TEST_F(faulty, StoppedAgentFailsAtTheDeadlineNamingTheOperation) {
  vm.set_timeout(2s);
  EXPECT_THAT([&] { vm.exec("kill -STOP $PPID"); },  // the shell's parent is the agent
              ThrowsMessage<provium::TimeoutError>(AllOf(
                  HasSubstr("exec(\"kill -STOP $PPID\"): the agent did not answer 10s after the command's deadline of 2s"),
                  HasSubstr("Nothing on its console says why"), HasSubstr("accelerator"), HasSubstr("--- console"))));
  // The connection is retired: its next frame could be the late answer.
  EXPECT_THAT([&] { vm.exec("true"); },
              ThrowsMessage<provium::Error>(HasSubstr("a previous request timed out")));
}

// An agent that died is named as the reason: its watcher in the guest says so on the console.
TEST_F(faulty, AnAgentThatDiedIsNamedAsTheReason) {
  vm.set_timeout(1s);
  EXPECT_THAT([&] { vm.exec("kill -KILL $PPID; sleep 1000"); },
              ThrowsMessage<provium::TimeoutError>(
                  AllOf(HasSubstr("the guest no longer answers"),
                        HasSubstr("Its console says why: the agent died (provium-wrapper: the agent (pid "),
                        HasSubstr("was killed by signal 9"))));
}

TEST_F(faulty, SyscallThatBlocksForeverFailsAtItsDeadline) {
  auto fds = vm.syscall(SYS_pipe2, {provium::out(8), 0});
  ASSERT_GE(fds.ret, 0);
  auto [read_end, write_end] = provium::unpack<int32_t, int32_t>(fds.out[0]);
  vm.set_timeout(2s);
  EXPECT_THROW(vm.syscall(SYS_read, {read_end, provium::out(1), 1}), provium::TimeoutError);
  (void)write_end;
}

TEST_F(faulty, CommandThatNeverEndsIsKilledAtItsDeadline) {
  vm.set_timeout(2s);
  EXPECT_THAT([&] { vm.exec("sleep 1000"); },
              ThrowsMessage<provium::TimeoutError>(
                  HasSubstr("exec(\"sleep 1000\"): not done within its deadline of 2s, killed with its process group")));
  EXPECT_EQ(vm.exec("echo fine").out, "fine\n");
}

TEST_F(faulty, QemuKilledFromOutsideFailsAtOnce) {
  const int pid = qemu_pid(vm);
  ASSERT_GT(pid, 0);
  const auto start = Clock::now();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  // A large write runs into the dead socket (EPIPE, not a SIGPIPE that ends the process).
  EXPECT_THAT([&] { vm.write_file("/tmp/big", std::string(8 << 20, 'x')); },
              ThrowsMessage<provium::Error>(
                  AllOf(HasSubstr("the VM died"), HasSubstr("killed by signal 9"))));
  EXPECT_LT(Clock::now() - start, 30s);
  EXPECT_FALSE(vm.running());
}

TEST_F(faulty, TheTestAfterAllThatPasses) { EXPECT_EQ(vm.exec("echo fine").out, "fine\n"); }

TEST_F(killed_while_building, DISABLED_DiesWhileBuilding) {}

// Runs `body` with the run directories under `dir`, restoring the setting after.
template <class F>
void with_run_dir(const fs::path& dir, F body) {
  provium::base::ScopedSettings run_dir{{"PROVIUM_RUN_DIR", dir.string()}};
  body();
}

TEST(FaultsTest, RunDirectoriesArePrivate) {
  const fs::path loose = fs::path(std::getenv("PROVIUM_RUN_DIR")).parent_path() / "loose-run";
  fs::create_directories(loose);
  fs::permissions(loose, fs::perms::all);  // 0777: anyone could reach the VM's sockets
  with_run_dir(loose, [] {
    auto vm = provium::create();
    vm.boot();
    EXPECT_THAT(vm.exec("true"), ::provium::ExecSucceeds());
  });
  EXPECT_EQ(fs::status(loose).permissions() & fs::perms::all, fs::perms::owner_all);
  fs::remove_all(loose);
}

TEST(FaultsTest, RunDirectoryOfAnotherUserIsRefused) {
  if (::getuid() != 0) GTEST_SKIP() << "needs root to make a directory of another user";
  const fs::path foreign = fs::path(std::getenv("PROVIUM_RUN_DIR")).parent_path() / "foreign-run";
  fs::create_directories(foreign);
  ASSERT_EQ(::chown(foreign.c_str(), 65534, 65534), 0);
  with_run_dir(foreign, [&] {
    EXPECT_THAT([] { provium::create().boot(); },
                ThrowsMessage<provium::Error>(
                    AllOf(HasSubstr("belongs to uid 65534"), HasSubstr(foreign.string()))));
  });
  fs::remove_all(foreign);
}

std::size_t run_directories() {
  std::size_t count = 0;
  std::error_code missing_is_empty;
  for (const auto& entry : fs::directory_iterator(std::getenv("PROVIUM_RUN_DIR"), missing_is_empty))
    if (entry.path().filename().string().rfind("vm-", 0) == 0) ++count;
  return count;
}

TEST(FaultsTest, SigkilledTestProcessLeavesNothingBehind) {
  // This process's own run directories (a spare QEMU started ahead for an earlier fixture's
  // next test, say) are counted first; no new spare is started while the test counts.
  provium::base::ScopedSettings no_spares{{"PROVIUM_SPARES", "0"}};
  const std::size_t own = run_directories();
  // The child must build (and die building), not resume an entry of an earlier run.
  std::error_code none_yet;
  for (const auto& entry : fs::directory_iterator(fs::path(std::getenv("PROVIUM_CACHE_DIR")) / "fixtures", none_yet))
    if (entry.path().filename().string().rfind("killed_while_building-", 0) == 0) fs::remove_all(entry.path());
  auto run = provium_test::ChildProcess(
                 {fs::read_symlink("/proc/self/exe").string(), "--gtest_also_run_disabled_tests",
                  "--gtest_filter=killed_while_building.DISABLED_DiesWhileBuilding"},
                 {{"PROVIUM_FAULTS_DIE_IN_SETUP", "1"}})
                 .wait();
  ASSERT_EQ(run.exit_code, -1) << "the child was to die by SIGKILL:\n" << run.output;
  std::smatch found;
  ASSERT_TRUE(std::regex_search(run.output, found, std::regex("qemu pid ([0-9]+)"))) << run.output;
  const int qemu = std::stoi(found[1]);
  ASSERT_GT(qemu, 0);

  // Its QEMU dies with it (parent-death signal).
  auto deadline = Clock::now() + 10s;
  while (!provium_test::process_ended(qemu) && Clock::now() < deadline) std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(provium_test::process_ended(qemu)) << "QEMU " << qemu << " survived its test process";
  EXPECT_EQ(run_directories(), own + 1);  // the dead process's, not cleaned up yet

  // Its build lock is free: this process builds the fixture without waiting for anyone, and
  // its new run directory sweeps the leftover away.
  auto vm = provium::fixture("killed_while_building");
  EXPECT_THAT(vm.exec("test -e /tmp/built"), ::provium::ExecSucceeds());
  EXPECT_EQ(run_directories(), own + 1);  // the resumed VM's own; the dead process's is gone
}

}  // namespace
