// Which script files a path names (docs/cli.md, "Which files run"): a file, or every *.lua below a directory
// except fixture scripts, in name order.
#include <fmt/format.h>

#include <algorithm>
#include <system_error>

#include <provium/error.h>

#include "lua/runner.h"

namespace provium::lua {

namespace fs = std::filesystem;

std::vector<fs::path> discover(const fs::path& path) {
  std::error_code error;
  const auto status = fs::status(path, error);
  if (error || !fs::exists(status))
    throw Error(fmt::format("{}: no such file or directory", path.string()));
  if (!fs::is_directory(status)) return {path};
  std::vector<fs::path> files;
  fs::recursive_directory_iterator it(path, fs::directory_options::follow_directory_symlink, error);
  if (error) throw Error(fmt::format("{}: {}", path.string(), error.message()));
  for (; it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (error) throw Error(fmt::format("{}: {}", path.string(), error.message()));
    if (it->is_directory() && it->path().filename() == "fixtures") {
      it.disable_recursion_pending();  // fixture scripts are built on demand, not run as tests
      continue;
    }
    if (it->is_regular_file() && it->path().extension() == ".lua") files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace provium::lua
