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

void ensure_private_directory(const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) throw Error(fmt::format("cannot create {}: {}", dir.string(), error.message()));
  struct stat info {};
  if (::lstat(dir.c_str(), &info) != 0)
    throw Error(fmt::format("cannot stat {}: {}", dir.string(), strerror(errno)));
  if (!S_ISDIR(info.st_mode))
    throw Error(fmt::format("{} is not a directory (a symlink or file): refusing to use it",
                            dir.string()));
  if (info.st_uid != ::getuid())
    throw Error(fmt::format("{} belongs to uid {}, not to this user (uid {}): refusing to keep VM "
                            "files where another user can reach them; remove it or choose another "
                            "place (PROVIUM_RUN_DIR, PROVIUM_CACHE_DIR)",
                            dir.string(), info.st_uid, ::getuid()));
  if ((info.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0)
    throw Error(fmt::format("cannot make {} private: {}", dir.string(), strerror(errno)));
}

RunDir::RunDir() {
  const auto parent = base();
  ensure_private_directory(parent);
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
