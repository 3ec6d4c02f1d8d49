#include "config/profile.h"

#include <fmt/format.h>

namespace provium::config {

std::string Profile::describe() const {
  if (builtin) return fmt::format("built-in profile '{}'", name);
  if (defined_at.empty()) return fmt::format("profile '{}'", name);
  return fmt::format("profile '{}' ({})", name, defined_at);
}

std::string Profile::kernel_origin() const {
  if (auto found = origin.find("kernel"); found != origin.end()) return found->second;
  return builtin ? "the newest /boot/vmlinuz-*" : describe();
}

}  // namespace provium::config
