#include "pool/pool.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include <provium/error.h>

#include "base/files.h"
#include "base/owner_lock.h"
#include "base/settings.h"
#include "base/text.h"

namespace provium::pool {

namespace {

constexpr const char* kLedgerLock = "ledger.lock";
constexpr std::string_view kLeasePrefix = "lease-";
constexpr std::string_view kNewPrefix = ".new-";
constexpr auto kWaitMessageAfter = std::chrono::seconds(3);

bool starts_with(const std::string& text, std::string_view prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// Holds ledger.lock for one critical section.
// "memory cpus pid" of a lease file; false when it cannot be read.
bool read_lease(int fd, uint64_t& memory, int& cpus, long& pid) {
  char buffer[128];
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  if (n <= 0) return false;
  buffer[n] = '\0';
  std::istringstream in(buffer);
  return static_cast<bool>(in >> memory >> cpus >> pid);
}

}  // namespace

Budget Budget::of(const config::PoolSettings& configured, const base::Settings& settings) {
  return {settings.pool_memory ? settings.pool_memory : configured.memory,
          settings.pool_cpus ? settings.pool_cpus : configured.cpus};
}

int auto_vm_cap(long cpus_online) {
  return static_cast<int>(std::max<long>(cpus_online / 2, 2));
}

int auto_vm_cap() { return auto_vm_cap(::sysconf(_SC_NPROCESSORS_ONLN)); }

std::optional<uint64_t> memory_available() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib) {
    std::getline(meminfo, unit);
    if (key == "MemAvailable:") return kib * 1024;
  }
  return std::nullopt;
}

std::string format_size(uint64_t bytes) {
  constexpr uint64_t kMiB = 1ull << 20, kGiB = 1ull << 30;
  if (bytes >= kGiB && bytes % kGiB == 0) return fmt::format("{} GiB", bytes / kGiB);
  if (bytes >= kGiB) return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / kGiB);
  if (bytes % kMiB == 0) return fmt::format("{} MiB", bytes / kMiB);
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / kMiB);
}

void check_fits_budget(const Budget& budget, uint64_t memory, int cpus) {
  if (budget.memory && memory > *budget.memory)
    throw Error(fmt::format("a VM of {} does not fit the pool's budget of {} (PROVIUM_POOL_MEM)",
                            format_size(memory), format_size(*budget.memory)));
  if (budget.cpus && cpus > *budget.cpus)
    throw Error(fmt::format("a VM of {} does not fit the pool's budget of {} (PROVIUM_POOL_CPUS)",
                            base::plural(cpus, "CPU", "CPUs"), base::plural(*budget.cpus, "CPU", "CPUs")));
}

bool admits(const Budget& budget, const LedgerState& state, uint64_t memory, int cpus,
            std::optional<uint64_t> available, int cap) {
  if (budget.fixed()) {
    const Usage total = state.total();
    if (budget.memory && total.memory + memory > *budget.memory) return false;
    if (budget.cpus && total.cpus + cpus > *budget.cpus) return false;
    return true;
  }
  if (state.others.vms == 0) return true;
  if (state.others.vms >= cap) return false;
  // Without /proc/meminfo only the cap applies.
  return !available || *available >= memory + kAutoReserve;
}

