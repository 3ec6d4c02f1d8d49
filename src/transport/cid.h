// vsock context ids (CIDs) for guests: from 10 upward, one per running VM, unique across every
// process on the machine that uses the same lease directory (all users, by default).
//
// Each CID has a lease file in a machine-wide directory (/tmp/provium-cids, mode 1777, or
// $PROVIUM_CID_DIR). A VM's process holds its CID's file flock'ed for as long as its QEMU may
// run; the kernel drops the lock however the process ends. The file's content records when
// the CID was given back ("free after <unix ms>"), and the CID is not handed out again before
// then: a reuse delay, so that nothing still addressed to the old VM reaches a new one.
//
// The files only keep Provium processes out of each other's way. The kernel is the arbiter:
// QEMU fails with "unable to set guest cid" when any VM on the host (ours or not) holds the
// CID, and retry_cid_collisions() then moves on to the next one.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>

#include "base/owner_lock.h"

namespace provium::transport {

inline constexpr uint32_t kFirstGuestCid = 10;  // 0-2 are reserved, 3-9 left to others
inline constexpr std::chrono::milliseconds kCidReuseDelay{2000};
// A CID that another VM turned out to hold is left alone this long.
inline constexpr std::chrono::milliseconds kForeignCidDelay{10000};

class CidLease {
 public:
  CidLease() = default;
  CidLease(base::OwnerLock lock, uint32_t cid, std::chrono::milliseconds reuse_delay,
           std::chrono::milliseconds foreign_delay)
      : lock_(std::move(lock)), cid_(cid), reuse_delay_(reuse_delay), foreign_delay_(foreign_delay) {}
  ~CidLease() { release(); }
  CidLease(CidLease&& other) noexcept;
  CidLease& operator=(CidLease&& other) noexcept;
  CidLease(const CidLease&) = delete;
  CidLease& operator=(const CidLease&) = delete;

  bool held() const { return lock_.held(); }
  uint32_t cid() const { return cid_; }

  // Gives the CID back (call once its QEMU is gone); not handed out again for the reuse
  // delay. Idempotent.
  void release();
  // Gives back a CID that another VM holds: not handed out again for the foreign delay.
  void release_held_elsewhere();

 private:
  void give_back(std::chrono::milliseconds delay);

  base::OwnerLock lock_;
  uint32_t cid_ = 0;
  std::chrono::milliseconds reuse_delay_{};
  std::chrono::milliseconds foreign_delay_{};
};

class CidAllocator {
 public:
  struct Options {
    std::filesystem::path dir;  // the lease directory; created (mode 1777) when missing
    uint32_t first = kFirstGuestCid;
    uint32_t count = 1u << 16;  // CIDs first .. first + count - 1
    std::chrono::milliseconds reuse_delay = kCidReuseDelay;
    std::chrono::milliseconds foreign_delay = kForeignCidDelay;
  };

  explicit CidAllocator(Options options);

  // The lowest CID that no process holds and whose delay has passed. Throws Error when there
  // is none in the range, or when the directory cannot be used.
  CidLease acquire();

  // The lease directory in use: options.dir, or, when another user's directory there cannot
  // be written to, a private one beside it (dir-UID).
  const std::filesystem::path& dir() const { return dir_; }

  // The allocator of this machine: $PROVIUM_CID_DIR, else /tmp/provium-cids.
  static CidAllocator& machine_wide();
  static std::filesystem::path default_dir();

 private:
  Options options_;
  std::filesystem::path dir_;
};

// Whether QEMU's output says that the guest CID it was given is taken.
bool is_cid_collision(std::string_view qemu_output);

// After QEMU was started with `lease`'s CID: while `collided()` says that QEMU died because
// another VM holds that CID, gives the CID back for the foreign delay, leases the next free one
// into `lease` and calls `relaunch()` (which starts QEMU with lease.cid()). `collided()` waits
// until QEMU is past setting its CID, and throws for any other failure, which is passed on.
// Throws Error after `max_attempts` collisions in a row.
void retry_cid_collisions(CidAllocator& allocator, CidLease& lease,
                          const std::function<bool()>& collided,
                          const std::function<void()>& relaunch, int max_attempts = 16);

}  // namespace provium::transport
