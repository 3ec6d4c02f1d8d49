// The resource pool: how many VMs may run at once on this machine, across every process of
// this user. Each running VM holds a Lease, a file in the pool directory that its process keeps
// flock'ed; the kernel drops the lock when the process dies however it dies, so a crashed or
// SIGKILLed process cannot leak budget: the next process to look removes its leases.
//
// Fixed mode (PROVIUM_POOL_MEM and/or PROVIUM_POOL_CPUS set, or a [pool] table in
// provium.toml): VMs draw their memory and CPUs
// from that budget and wait until it suffices. Auto mode (neither set): a VM waits until
// MemAvailable covers its memory plus a 1.5 GiB reserve, and at most max(nproc/2, 2) VMs of
// other processes run at once.
#pragma once

#include "base/owner_lock.h"
#include "base/settings.h"
#include "config/config.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace provium::pool {

// What the leases of a pool add up to.
struct Usage {
  uint64_t memory = 0;
  int cpus = 0;
  int vms = 0;
};

// The live leases, split by owner: this process's and the other processes'.
struct LedgerState {
  Usage own;
  Usage others;
  Usage total() const {
    return {own.memory + others.memory, own.cpus + others.cpus, own.vms + others.vms};
  }
};

struct Budget {
  std::optional<uint64_t> memory{};  // bytes: PROVIUM_POOL_MEM, else provium.toml's [pool] memory
  std::optional<int> cpus{};         // PROVIUM_POOL_CPUS, else [pool] cpus
  bool fixed() const { return memory || cpus; }

  // The run's settings (PROVIUM_POOL_MEM, PROVIUM_POOL_CPUS and their flags), each falling back
  // to the [pool] table of provium.toml.
  static Budget of(const config::PoolSettings& configured, const base::Settings& settings);
};

// Auto mode's reserve: MemAvailable must cover a VM's memory plus this.
constexpr uint64_t kAutoReserve = 3ull << 29;  // 1.5 GiB

// Auto mode's cap on VMs at once: half the CPUs, at least 2.
int auto_vm_cap(long cpus_online);
// This machine's cap (sysconf(_SC_NPROCESSORS_ONLN)).
int auto_vm_cap();

// MemAvailable from /proc/meminfo in bytes; nullopt when it cannot be read.
std::optional<uint64_t> memory_available();

// Throws Error when a VM of `memory`/`cpus` exceeds the fixed budget itself, so that waiting
// could never help: "a VM of 2 GiB does not fit the pool's budget of 1 GiB (PROVIUM_POOL_MEM)".
void check_fits_budget(const Budget& budget, uint64_t memory, int cpus);

// Whether a VM of `memory`/`cpus` may start now.
// Fixed: every live lease (this process's too) plus the VM fits the budget.
// Auto: when other processes run VMs, fewer than `cap` of them run and `available` (MemAvailable)
// covers the VM plus kAutoReserve. A process's own VMs never hold it back in auto mode: waiting
// could only deadlock it (a test that needs three VMs at once must get them), and with nothing
// of other processes running there is nothing to wait for.
bool admits(const Budget& budget, const LedgerState& state, uint64_t memory, int cpus,
            std::optional<uint64_t> available, int cap);

// What a waiting VM waits for, in one line (without the "provium: " prefix).
std::string describe_wait(const Budget& budget, const LedgerState& state, uint64_t memory,
                          int cpus, std::optional<uint64_t> available, int cap,
                          std::string_view what);

// "1 GiB", "512 MiB", "1.5 GiB".
std::string format_size(uint64_t bytes);

// A VM's share of the pool, held from acquisition until released or destroyed.
class Lease {
 public:
  Lease() = default;
  Lease(base::OwnerLock lock, std::filesystem::path path) : lock_(std::move(lock)), path_(std::move(path)) {}
  ~Lease() { release(); }
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&& other) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  bool held() const { return lock_.held(); }
  const std::filesystem::path& path() const { return path_; }
  // Removes the lease file and drops its lock. Idempotent.
  void release();

 private:
  base::OwnerLock lock_;
  std::filesystem::path path_;
};

// A pool directory: lease-* files and ledger.lock.
class Ledger {
 public:
  // Creates `dir` when missing and makes it private (ensure_private_directory).
  explicit Ledger(std::filesystem::path dir);

  // Under ledger.lock: removes dead owners' leases, then, when `admit(state)` says so, creates
  // a lease of `memory`/`cpus` and returns it. `seen` gets the state that was judged.
  std::optional<Lease> try_acquire(uint64_t memory, int cpus,
                                   const std::function<bool(const LedgerState&)>& admit,
                                   LedgerState* seen = nullptr);

  // The live leases (under ledger.lock; dead owners' leases are removed).
  LedgerState state();

  const std::filesystem::path& dir() const { return dir_; }

 private:
  LedgerState scan_locked() const;

  std::filesystem::path dir_;
};

// base::settings()->run_root/pool.
std::filesystem::path default_pool_dir();

// Blocks until a VM of `memory_bytes` and `cpus` fits the budget in the pool of `dir`, and
// returns its lease. Prints once to stderr what it waits for after
// 3 s. Throws Error when the VM can never fit the budget. `what` names the VM in messages.
Lease acquire_vm_budget(const std::filesystem::path& dir, const Budget& budget,
                        uint64_t memory_bytes, int cpus, std::string_view what);

// Called by acquire_vm_budget when it cannot admit a VM at once: gives back what this process
// holds for a later VM (its fixture spare), so that a VM needed now never waits for one that
// might be. One per process; the cache layer sets it.
void set_budget_reclaimer(std::function<void()> reclaim);

// A spare VM's lease (a fixture's next VM, resumed ahead of its test), or nothing when the pool
// has no room for it now; never waits. A spare is polite: it is admitted only where one more
// VM of its size would still fit after it (in the auto mode: where other processes' VMs leave
// room for one of theirs), so that it never holds the share another process's test waits for.
std::optional<Lease> try_acquire_spare_budget(const std::filesystem::path& dir, const Budget& budget,
                                              uint64_t memory_bytes, int cpus);

}  // namespace provium::pool
