// An exclusive flock on a lock file, held while the object lives: the kernel drops it however
// the process ends, so a dead holder never blocks anyone.
#pragma once

#include <filesystem>

namespace provium::detail {

class FileLock {
 public:
  // Creates `path` (mode 0600) when missing and waits for the lock. Throws Error naming it.
  explicit FileLock(const std::filesystem::path& path);
  ~FileLock();  // closing the file drops the lock
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

}  // namespace provium::detail
