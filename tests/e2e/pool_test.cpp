// The resource pool on real VMs: many test processes share one budget, a killed process's
// budget comes back at once, and a VM bigger than the budget fails at once.
#include <signal.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <provium/gtest.h>
#include <provium/provium.h>

#include "base/memory_size.h"
#include "base/settings.h"
#include "pool/pool.h"
#include "support/child_process.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

PROVIUM_FIXTURE(pooled) { vm.exec("echo pooled > /tmp/pooled"); }

namespace {

// Run only in the child processes of EightProcessesShareABudgetOfTwoVms: each resumes a VM.
TEST_F(pooled, DISABLED_First) { EXPECT_EQ(vm.read_file("/tmp/pooled"), "pooled\n"); }
TEST_F(pooled, DISABLED_Second) { EXPECT_EQ(vm.read_file("/tmp/pooled"), "pooled\n"); }
TEST_F(pooled, DISABLED_Third) { EXPECT_EQ(vm.read_file("/tmp/pooled"), "pooled\n"); }

// Run only in the child of AKilledProcessLeavesNoBudgetBehind: dies holding a VM's budget.
TEST(PoolChild, DISABLED_DiesHoldingBudget) {
  auto vm = provium::create();
  vm.boot();
  ::raise(SIGKILL);
}

fs::path pool_dir() { return fs::path(std::getenv("PROVIUM_RUN_DIR")) / "pool"; }

std::string self() { return fs::read_symlink("/proc/self/exe").string(); }

// The guest memory (-m) of the QEMU processes of this test's pool alive now: spares waiting for
// their state included, which hold no lease. A child QEMU forks for a migration helper shows
// QEMU's command line until it execs, and is no VM.
uint64_t qemu_memory_alive() {
  const std::string run_dir = std::getenv("PROVIUM_RUN_DIR");
  std::map<std::string, std::pair<std::string, uint64_t>> qemus;  // pid -> parent pid, -m
  std::error_code error;
  for (const auto& process : fs::directory_iterator("/proc", error)) {
    std::ifstream in(process.path() / "cmdline", std::ios::binary);
    std::vector<std::string> argv;
    for (std::string arg; std::getline(in, arg, '\0');) argv.push_back(arg);
    if (argv.empty() || !argv[0].ends_with("qemu-system-x86_64")) continue;
    if (std::none_of(argv.begin(), argv.end(), [&](const std::string& arg) { return arg.find(run_dir) != std::string::npos; }))
      continue;
    const auto m = std::find(argv.begin(), argv.end(), "-m");
    if (m == argv.end() || m + 1 == argv.end()) continue;
    std::ifstream stat(process.path() / "stat");
    std::string pid, name, state, parent;
    stat >> pid >> name >> state >> parent;  // a QEMU's comm has no spaces
    qemus[process.path().filename().string()] = {parent, provium::base::parse_memory_size(*(m + 1))};
  }
  uint64_t total = 0;
  for (const auto& [pid, qemu] : qemus)
    if (!qemus.contains(qemu.first)) total += qemu.second;
  return total;
}

// Environment for a child: these budget variables and no others.
std::map<std::string, std::string> budget_env(const std::string& mem, const std::string& cpus) {
  return {{"PROVIUM_POOL_MEM", mem}, {"PROVIUM_POOL_CPUS", cpus}};
}

// The budget settings for the scope (an empty one: none).
class ScopedBudget {
 public:
  ScopedBudget(std::string_view mem, std::string_view cpus) : budget_{{"PROVIUM_POOL_MEM", mem}, {"PROVIUM_POOL_CPUS", cpus}} {}

 private:
  provium::base::ScopedSettings budget_;
};

TEST(PoolTest, EightProcessesShareABudgetOfTwoVms) {
  {
    // Built once here, so that the children only resume it (each resume takes budget).
    auto vm = provium::fixture("pooled");
  }
  // The spare resumed ahead for this process's next test holds a VM's share, which the
  // children's budget would count.
  provium::shutdown_all();
  std::atomic<bool> running = true;
  int most = 0;
  int samples = 0;
  uint64_t most_memory = 0;
  // Samples the ledger: the live leases, counted under ledger.lock so no lease is created
  // in the middle of a count; and the QEMU processes themselves, for what no lease shows.
  std::thread sampler([&] {
    provium::pool::Ledger ledger(pool_dir());
    while (running) {
      most = std::max(most, ledger.state().total().vms);
      most_memory = std::max(most_memory, qemu_memory_alive());
      ++samples;
      std::this_thread::sleep_for(5ms);
    }
  });
  std::vector<std::unique_ptr<provium_test::ChildProcess>> children;
  for (int i = 0; i < 8; ++i)
    children.push_back(std::make_unique<provium_test::ChildProcess>(
        std::vector<std::string>{self(), "--gtest_filter=pooled.DISABLED_*",
                                 "--gtest_also_run_disabled_tests"},
        budget_env("1G", "")));  // two VMs of 512M
  std::vector<provium_test::ChildRun> runs;
  for (auto& child : children) runs.push_back(child->wait());
  running = false;
  sampler.join();
  for (const auto& run : runs) {
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_THAT(run.output, HasSubstr("[  PASSED  ] 3 tests")) << run.output;
  }
  EXPECT_LE(most, 2) << "more VMs than the budget allows ran at once";
  // Every test's last resume stocks a spare for the next: with a fixed budget, a spare without
  // its share must not be alive, paused or not.
  EXPECT_LE(most_memory, 1ull << 30) << "QEMU processes with more guest memory than the budget were alive at once";
  EXPECT_GE(most, 1) << "no VM was ever seen in " << samples << " samples";
  RecordProperty("most_vms_at_once", most);
  RecordProperty("most_guest_memory_at_once_mib", static_cast<int>(most_memory >> 20));
}

TEST(PoolTest, AKilledProcessLeavesNoBudgetBehind) {
  provium::shutdown_all();  // no VM of this process (a spare) holds budget the child counts
  provium_test::ChildProcess child({self(), "--gtest_filter=PoolChild.DISABLED_DiesHoldingBudget",
                                    "--gtest_also_run_disabled_tests"},
                                   budget_env("512M", ""));
  const auto run = child.wait();
  ASSERT_EQ(run.exit_code, -1) << "the child was not killed: " << run.output;
  // Its lease is still there, with no owner to hold its lock.
  int leases = 0;
  for (const auto& entry : fs::directory_iterator(pool_dir()))
    if (entry.path().filename().string().rfind("lease-", 0) == 0) ++leases;
  EXPECT_GE(leases, 1) << "the killed child left no lease: did it take budget?";

  ScopedBudget budget("512M", "");  // room for one VM only
  ::testing::internal::CaptureStderr();
  auto vm = provium::create();
  vm.boot();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, Not(HasSubstr("waiting for VM budget")));
  EXPECT_THAT(vm.exec("true"), ::provium::ExecSucceeds());
}

TEST(PoolTest, VmBiggerThanTheBudgetFailsAtOnce) {
  ScopedBudget budget("1G", "");
  auto vm = provium::create();
  EXPECT_THAT([&] { vm.boot({.memory = "2G"}); },
              ::testing::ThrowsMessage<provium::Error>(
                  HasSubstr("a VM of 2 GiB does not fit the pool's budget of 1 GiB "
                            "(PROVIUM_POOL_MEM)")));
}

TEST(PoolTest, VmWithMoreCpusThanTheBudgetFailsAtOnce) {
  ScopedBudget budget("", "2");
  auto vm = provium::create();
  EXPECT_THROW(vm.boot({.cpus = 4}), provium::Error);
}

}  // namespace
