// The resource pool's ledger without VMs: budgets, leases in a temporary pool directory,
// dead owners' leases, the auto mode's cap.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <thread>

#include <provium/error.h>

#include "pool/pool.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using namespace provium::pool;
using provium::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::StrEq;
using ::testing::ThrowsMessage;

namespace {

constexpr uint64_t kMiB = 1ull << 20, kGiB = 1ull << 30;

int lease_files(const fs::path& dir) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().rfind("lease-", 0) == 0) ++count;
  return count;
}

auto fixed_admit(const Budget& budget, uint64_t memory, int cpus) {
  return [=](const LedgerState& state) { return admits(budget, state, memory, cpus, std::nullopt, 2); };
}

TEST(PoolTest, FixedBudgetAdmitsWhatFitsAndRefusesTheRest) {
  TempDir dir;
  Ledger ledger(dir.path() / "pool");
  const Budget budget{.memory = 1 * kGiB};
  auto first = ledger.try_acquire(512 * kMiB, 1, fixed_admit(budget, 512 * kMiB, 1));
  auto second = ledger.try_acquire(512 * kMiB, 1, fixed_admit(budget, 512 * kMiB, 1));
  ASSERT_TRUE(first && second);
  LedgerState seen;
  EXPECT_FALSE(ledger.try_acquire(512 * kMiB, 1, fixed_admit(budget, 512 * kMiB, 1), &seen));
  EXPECT_EQ(seen.total().memory, 1 * kGiB);
  EXPECT_EQ(seen.total().vms, 2);
  EXPECT_EQ(seen.own.vms, 2);  // this process's
  EXPECT_EQ(lease_files(ledger.dir()), 2);

  first->release();
  EXPECT_EQ(lease_files(ledger.dir()), 1);
  EXPECT_TRUE(ledger.try_acquire(512 * kMiB, 1, fixed_admit(budget, 512 * kMiB, 1)));
}

TEST(PoolTest, CpuBudget) {
  const Budget budget{.cpus = 2};
  LedgerState state;
  state.others = {.memory = 0, .cpus = 1, .vms = 1};
  EXPECT_TRUE(admits(budget, state, 64 * kGiB, 1, std::nullopt, 2));  // memory is not budgeted
  EXPECT_FALSE(admits(budget, state, 512 * kMiB, 2, std::nullopt, 2));
}

