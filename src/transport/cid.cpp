#include "transport/cid.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include <provium/error.h>

#include "base/settings.h"

namespace provium::transport {

namespace {

constexpr std::string_view kFreeAfter = "free after ";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Replaces the lease file's content; best effort (a file of another user may be read-only to
// us, and then only its lock is of use).
void write_content(int fd, const std::string& text) {
  if (::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()))
    (void)!::ftruncate(fd, static_cast<off_t>(text.size()));
}

// The "free after" time of a lease file, in unix milliseconds; nullopt when there is none
// (never given back, or its holder died while holding it).
std::optional<int64_t> free_after(int fd) {
  char buffer[64];
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  if (n <= 0) return std::nullopt;
  std::string_view text(buffer, static_cast<std::size_t>(n));
  if (text.substr(0, kFreeAfter.size()) != kFreeAfter) return std::nullopt;
  text.remove_prefix(kFreeAfter.size());
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc()) return std::nullopt;
  return value;
}

// The directory with mode 1777 (every user may create lease files, only their owner may
// remove them), created when missing; a symlink or a file there is refused.
std::filesystem::path prepare_directory(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 01777) != 0 && errno == ENOENT) {
    std::error_code ignored;
    std::filesystem::create_directories(dir.parent_path(), ignored);
    ::mkdir(dir.c_str(), 01777);
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0)
    throw Error(fmt::format("vsock CID leases: cannot create the directory {}: {}", dir.string(),
                            std::strerror(errno)));
  if (!S_ISDIR(st.st_mode))
    throw Error(fmt::format("vsock CID leases: {} is not a directory (set PROVIUM_CID_DIR to "
                            "use another one)",
                            dir.string()));
  // The umask took bits away from mkdir's mode; only the owner can put them back.
  if (st.st_uid == ::geteuid() && (st.st_mode & 07777) != 01777) ::chmod(dir.c_str(), 01777);
  if (::access(dir.c_str(), W_OK | X_OK) == 0) return dir;
  // Another user's directory that we may not write to: a private one beside it. CIDs are then
  // kept apart from that user's VMs only by QEMU's collision (retry_cid_collisions).
  std::filesystem::path own = dir.string() + "-" + std::to_string(::geteuid());
  if (::mkdir(own.c_str(), 0700) != 0 && errno != EEXIST)
    throw Error(fmt::format("vsock CID leases: {} is not writable and {} cannot be created: {}",
                            dir.string(), own.string(), std::strerror(errno)));
  if (::lstat(own.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid())
    throw Error(fmt::format("vsock CID leases: {} is not writable and {} is not a directory of "
                            "this user",
                            dir.string(), own.string()));
  return own;
}

}  // namespace

CidLease::CidLease(CidLease&& other) noexcept
    : lock_(std::move(other.lock_)),
      cid_(other.cid_),
      reuse_delay_(other.reuse_delay_),
      foreign_delay_(other.foreign_delay_) {}

CidLease& CidLease::operator=(CidLease&& other) noexcept {
  if (this != &other) {
    release();
    lock_ = std::move(other.lock_);
    cid_ = other.cid_;
    reuse_delay_ = other.reuse_delay_;
    foreign_delay_ = other.foreign_delay_;
  }
  return *this;
}

void CidLease::release() { give_back(reuse_delay_); }

void CidLease::release_held_elsewhere() { give_back(foreign_delay_); }

void CidLease::give_back(std::chrono::milliseconds delay) {
  if (!lock_.held()) return;
  // Written before the lock drops: whoever takes the lock next sees it.
  write_content(lock_.fd(), fmt::format("{}{}\n", kFreeAfter, now_ms() + delay.count()));
  lock_.release();
}

CidAllocator::CidAllocator(Options options)
    : options_(std::move(options)), dir_(prepare_directory(options_.dir)) {}

CidLease CidAllocator::acquire() {
  const int64_t max_delay =
      std::max(options_.reuse_delay, options_.foreign_delay).count() + 1000;
  std::string last_problem;
  const uint64_t end = uint64_t{options_.first} + options_.count;
  for (uint64_t cid = options_.first; cid < end; ++cid) {
    const auto path = dir_ / fmt::format("cid-{}", cid);
    // O_NOFOLLOW and O_NONBLOCK: in a directory every user writes to, a name may be a symlink
    // or a FIFO planted there; such a CID is skipped.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EACCES) fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      last_problem = fmt::format("{}: {}", path.string(), std::strerror(errno));
      continue;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      last_problem = fmt::format("{}: not a regular file", path.string());
      ::close(fd);
      continue;
    }
    // Other users' processes must be able to record when they give the CID back.
    if (st.st_uid == ::geteuid() && (st.st_mode & 0777) != 0666) ::fchmod(fd, 0666);
    auto lock = base::OwnerLock::try_acquire(fd);
    if (!lock.held()) continue;  // a VM of another process holds it
    if (auto after = free_after(lock.fd())) {
      const int64_t now = now_ms();
      // A time further ahead than any delay is from a clock that was set back: ignored.
      if (*after > now && *after - now <= max_delay) continue;
    }
    write_content(lock.fd(), fmt::format("held by pid {}\n", ::getpid()));
    return CidLease(std::move(lock), static_cast<uint32_t>(cid), options_.reuse_delay, options_.foreign_delay);
  }
  throw Error(fmt::format("no free vsock CID in {}..{} (leases in {}){}", options_.first, end - 1,
                          dir_.string(),
                          last_problem.empty() ? "" : "; the last problem: " + last_problem));
}

std::filesystem::path CidAllocator::default_dir() {
  return base::settings()->cid_dir;
}

CidAllocator& CidAllocator::machine_wide() {
  static CidAllocator allocator(Options{.dir = default_dir()});
  return allocator;
}

bool is_cid_collision(std::string_view qemu_output) {
  return qemu_output.find("unable to set guest cid") != std::string_view::npos;
}

void retry_cid_collisions(CidAllocator& allocator, CidLease& lease,
                          const std::function<bool()>& collided,
                          const std::function<void()>& relaunch, int max_attempts) {
  std::string taken;
  for (int attempt = 1; collided(); ++attempt) {
    taken += (taken.empty() ? "" : ", ") + std::to_string(lease.cid());
    lease.release_held_elsewhere();
    if (attempt >= max_attempts)
      throw Error(fmt::format("no free vsock CID: QEMU found each of the {} CIDs it was given "
                              "taken by another VM on this host ({})",
                              attempt, taken));
    lease = allocator.acquire();
    relaunch();
  }
}

}  // namespace provium::transport
