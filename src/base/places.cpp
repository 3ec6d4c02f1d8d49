#include "base/places.h"

#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>

namespace provium::base {

namespace fs = std::filesystem;

fs::path run_root() {
  if (const char* dir = std::getenv("PROVIUM_RUN_DIR"); dir && *dir) return dir;
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) return fs::path(runtime) / "provium";
  return fmt::format("/tmp/provium-{}", ::getuid());
}

fs::path cache_root() {
  if (const char* dir = std::getenv("PROVIUM_CACHE_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "provium";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache/provium";
  return fmt::format("/tmp/provium-cache-{}", ::getuid());
}

}  // namespace provium::base
