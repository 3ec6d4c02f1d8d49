#include "config/profile.h"

#include <fmt/format.h>

#include <system_error>

namespace provium::config {

void Profile::set_kernel(const std::filesystem::path& path) {
  std::error_code error;
  // A directory with a Makefile: a kernel tree, or an O= output directory (make writes one there).
  if (std::filesystem::is_directory(path, error) && std::filesystem::exists(path / "Makefile", error)) {
    build_tree = path;
    kernel = path / "arch/x86/boot/bzImage";
  } else {
    build_tree.reset();
    kernel = path;
  }
}

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