std::string describe_wait(const Budget& budget, const LedgerState& state, uint64_t memory,
                          int cpus, std::optional<uint64_t> available, int cap,
                          std::string_view what) {
  std::string text = fmt::format("waiting for VM budget for {} ({}, {}): ", what,
                                 format_size(memory), base::plural(cpus, "CPU", "CPUs"));
  if (budget.fixed()) {
    const Usage total = state.total();
    std::vector<std::string> parts;
    if (budget.memory)
      parts.push_back(fmt::format("{} of {}", format_size(total.memory), format_size(*budget.memory)));
    if (budget.cpus) parts.push_back(fmt::format("{} of {} CPUs", total.cpus, *budget.cpus));
    text += fmt::format("{} in use by {}", fmt::join(parts, " and "),
                        base::plural(total.vms, "other VM", "other VMs"));
    if (state.own.vms > 0) text += fmt::format(" ({} of them in this process)", state.own.vms);
    std::vector<std::string> variables;
    if (budget.memory) variables.push_back("PROVIUM_POOL_MEM");
    if (budget.cpus) variables.push_back("PROVIUM_POOL_CPUS");
    text += fmt::format(" (budget: {})", fmt::join(variables, ", "));
  } else {
    text += fmt::format("{} of at most {} VMs of other processes running (auto mode: half the CPUs)",
                        state.others.vms, cap);
    if (available)
      text += fmt::format(", {} available of the {} needed (the VM's memory and a {} reserve)",
                          format_size(*available), format_size(memory + kAutoReserve),
                          format_size(kAutoReserve));
    text += "; set PROVIUM_POOL_MEM or PROVIUM_POOL_CPUS for a fixed budget";
  }
  return text;
}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    release();
    lock_ = std::move(other.lock_);
    path_ = std::move(other.path_);
  }
  return *this;
}

void Lease::release() {
  if (!lock_.held()) return;
  // Unlinked before the lock drops: a scanner that opened it just before may then take the
  // lock and remove a name that is already gone, which is harmless.
  ::unlink(path_.c_str());
  lock_.release();
}

Ledger::Ledger(std::filesystem::path dir) : dir_(std::move(dir)) { base::ensure_private_directory(dir_); }

LedgerState Ledger::scan_locked() const {
  LedgerState state;
  const long self = ::getpid();
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, error)) {
    const std::string name = entry.path().filename().string();
    if (starts_with(name, kNewPrefix)) {
      // Only a holder of ledger.lock makes these, and it renames them before letting go: one
      // seen now belongs to a process that died in between.
      std::filesystem::remove(entry.path(), error);
      continue;
    }
    if (!starts_with(name, kLeasePrefix)) continue;
    if (const auto dead = base::OwnerLock::try_acquire_existing(entry.path()); dead.held()) {
      // Nobody holds it: its owner died (or released it just now). Removed while we hold its
      // lock; creating leases needs ledger.lock, which we hold, so the name is not reused.
      std::filesystem::remove(entry.path(), error);
      continue;
    }
    const int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // released meanwhile
    uint64_t memory = 0;
    int cpus = 0;
    long pid = 0;
    const bool readable = read_lease(fd, memory, cpus, pid);
    ::close(fd);
    // An unreadable live lease still counts as a VM.
    Usage& usage = readable && pid == self ? state.own : state.others;
    usage.vms += 1;
    if (readable) {
      usage.memory += memory;
      usage.cpus += cpus;
    }
  }
  if (error) throw Error(fmt::format("cannot read the pool directory {}: {}", dir_.string(), error.message()));
  return state;
}

LedgerState Ledger::state() {
  const auto lock = base::OwnerLock::acquire(dir_ / kLedgerLock);
  return scan_locked();
}

