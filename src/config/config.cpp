#include "config/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

#include "provium/error.h"

namespace provium::config {

const Profile& Config::profile(std::string_view name) const {
  if (auto found = profiles.find(name); found != profiles.end()) return found->second;

  // Tell the user what they could have written instead, and where those names come from.
  std::vector<std::string_view> from_file;
  const Profile* builtin = nullptr;
  for (const auto& [profile_name, profile] : profiles) {
    if (profile.builtin) {
      builtin = &profile;
    } else {
      from_file.push_back(profile_name);
    }
  }
  std::string known;
  if (!file) {
    known = fmt::format("no provium.toml found from {}", searched_from.string());
  } else if (from_file.empty()) {
    known = fmt::format("{} defines no profiles", file->string());
  } else {
    known = fmt::format("{} defines: {}", file->string(), fmt::join(from_file, ", "));
  }
  if (builtin) {
    known += fmt::format("; {} the built-in profile '{}' exists",
                         from_file.empty() ? "only" : "besides them", builtin->name);
  }
  throw Error(fmt::format("unknown profile '{}'; {}", name, known));
}

}  // namespace provium::config