TEST(PoolTest, LeaseFileHoldsMemoryCpusAndPidAndIsLocked) {
  TempDir dir;
  Ledger ledger(dir.path() / "pool");
  auto lease = ledger.try_acquire(512 * kMiB, 2, [](const LedgerState&) { return true; });
  ASSERT_TRUE(lease);
  std::ifstream in(lease->path());
  uint64_t memory = 0;
  int cpus = 0;
  long pid = 0;
  in >> memory >> cpus >> pid;
  EXPECT_EQ(memory, 512 * kMiB);
  EXPECT_EQ(cpus, 2);
  EXPECT_EQ(pid, ::getpid());
  const int fd = ::open(lease->path().c_str(), O_RDONLY);
  EXPECT_NE(::flock(fd, LOCK_EX | LOCK_NB), 0) << "a live lease's lock can be taken";
  ::close(fd);
  const auto path = lease->path();
  lease.reset();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(fs::status(ledger.dir()).permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST(PoolTest, DeadOwnersLeasesAreRemovedAndDoNotCount) {
  TempDir dir;
  Ledger ledger(dir.path() / "pool");
  // A process that takes a lease and dies without releasing it.
  const pid_t child = ::fork();
  if (child == 0) {
    auto lease = ledger.try_acquire(512 * kMiB, 1, [](const LedgerState&) { return true; });
    ::_exit(lease ? 0 : 1);  // no destructors: the file stays, the kernel drops the lock
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // And leftovers of a process that died half-way through creating one.
  std::ofstream(ledger.dir() / ".new-abcdef") << "";
  std::ofstream(ledger.dir() / "lease-zzzzzz") << "536870912 1 1\n";
  EXPECT_EQ(lease_files(ledger.dir()), 2);

  const Budget budget{.memory = 512 * kMiB};
  EXPECT_TRUE(ledger.try_acquire(512 * kMiB, 1, fixed_admit(budget, 512 * kMiB, 1)));
  EXPECT_FALSE(fs::exists(ledger.dir() / ".new-abcdef"));
  EXPECT_FALSE(fs::exists(ledger.dir() / "lease-zzzzzz"));
}

TEST(PoolTest, LiveLeaseOfAnotherProcessCountsAsOthers) {
  TempDir dir;
  Ledger ledger(dir.path() / "pool");
  int ready[2], done[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(done), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    auto lease = ledger.try_acquire(1 * kGiB, 3, [](const LedgerState&) { return true; });
    char byte = 1;
    (void)!::write(ready[1], &byte, 1);
    (void)!::read(done[0], &byte, 1);  // holds it until told
    ::_exit(0);
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  const LedgerState state = ledger.state();
  EXPECT_EQ(state.others.vms, 1);
  EXPECT_EQ(state.others.memory, 1 * kGiB);
  EXPECT_EQ(state.others.cpus, 3);
  EXPECT_EQ(state.own.vms, 0);
  (void)!::write(done[1], &byte, 1);
  ::waitpid(child, nullptr, 0);
  EXPECT_EQ(ledger.state().others.vms, 0);
}

TEST(PoolTest, VmLargerThanTheBudgetFailsNamingBothSizesAndTheVariable) {
  EXPECT_THAT([] { check_fits_budget(Budget{.memory = 1 * kGiB}, 2 * kGiB, 1); },
              ThrowsMessage<provium::Error>(StrEq(
                  "a VM of 2 GiB does not fit the pool's budget of 1 GiB (PROVIUM_POOL_MEM)")));
  EXPECT_THAT([] { check_fits_budget(Budget{.cpus = 2}, 512 * kMiB, 4); },
              ThrowsMessage<provium::Error>(HasSubstr(
                  "4 CPUs does not fit the pool's budget of 2 CPUs (PROVIUM_POOL_CPUS)")));
  EXPECT_NO_THROW(check_fits_budget(Budget{.memory = 1 * kGiB, .cpus = 2}, 1 * kGiB, 2));
  EXPECT_NO_THROW(check_fits_budget(Budget{}, 1000 * kGiB, 200));  // auto: no fixed limit
}

TEST(PoolTest, AutoModeCapIsHalfTheCpusAtLeastTwo) {
  EXPECT_EQ(auto_vm_cap(1), 2);
  EXPECT_EQ(auto_vm_cap(2), 2);
  EXPECT_EQ(auto_vm_cap(5), 2);
  EXPECT_EQ(auto_vm_cap(6), 3);
  EXPECT_EQ(auto_vm_cap(64), 32);
  EXPECT_GE(auto_vm_cap(), 2);
  EXPECT_TRUE(memory_available().has_value());
}

TEST(PoolTest, AutoModeWaitsForOtherProcessesOnly) {
  const Budget automatic;
  const uint64_t vm = 512 * kMiB;
  const uint64_t plenty = 64 * kGiB;
  LedgerState state;
  EXPECT_TRUE(admits(automatic, state, vm, 1, plenty, 2));
  state.others.vms = 1;
  EXPECT_TRUE(admits(automatic, state, vm, 1, plenty, 2));
  EXPECT_FALSE(admits(automatic, state, vm, 1, vm + kAutoReserve - 1, 2));  // short of memory
  EXPECT_TRUE(admits(automatic, state, vm, 1, vm + kAutoReserve, 2));
  state.others.vms = 2;
  EXPECT_FALSE(admits(automatic, state, vm, 1, plenty, 2));  // at the cap
  EXPECT_TRUE(admits(automatic, state, vm, 1, plenty, 3));
  // A process's own VMs never hold it back: it may need several at once.
  LedgerState mine;
  mine.own.vms = 5;
  EXPECT_TRUE(admits(automatic, mine, vm, 1, 0, 2));
}

TEST(PoolTest, BudgetFromTheSettings) {
  provium::base::Settings settings;
  EXPECT_FALSE(Budget::of({}, settings).fixed());
  settings.set("PROVIUM_POOL_MEM", "1G", "PROVIUM_POOL_MEM");
  settings.set("PROVIUM_POOL_CPUS", "3", "PROVIUM_POOL_CPUS");
  auto budget = Budget::of({}, settings);
  EXPECT_EQ(budget.memory, 1 * kGiB);
  EXPECT_EQ(budget.cpus, 3);
  EXPECT_TRUE(budget.fixed());
}

TEST(PoolTest, ConfiguredBudgetIsTheFallbackOfTheSettings) {
  const provium::config::PoolSettings configured{2 * kGiB, 4};
  provium::base::Settings settings;
  auto budget = Budget::of(configured, settings);
  EXPECT_EQ(budget.memory, 2 * kGiB);
  EXPECT_EQ(budget.cpus, 4);
  settings.set("PROVIUM_POOL_MEM", "1G", "--provium_pool_mem");
  budget = Budget::of(configured, settings);
  EXPECT_EQ(budget.memory, 1 * kGiB);  // the run's setting wins
  EXPECT_EQ(budget.cpus, 4);
}

TEST(PoolTest, WaitMessageSaysWhatIsInUse) {
  LedgerState state;
  state.others = {.memory = 1 * kGiB, .cpus = 2, .vms = 2};
  const auto text = describe_wait(Budget{.memory = 1 * kGiB}, state, 512 * kMiB, 1, std::nullopt,
                                  2, "a VM of profile default");
  EXPECT_THAT(text, HasSubstr("waiting for VM budget for a VM of profile default (512 MiB, 1 CPU)"));
  EXPECT_THAT(text, HasSubstr("1 GiB of 1 GiB in use by 2 other VMs"));
  EXPECT_THAT(text, HasSubstr("PROVIUM_POOL_MEM"));
}

TEST(PoolTest, AcquireWaitsForARelease) {
  TempDir dir;
  const Budget budget{.cpus = 1};
  auto held = acquire_vm_budget(dir.path() / "pool", budget, 512 * kMiB, 1, "first");
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    held.release();
  });
  const auto start = std::chrono::steady_clock::now();
  auto second = acquire_vm_budget(dir.path() / "pool", budget, 512 * kMiB, 1, "second");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
  EXPECT_TRUE(second.held());
  releaser.join();
}

// A spare is polite: admitted only where one more VM of its size still fits after it, never
// waiting; one that can never fit is refused as any VM is.
TEST(PoolTest, ASpareLeavesRoomForOneMoreVm) {
  TempDir dir;
  const auto pool = dir.path() / "pool";
  const Budget budget{.memory = 1 * kGiB};
  auto spare = try_acquire_spare_budget(pool, budget, 512 * kMiB, 1);
  ASSERT_TRUE(spare.has_value()) << "512M of 1G used after it: room for one more";
  EXPECT_FALSE(try_acquire_spare_budget(pool, budget, 512 * kMiB, 1).has_value()) << "no room after a second";
  spare->release();
  auto test_vm = acquire_vm_budget(pool, budget, 512 * kMiB, 1, "a test's VM");
  EXPECT_FALSE(try_acquire_spare_budget(pool, budget, 512 * kMiB, 1).has_value());
  EXPECT_THROW(try_acquire_spare_budget(pool, budget, 2 * kGiB, 1), provium::Error);
}

// A VM that would wait first asks the process to give back what it holds for later VMs.
TEST(PoolTest, AWaitingVmReclaimsTheSparesShareFirst) {
  TempDir dir;
  const auto pool = dir.path() / "pool";
  const Budget budget{.memory = 1536 * kMiB};
  auto first = acquire_vm_budget(pool, budget, 512 * kMiB, 1, "first");
  std::optional<Lease> spare = try_acquire_spare_budget(pool, budget, 512 * kMiB, 1);
  ASSERT_TRUE(spare.has_value());
  int reclaimed = 0;
  set_budget_reclaimer([&] {
    ++reclaimed;
    spare->release();
  });
  auto second = acquire_vm_budget(pool, budget, 1 * kGiB, 1, "second");  // fits once the spare is gone
  set_budget_reclaimer({});
  EXPECT_TRUE(second.held());
  EXPECT_EQ(reclaimed, 1);
}

}  // namespace
