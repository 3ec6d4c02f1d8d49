// A lock file whose exclusive flock says that its owner lives. The lock lasts while the object
// does, and the kernel drops it however the owning process ends: a lock that can be taken
// belongs to nobody alive, so no one ever waits on a dead process, and a file left by one is
// recognised and removed. The one primitive behind the fixture cache's build locks, run
// directories, the pool's ledger and leases, vsock CID leases and the rerun record. Its holder
// may remove the file (an evicted cache entry's lock): a lock taken afterwards is always on the
// file that the path names now.
#pragma once

#include <filesystem>

namespace provium::base {

class OwnerLock {
 public:
  OwnerLock() = default;  // holds nothing
  ~OwnerLock() { release(); }
  OwnerLock(OwnerLock&& other) noexcept;
  OwnerLock& operator=(OwnerLock&& other) noexcept;
  OwnerLock(const OwnerLock&) = delete;
  OwnerLock& operator=(const OwnerLock&) = delete;

  // Opens `path` (created with mode 0600 when missing) and waits for its lock. Throws Error
  // naming the file when it cannot be opened or locked.
  static OwnerLock acquire(const std::filesystem::path& path);
  // The same without waiting: held() is false when a live process holds the lock.
  static OwnerLock try_acquire(const std::filesystem::path& path);
  // Someone else's lock file, opened read-only and never created: held() is true only when
  // it exists and its owner is gone (what it guards may then be removed, with the lock held).
  static OwnerLock try_acquire_existing(const std::filesystem::path& path);
  // Takes the lock of `fd`, which it owns from now on, without waiting: held() is false (and
  // `fd` closed) when another holds it.
  static OwnerLock try_acquire(int fd);

  bool held() const { return fd_ >= 0; }
  int fd() const { return fd_; }  // to read or write what the file records
  // Closes the file, which drops the lock. Idempotent.
  void release();

 private:
  explicit OwnerLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace provium::base
