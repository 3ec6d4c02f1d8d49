// The zero-configuration profile: the host's own newest kernel with a busybox userspace.
#include <string.h>  // strverscmp

#include "config/config.h"

namespace provium::config {
namespace {

namespace fs = std::filesystem;

// Version order, so that vmlinuz-6.10 beats vmlinuz-6.9 (plain string order would not).
bool newer(const fs::path& a, const fs::path& b) {
  return strverscmp(a.filename().c_str(), b.filename().c_str()) > 0;
}

fs::path newest_kernel(const fs::path& boot_dir) {
  fs::path newest;
  std::error_code error;  // no or an unreadable boot_dir: no kernel, reported at boot
  for (fs::directory_iterator it(boot_dir, error), end; !error && it != end; it.increment(error)) {
    const fs::path& path = it->path();
    if (!path.filename().string().starts_with("vmlinuz-")) continue;
    std::error_code unreadable;  // skipped like any other non-file
    if (!it->is_regular_file(unreadable)) continue;
    if (newest.empty() || newer(path, newest)) newest = path;
  }
  return newest;
}

}  // namespace

Profile builtin_default_profile(const std::filesystem::path& boot_dir) {
  Profile profile;
  profile.name = "default";
  profile.kernel = newest_kernel(boot_dir);
  profile.init = "/provium-init";
  profile.builtin = true;
  return profile;
}

Profile builtin_default_profile() { return builtin_default_profile("/boot"); }

}  // namespace provium::config
