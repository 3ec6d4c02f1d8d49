#include "base/owner_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <provium/error.h>

#include "base/files.h"

namespace provium::base {

namespace {

int open_lock_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  return fd;
}

}  // namespace

OwnerLock::OwnerLock(OwnerLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

OwnerLock& OwnerLock::operator=(OwnerLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

OwnerLock OwnerLock::acquire(const std::filesystem::path& path) {
  for (;;) {
    const int fd = open_lock_file(path);
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      throw Error(fmt::format("cannot lock {}: {}", path.string(), std::strerror(saved)));
    }
    if (is_file_at(fd, path)) return OwnerLock(fd);
    ::close(fd);  // removed by the holder we waited for: lock the file that is there now
  }
}

OwnerLock OwnerLock::try_acquire(const std::filesystem::path& path) {
  for (;;) {
    OwnerLock lock = try_acquire(open_lock_file(path));
    if (!lock.held() || is_file_at(lock.fd(), path)) return lock;
  }
}

OwnerLock OwnerLock::try_acquire_existing(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};  // gone meanwhile, or never there
  OwnerLock lock = try_acquire(fd);
  if (lock.held() && !is_file_at(lock.fd(), path)) return {};  // removed by its holder meanwhile
  return lock;
}

OwnerLock OwnerLock::try_acquire(int fd) {
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return OwnerLock(fd);
  ::close(fd);
  return {};
}

void OwnerLock::release() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

}  // namespace provium::base
