// FileLock (file_lock.h).
#include "pool/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include <provium/error.h>

namespace provium::detail {

FileLock::FileLock(const std::filesystem::path& path)
    : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
  if (fd_ < 0) throw Error(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const int saved = errno;
    ::close(fd_);
    throw Error(fmt::format("cannot lock {}: {}", path.string(), std::strerror(saved)));
  }
}

FileLock::~FileLock() { ::close(fd_); }

}  // namespace provium::detail
