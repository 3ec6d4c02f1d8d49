// Which provium.toml the process uses, loaded once and shared by every thread.
#include <deque>
#include <mutex>

#include "config/config.h"

#include "base/settings.h"

namespace provium::config {
namespace {

namespace fs = std::filesystem;

struct State {
  std::mutex mutex;
  std::optional<fs::path> loaded_path;  // the run's PROVIUM_CONFIG when current was loaded
  // Append-only (a deque keeps references to its elements valid as it grows), so a reference
  // from current() survives a reload in another thread.
  std::deque<Config> loaded;
  const Config* current = nullptr;
};

State& state() {
  static State instance;
  return instance;
}

Config load(const std::optional<fs::path>& explicit_path) {
  Config config;
  if (explicit_path) {
    config = load_file(*explicit_path);
  } else if (std::optional<fs::path> found = find_config(fs::current_path())) {
    config = load_file(*found);
  } else {
    config.searched_from = fs::current_path();
  }
  // Zero configuration: a user without a 'default' profile still has one.
  if (!config.profiles.contains("default")) {
    config.profiles.emplace("default", builtin_default_profile());
  }
  return config;
}

}  // namespace

std::optional<std::filesystem::path> find_config(const std::filesystem::path& start) {
  fs::path dir = fs::absolute(start).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "/a/b/" → "/a/b", so the walk goes up
  for (;; dir = dir.parent_path()) {
    fs::path candidate = dir / "provium.toml";
    std::error_code ignored;  // an unreadable directory just has no provium.toml for us
    if (fs::is_regular_file(candidate, ignored)) return candidate;
    if (dir == dir.root_path()) return std::nullopt;
  }
}

const Config& current() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  // The settings name the file (--provium_config, PROVIUM_CONFIG); a change of it loads anew.
  auto path = base::settings()->config;
  if (!s.current || path != s.loaded_path) {
    s.current = &s.loaded.emplace_back(load(path));
    s.loaded_path = std::move(path);
  }
  return *s.current;
}

const Config& reload() {
  {
    State& s = state();
    std::lock_guard lock(s.mutex);
    s.current = nullptr;
  }
  return current();
}

}  // namespace provium::config
