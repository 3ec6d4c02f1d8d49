// The cache's bound: entries held by the VMs that run from them, and the least recently used
// of the others removed when the cache grows past its limit (cache.h: hold, prune).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "base/files.h"
#include "base/settings.h"
#include "base/text.h"
#include "cache/cache.h"
#include "config/config.h"

namespace provium::cache {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kDefaultLimit = uint64_t{20} << 30;

// The disk a file takes: its allocated blocks (a RAM file is sparse where the guest never wrote).
uint64_t allocated(const fs::path& file) {
  struct stat status {};
  return ::lstat(file.c_str(), &status) == 0 ? static_cast<uint64_t>(status.st_blocks) * 512 : 0;
}

// The disk an entry takes: its files'.
uint64_t disk_usage(const fs::path& dir) {
  uint64_t bytes = 0;
  std::error_code error;
  for (const auto& file : fs::directory_iterator(dir, error)) bytes += allocated(file.path());
  return bytes;
}

// An open meta.json whose shared flock is the hold.
class Held {
 public:
  explicit Held(int fd) : fd_(fd) {}
  ~Held() { ::close(fd_); }
  Held(const Held&) = delete;
  Held& operator=(const Held&) = delete;

 private:
  int fd_;
};

}  // namespace

uint64_t cache_size_limit() {
  if (const auto size = base::settings()->cache_size) return *size;
  return config::current().cache_size.value_or(kDefaultLimit);
}

std::shared_ptr<const void> Cache::hold(const Entry& entry) {
  const int fd = ::open(entry.meta().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  auto held = std::make_shared<const Held>(fd);
  while (::flock(fd, LOCK_SH) != 0)
    if (errno != EINTR) return nullptr;
  // Removed while we waited for an eviction's exclusive lock: the entry is gone.
  if (!base::is_file_at(fd, entry.meta())) return nullptr;
  ::utimensat(AT_FDCWD, entry.dir.c_str(), nullptr, 0);  // used now
  return held;
}

Cache::Pruned Cache::prune(uint64_t limit, const fs::path& keep) {
  struct Candidate {
    fs::path path;  // an entry's directory, or a decompressed kernel
    uint64_t bytes;
    fs::file_time_type used;
    bool kernel = false;
  };
  std::vector<Candidate> entries;
  Pruned pruned;
  std::error_code error;
  for (const auto& dir : fs::directory_iterator(fixtures_dir(), error)) {
    if (!dir.is_directory() || dir.path().filename().string()[0] == '.') continue;
    entries.push_back({dir.path(), disk_usage(dir.path()), fs::last_write_time(dir.path(), error), false});
    pruned.left += entries.back().bytes;
  }
  // The decompressed kernels of direct boots (kernel/direct_boot.h) count too: a kernel developer
  // makes a new one with every build of the tree.
  for (const auto& file : fs::directory_iterator(kernels_dir(), error)) {
    if (!file.is_regular_file() || file.path().extension() != ".elf") continue;
    entries.push_back({file.path(), allocated(file.path()), fs::last_write_time(file.path(), error), true});
    pruned.left += entries.back().bytes;
  }
  if (pruned.left <= limit) return pruned;
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.used < b.used; });
  for (const auto& entry : entries) {
    if (pruned.left <= limit) break;
    if (entry.path == keep) continue;
    if (entry.kernel) {
      // QEMU reads its kernel when it starts, so only a kernel just chosen for a VM may still be
      // needed: one used in the last minute stays.
      if (fs::file_time_type::clock::now() - entry.used < std::chrono::minutes(1)) continue;
      if (fs::remove(entry.path, error)) {
        pruned.kernels += 1;
        pruned.bytes += entry.bytes;
        pruned.left -= entry.bytes;
      }
      continue;
    }
    const auto meta = read_meta(entry.path / "meta.json");
    if (!meta) continue;  // not ours to judge: `provium fixture clean` removes it
    // Not while a process builds it, and with its lock file gone with it (held meanwhile).
    const auto lock_file = lock_path(meta->fixture, meta->key);
    auto build_lock = base::OwnerLock::try_acquire(lock_file);
    if (!build_lock.held()) continue;
    // Not while a VM runs from it (Cache::hold).
    const int fd = ::open((entry.path / "meta.json").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    const bool unused = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (unused) {
      fs::remove_all(entry.path, error);
      fs::remove(lock_file, error);
      pruned.entries += 1;
      pruned.bytes += entry.bytes;
      pruned.left -= entry.bytes;
    }
    ::close(fd);
  }
  if (pruned.entries + pruned.kernels > 0) {
    std::string removed;
    if (pruned.entries > 0) removed = base::plural(pruned.entries, "entry", "entries");
    if (pruned.kernels > 0)
      removed += (removed.empty() ? "" : " and ") + base::plural(pruned.kernels, "decompressed kernel", "decompressed kernels");
    std::cerr << fmt::format("provium: the fixture cache was over its limit of {}: removed {} ({}), "
                             "least recently used first; it takes {} now\n",
                             base::size_text(limit), removed, base::size_text(pruned.bytes), base::size_text(pruned.left));
  }
  return pruned;
}

}  // namespace provium::cache
