#include "config/profile.h"

#include <fmt/format.h>

#include <system_error>

#include <provium/error.h>

namespace provium::config {

Share parse_share(std::string_view spec, const std::filesystem::path& dir) {
  std::string_view rest = spec;
  const bool readonly = rest.ends_with(":ro");
  if (readonly) rest.remove_suffix(3);
  const std::size_t colon = rest.find(':');
  if (rest.empty() || colon == 0 || (colon != std::string_view::npos && colon + 1 == rest.size()))
    throw Error(fmt::format("share \"{}\": give HOST, HOST:GUEST, or either followed by :ro", spec));
  const std::filesystem::path host = (dir / rest.substr(0, colon)).lexically_normal();
  return {host.string(), colon == std::string_view::npos ? host.string() : std::string(rest.substr(colon + 1)), readonly};
}

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
