#include "vm/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include <provium/error.h>

namespace provium::detail {

std::filesystem::path RunDir::base() {
  if (const char* dir = std::getenv("PROVIUM_RUN_DIR"); dir && *dir) return dir;
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime)
    return std::filesystem::path(runtime) / "provium";
  return fmt::format("/tmp/provium-{}", getuid());
}

namespace {

constexpr const char* kLockFile = "lock";

// Removes the run directories of processes that died without cleaning up (SIGKILL, a crash):
// a live one's lock cannot be taken.
void remove_leftovers(const std::filesystem::path& parent) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(parent, error)) {
    if (entry.path().filename().string().rfind("vm-", 0) != 0) continue;
    int fd = ::open((entry.path() / kLockFile).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) std::filesystem::remove_all(entry.path(), error);
    ::close(fd);
  }
}

}  // namespace

RunDir::RunDir() {
  const auto parent = base();
  if (::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST)
    throw Error(fmt::format("cannot create run directory {}: {}", parent.string(), strerror(errno)));
  remove_leftovers(parent);
  // Made under another name and locked before it is renamed to vm-*, so that no vm-*
  // directory is ever without its owner's lock.
  std::string pattern = (parent / ".new-XXXXXX").string();
  if (!::mkdtemp(pattern.data()))
    throw Error(fmt::format("cannot create a run directory in {}: {}", parent.string(),
                            strerror(errno)));
  const std::filesystem::path made = pattern;
  lock_fd_ = ::open((made / kLockFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX) != 0) {
    std::error_code ignored;
    std::filesystem::remove_all(made, ignored);
    throw Error(fmt::format("cannot lock run directory {}: {}", made.string(), strerror(errno)));
  }
  path_ = parent / ("vm-" + made.filename().string().substr(5));
  std::filesystem::rename(made, path_);
}

RunDir::~RunDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
  ::close(lock_fd_);
}

}  // namespace provium::detail
