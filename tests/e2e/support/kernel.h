// The host's newest kernel in /boot, for tests that write profiles of their own.
#pragma once

#include <filesystem>

namespace provium_test {

// The newest /boot/vmlinuz-* by name; empty when there is none.
inline std::filesystem::path newest_kernel() {
  std::filesystem::path newest;
  std::error_code none;
  for (const auto& entry : std::filesystem::directory_iterator("/boot", none))
    if (entry.path().filename().string().rfind("vmlinuz-", 0) == 0 && entry.path().filename() > newest.filename())
      newest = entry.path();
  return newest;
}

}  // namespace provium_test
