// What the host needs before a profile can boot, checked up front so that a missing piece
// is reported as such (and skipped, in GoogleTest) instead of as a failed boot.
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include <provium/vm.h>

#include "config/config.h"
#include "initramfs/busybox.h"
#include "transport/selection.h"
#include "vm/machine.h"

namespace provium {

namespace detail {

std::filesystem::path find_executable(const std::string& program) {
  if (program.find('/') != std::string::npos)
    return ::access(program.c_str(), X_OK) == 0 ? std::filesystem::path(program) : std::filesystem::path();
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    auto candidate = std::filesystem::path(std::string(dirs.substr(0, colon))) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
  }
  return {};
}

std::string effective_transport(const config::Profile& profile) {
  if (auto forced = transport::transport_override()) return transport::choose_transport(*forced);
  auto origin = profile.origin.find("transport");
  return transport::choose_transport(
      {profile.transport, origin == profile.origin.end()
                              ? profile.describe()
                              : fmt::format("{}: {}", origin->second, profile.describe())});
}

void check_prerequisites(const config::Profile& profile) {
  if (find_executable(profile.qemu).empty())
    throw PrerequisiteError(fmt::format(
        "QEMU not found: '{}' is not an executable in PATH (Debian: apt-get install "
        "qemu-system-x86)", profile.qemu));
  if (profile.kernel.empty())
    throw PrerequisiteError(
        "no kernel: /boot has no vmlinuz-*. Install one (Debian: apt-get install "
        "linux-image-cloud-amd64) or define [profile.default] with a kernel in provium.toml");
  if (!std::filesystem::exists(profile.kernel)) {
    std::string message = fmt::format("{}: kernel {} not found ({})", profile.kernel_origin(),
                                      profile.kernel.string(), profile.describe());
    if (profile.builtin) throw PrerequisiteError(message);
    throw Error(message);
  }
  if (::access(profile.kernel.c_str(), R_OK) != 0)
    throw PrerequisiteError(fmt::format(
        "kernel {} is not readable by this user (Debian installs kernels with mode 0600): "
        "make it readable (sudo chmod 0644 {}) or configure a readable copy in provium.toml",
        profile.kernel.string(), profile.kernel.string()));
  if (profile.builtin) initramfs::busybox_rootfs();  // throws PrerequisiteError when missing
  if (find_executable("setpriv").empty())
    throw PrerequisiteError(
        "setpriv not found in PATH (it gives QEMU a parent-death signal; Debian: util-linux)");
  effective_transport(profile);  // a vsock the host cannot provide
}
}  // namespace detail

void check_prerequisites(std::string_view profile) {
  detail::check_prerequisites(config::current().profile(profile));
}

}  // namespace provium
