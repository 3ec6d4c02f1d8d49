#include "vm/run_dir.h"

#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <provium/error.h>

#include "base/files.h"
#include "base/settings.h"

namespace provium::vm {

namespace {

constexpr const char* kLockFile = "lock";

// Removes the run directories of processes that died without cleaning up (SIGKILL, a crash):
// a live one's lock cannot be taken.
void remove_leftovers(const std::filesystem::path& parent) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(parent, error)) {
    if (entry.path().filename().string().rfind("vm-", 0) != 0) continue;
    const auto dead = base::OwnerLock::try_acquire_existing(entry.path() / kLockFile);
    if (dead.held()) std::filesystem::remove_all(entry.path(), error);
  }
}

}  // namespace

RunDir::RunDir() {
  const auto parent = base::settings()->run_root;
  base::ensure_private_directory(parent);
  remove_leftovers(parent);
  // Made under another name and locked before it is renamed to vm-*, so that no vm-*
  // directory is ever without its owner's lock.
  std::string pattern = (parent / ".new-XXXXXX").string();
  if (!::mkdtemp(pattern.data()))
    throw Error(fmt::format("cannot create a run directory in {}: {}", parent.string(),
                            strerror(errno)));
  const std::filesystem::path made = pattern;
  try {
    lock_ = base::OwnerLock::acquire(made / kLockFile);
  } catch (const Error& error) {
    std::error_code ignored;
    std::filesystem::remove_all(made, ignored);
    throw Error(fmt::format("cannot lock run directory {}: {}", made.string(), error.what()));
  }
  path_ = parent / ("vm-" + made.filename().string().substr(5));
  std::filesystem::rename(made, path_);
}

RunDir::~RunDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);  // before lock_ drops, so no one else removes it
}

}  // namespace provium::vm
