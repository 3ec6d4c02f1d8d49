#include "base/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <provium/error.h>

namespace provium::base {

namespace {
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};
}  // namespace

std::string read_file(const std::filesystem::path& file, std::string_view what,
                      std::size_t limit) {
  auto fail = [&] {
    return Error(fmt::format("{} {}: {}", what, file.string(), std::strerror(errno)));
  };

  FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw fail();
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) throw fail();

  std::string contents;
  // The size is only a hint (files under /proc say 0): reading goes on until end of file.
  contents.reserve(std::min(static_cast<std::size_t>(std::max<off_t>(info.st_size, 0)), limit));
  char chunk[64 * 1024];
  while (contents.size() < limit) {
    std::size_t want = std::min(sizeof chunk, limit - contents.size());
    ssize_t got = ::read(fd.get(), chunk, want);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw fail();  // a directory fails here, with "Is a directory"
    }
    if (got == 0) break;
    contents.append(chunk, static_cast<std::size_t>(got));
  }
  return contents;
}

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

bool is_file_at(int fd, const std::filesystem::path& path) {
  struct stat opened {}, named {};
  return ::fstat(fd, &opened) == 0 && ::stat(path.c_str(), &named) == 0 && opened.st_dev == named.st_dev &&
         opened.st_ino == named.st_ino;
}

std::string file_identity(const std::filesystem::path& file) {
  struct stat status {};
  if (::stat(file.c_str(), &status) != 0) return "missing";
  return fmt::format("{}:{}:{}:{}.{:09}", status.st_dev, status.st_ino, status.st_size, status.st_mtim.tv_sec,
                     status.st_mtim.tv_nsec);
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t wrote = ::write(fd, bytes.data(), bytes.size());
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(wrote));
  }
}

TemporaryDirectory::TemporaryDirectory(const std::filesystem::path& parent, std::string_view prefix) {
  std::string pattern = (parent / (std::string(prefix) + "XXXXXX")).string();
  if (!::mkdtemp(pattern.data()))
    throw Error(fmt::format("cannot create a directory in {}: {}", parent.string(), std::strerror(errno)));
  path_ = pattern;
}

TemporaryDirectory::~TemporaryDirectory() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

}  // namespace provium::base