std::optional<Lease> Ledger::try_acquire(uint64_t memory, int cpus,
                                         const std::function<bool(const LedgerState&)>& admit,
                                         LedgerState* seen) {
  const auto ledger_lock = base::OwnerLock::acquire(dir_ / kLedgerLock);
  const LedgerState state = scan_locked();
  if (seen) *seen = state;
  if (!admit(state)) return std::nullopt;

  // Made under another name, written and locked, then renamed to lease-*: no lease-* file is
  // ever without its owner's lock (the pattern RunDir uses). Our own scanners hold ledger.lock,
  // which we hold too, so they could not see the window anyway; but readers that do not take
  // ledger.lock (a test sampling the pool, a future tool) would take an unlocked lease-* for a
  // dead owner's and remove it, and a process dying between the steps leaves only a .new-*
  // file, which the next scan removes.
  std::string pattern = (dir_ / ".new-XXXXXX").string();
  const int fd = ::mkostemp(pattern.data(), O_CLOEXEC);  // QEMU must not inherit the lock
  if (fd < 0)
    throw Error(fmt::format("cannot create a lease in {}: {}", dir_.string(), strerror(errno)));
  const std::filesystem::path made = pattern;
  const std::string content = fmt::format("{} {} {}\n", memory, cpus, ::getpid());
  auto lease = base::OwnerLock::try_acquire(fd);
  if (!lease.held() ||
      ::write(lease.fd(), content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    const int saved = errno;
    ::unlink(made.c_str());
    throw Error(fmt::format("cannot write the lease {}: {}", made.string(), strerror(saved)));
  }
  const auto path = dir_ / (std::string(kLeasePrefix) + made.filename().string().substr(kNewPrefix.size()));
  if (::rename(made.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(made.c_str());
    throw Error(fmt::format("cannot rename the lease {}: {}", made.string(), strerror(saved)));
  }
  return Lease(std::move(lease), path);
}

std::filesystem::path default_pool_dir() { return base::settings()->run_root / "pool"; }

namespace {
std::mutex reclaimer_mutex;
std::function<void()> reclaimer;
}  // namespace

void set_budget_reclaimer(std::function<void()> reclaim) {
  std::lock_guard lock(reclaimer_mutex);
  reclaimer = std::move(reclaim);
}

Lease acquire_vm_budget(const std::filesystem::path& dir, const Budget& budget,
                        uint64_t memory_bytes, int cpus, std::string_view what) {
  check_fits_budget(budget, memory_bytes, cpus);
  Ledger ledger(dir);
  const int cap = auto_vm_cap();
  const auto start = std::chrono::steady_clock::now();
  bool told = false;
  bool reclaimed = false;
  std::minstd_rand jitter(static_cast<unsigned>(::getpid()) ^
                          static_cast<unsigned>(start.time_since_epoch().count()));
  for (;;) {
    const auto available = budget.fixed() ? std::nullopt : memory_available();
    LedgerState seen;
    auto lease = ledger.try_acquire(
        memory_bytes, cpus,
        [&](const LedgerState& state) {
          return admits(budget, state, memory_bytes, cpus, available, cap);
        },
        &seen);
    if (lease) return std::move(*lease);
    if (!reclaimed) {
      reclaimed = true;
      std::function<void()> reclaim;
      {
        std::lock_guard lock(reclaimer_mutex);
        reclaim = reclaimer;
      }
      if (reclaim) {
        reclaim();
        continue;  // at once: what it gave back may be enough
      }
    }
    if (!told && std::chrono::steady_clock::now() - start >= kWaitMessageAfter) {
      told = true;
      std::fprintf(stderr, "provium: %s\n",
                   describe_wait(budget, seen, memory_bytes, cpus, available, cap, what).c_str());
      std::fflush(stderr);
    }
    // 20..50 ms, varied so that waiting processes do not poll in step.
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + jitter() % 31));
  }
}

std::optional<Lease> try_acquire_spare_budget(const std::filesystem::path& dir, const Budget& budget,
                                              uint64_t memory_bytes, int cpus) {
  check_fits_budget(budget, memory_bytes, cpus);
  Ledger ledger(dir);
  const int cap = auto_vm_cap();
  const auto available = budget.fixed() ? std::nullopt : memory_available();
  return ledger.try_acquire(memory_bytes, cpus, [&](const LedgerState& state) {
    // Room for the spare and for one more VM of its size after it.
    LedgerState after = state;
    after.own.memory += memory_bytes;
    after.own.cpus += cpus;
    after.own.vms += 1;
    if (!budget.fixed() && after.others.vms + 1 >= cap) return false;
    const auto left = available ? std::optional<uint64_t>(*available > memory_bytes ? *available - memory_bytes : 0)
                                : std::nullopt;
    return admits(budget, state, memory_bytes, cpus, available, cap) &&
           admits(budget, after, memory_bytes, cpus, left, cap);
  });
}

}  // namespace provium::pool
