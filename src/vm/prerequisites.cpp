// What the host needs before a profile can boot, checked up front so that a missing piece
// is reported as such (and skipped, in GoogleTest) instead of as a failed boot.
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>

#include <provium/vm.h>

#include "base/files.h"
#include "config/config.h"
#include "host/programs.h"
#include "host/transport.h"
#include "initramfs/busybox.h"
#include "kernel/kconfig.h"
#include "vm/machine.h"

namespace provium {

namespace vm {

void check_prerequisites(const config::Profile& profile) {
  if (host::find_executable(profile.qemu).empty())
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
  if (profile.busybox_userspace()) initramfs::busybox_rootfs();  // throws PrerequisiteError when missing
  if (host::find_executable("setpriv").empty())
    throw PrerequisiteError(
        "setpriv not found in PATH (it gives QEMU a parent-death signal; Debian: util-linux)");
  host::effective_transport(profile);  // a vsock the host cannot provide
}

namespace {

// The configuration a kernel image carries itself (CONFIG_IKCONFIG), read once per image (by its
// file identity) in this process: finding it means decompressing the kernel.
std::optional<std::string> embedded_config(const std::filesystem::path& image) {
  static std::mutex mutex;
  static std::map<std::string, std::optional<std::string>> read;
  const std::string identity = image.string() + " " + base::file_identity(image);
  std::lock_guard lock(mutex);
  if (const auto found = read.find(identity); found != read.end()) return found->second;
  return read[identity] = kernel::embedded_config_of_image(image);
}

}  // namespace

std::optional<KernelConfigFound> kernel_config_of(const std::filesystem::path& image) {
  // The configuration beside the image, else the one inside it; each read and parsed once per
  // process while the files are the same (every launch asks: kernel_image()).
  static std::mutex mutex;
  static std::map<std::string, std::optional<KernelConfigFound>> known;
  const auto file = kernel::config_of_image(image);
  const std::string identity = image.string() + " " + base::file_identity(image) +
                               (file ? " " + file->string() + " " + base::file_identity(*file) : "");
  {
    std::lock_guard lock(mutex);
    if (const auto found = known.find(identity); found != known.end()) return found->second;
  }
  std::string text, where;
  if (file) {
    text = base::read_file(*file, "kernel configuration");
    where = file->string();
  } else if (auto inside = embedded_config(image)) {
    text = std::move(*inside);
    where = fmt::format("(CONFIG_IKCONFIG, in {})", image.string());
  } else {
    std::lock_guard lock(mutex);
    return known[identity] = std::nullopt;
  }
  KernelConfigFound found{kernel::KernelConfig::parse(text, where), where};
  std::lock_guard lock(mutex);
  return known[identity] = std::move(found);
}

void check_kernel_config(const config::Profile& profile, const kernel::KernelNeeds& needs) {
  // A kernel without a configuration to read is booted unchecked, and its console may say what
  // it lacks (kernel::diagnose_console).
  const auto found = kernel_config_of(profile.kernel);
  if (!found) return;
  const auto& [config, where] = *found;
  const auto missing = kernel::missing_options(config, needs);
  if (missing.empty()) return;
  std::string lacks;
  for (const auto& option : missing) lacks += fmt::format("\n  {} ({})", option.what, option.option);
  const auto tree = where.ends_with("/.config") ? std::filesystem::path(where).parent_path() : std::filesystem::path("TREE");
  throw Error(fmt::format("kernel {} cannot run Provium's agent: its configuration {} lacks{}\n"
                          "Run `provium kconfig {}` and build it again (docs/kernels.md).",
                          profile.kernel.string(), where, lacks, tree.string()));
}

}  // namespace vm

void check_prerequisites(std::string_view profile) {
  vm::check_prerequisites(config::current().profile(profile));
}

}  // namespace provium
