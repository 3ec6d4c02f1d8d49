// A VM's private run directory (mode 0700): its initrd, console log, QMP and port sockets.
// Removed with everything in it when the RunDir is destroyed. While it lives, its process holds
// a flock on it; the kernel drops that lock when the process dies however it dies, so a later
// RunDir can tell a leftover from a live directory and removes the leftovers.
#pragma once

#include <filesystem>

namespace provium::detail {

// Creates `dir` (mode 0700) when missing and makes sure it is private: a directory of this
// user's that no one else can enter (a looser mode is tightened). Throws Error for a symlink,
// a non-directory, or a directory of another user, naming it.
void ensure_private_directory(const std::filesystem::path& dir);

class RunDir {
 public:
  RunDir();  // creates it; throws Error when it cannot
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const char* name) const { return path_ / name; }

  // Where run directories live: $PROVIUM_RUN_DIR, else $XDG_RUNTIME_DIR/provium, else
  // /tmp/provium-UID.
  static std::filesystem::path base();

 private:
  std::filesystem::path path_;
  int lock_fd_ = -1;
};

}  // namespace provium::detail
