// A VM's private run directory (mode 0700): its initrd, console log, QMP and port sockets.
// Removed with everything in it when the RunDir is destroyed. While it lives, its process holds
// a flock on it; the kernel drops that lock when the process dies however it dies, so a later
// RunDir can tell a leftover from a live directory and removes the leftovers.
#pragma once

#include <filesystem>

#include "base/owner_lock.h"

namespace provium::vm {

class RunDir {
 public:
  RunDir();  // creates it; throws Error when it cannot
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const char* name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
  base::OwnerLock lock_;  // its owner's, on the file "lock" inside
};

}  // namespace provium::vm
