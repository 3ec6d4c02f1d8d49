#include "vm/run_dir.h"

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

RunDir::RunDir() {
  const auto parent = base();
  if (::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST)
    throw Error(fmt::format("cannot create run directory {}: {}", parent.string(), strerror(errno)));
  std::string pattern = (parent / "vm-XXXXXX").string();
  if (!::mkdtemp(pattern.data()))
    throw Error(fmt::format("cannot create a run directory in {}: {}", parent.string(),
                            strerror(errno)));
  path_ = pattern;
}

RunDir::~RunDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace provium::detail
