#include "kernel/kconfig.h"

#include <fmt/format.h>

#include <array>
#include <system_error>

#include <provium/error.h>

#include "base/decompress.h"
#include "base/files.h"
#include "embed/blobs.h"
#include "kernel/direct_boot.h"

namespace provium::kernel {

namespace fs = std::filesystem;

namespace {

// What every VM needs, what some need, and why, in the words of the error a user reads. `modular`:
// a module counts, since Provium loads the virtio drivers itself.
struct Requirement {
  std::string_view option;
  std::string_view what;
  bool modular = false;
  bool KernelNeeds::*when = nullptr;  // nullptr: always
};

constexpr std::array kRequirements = {
    Requirement{"CONFIG_64BIT", "a 64-bit kernel (the agent is an x86-64 program)"},
    Requirement{"CONFIG_PRINTK", "kernel messages on the console"},
    Requirement{"CONFIG_BLK_DEV_INITRD", "initramfs support (Provium's agent comes in one)"},
    Requirement{"CONFIG_BINFMT_ELF", "ELF programs"},
    Requirement{"CONFIG_TTY", "terminals"},
    Requirement{"CONFIG_SERIAL_8250", "the serial port"},
    Requirement{"CONFIG_SERIAL_8250_CONSOLE", "a console on the serial port"},
    Requirement{"CONFIG_PCI", "PCI, where QEMU's virtio devices are"},
    Requirement{"CONFIG_VIRTIO_PCI", "virtio over PCI", true},
    Requirement{"CONFIG_DEVTMPFS", "devtmpfs (the wrapper mounts /dev)"},
    Requirement{"CONFIG_PROC_FS", "/proc"},
    Requirement{"CONFIG_SYSFS", "/sys (the agent finds its port there)"},
    Requirement{"CONFIG_FUTEX", "futexes (the agent's threads)"},
    Requirement{"CONFIG_VIRTIO_CONSOLE", "a virtio console (the agent's channel over virtio-serial)", true,
                &KernelNeeds::virtio_console},
    Requirement{"CONFIG_VIRTIO_VSOCKETS", "virtio vsock (the agent's channel over vsock)", true, &KernelNeeds::vsock},
    Requirement{"CONFIG_VIRTIO_BLK", "virtio disks", true, &KernelNeeds::disks},
    Requirement{"CONFIG_NET_9P_VIRTIO", "9p over virtio (shared directories, the host's root)", true,
                &KernelNeeds::shares},
    Requirement{"CONFIG_9P_FS", "the 9p filesystem (shared directories, the host's root)", true, &KernelNeeds::shares},
    Requirement{"CONFIG_OVERLAY_FS", "overlayfs (the guest's writes over the host's root)", true,
                &KernelNeeds::host_root},
};

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

}  // namespace

KernelConfig KernelConfig::parse(std::string_view text, std::string_view what) {
  KernelConfig config;
  std::size_t number = 0;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = trim(text.substr(start, end - start));
    start = end + 1;
    ++number;
    constexpr std::string_view kNotSet = " is not set";
    if (line.starts_with("# CONFIG_") && line.ends_with(kNotSet)) {
      config.options_[std::string(line.substr(2, line.size() - 2 - kNotSet.size()))] = "n";
      continue;
    }
    if (line.empty() || line.starts_with('#')) continue;
    const std::size_t equals = line.find('=');
    if (!line.starts_with("CONFIG_") || equals == std::string_view::npos || equals == 7)
      throw Error(fmt::format("{}:{}: not a kernel configuration line: {}", what, number, line));
    config.options_[std::string(line.substr(0, equals))] = std::string(line.substr(equals + 1));
  }
  return config;
}

std::string KernelConfig::value_of(const std::string& option) const {
  const auto found = options_.find(option);
  return found == options_.end() ? "n" : found->second;
}

bool KernelConfig::enabled(const std::string& option) const {
  const std::string value = value_of(option);
  return value == "y" || value == "m";
}

std::string KernelConfig::text() const {
  std::string text;
  for (const auto& [option, value] : options_)
    text += value == "n" ? fmt::format("# {} is not set\n", option) : fmt::format("{}={}\n", option, value);
  return text;
}

std::vector<ConfigChange> changes(const KernelConfig& before, const KernelConfig& after) {
  std::map<std::string, std::pair<std::string, std::string>> both;
  for (const auto& [option, value] : before.options()) both[option].first = value;
  for (const auto& [option, value] : after.options()) both[option].second = value;
  std::vector<ConfigChange> changed;
  for (const auto& [option, values] : both) {
    const std::string was = values.first.empty() ? "n" : values.first;
    const std::string is = values.second.empty() ? "n" : values.second;
    if (was != is) changed.push_back({option, was, is});
  }
  return changed;
}

KernelConfig provium_fragment(bool debug) {
  KernelConfig fragment = KernelConfig::parse(embed::kconfig_provium.view(), "kconfig/provium.config");
  if (debug) {
    const KernelConfig more = KernelConfig::parse(embed::kconfig_debug.view(), "kconfig/debug.config");
    for (const auto& [option, value] : more.options()) fragment.set(option, value);
  }
  return fragment;
}

std::vector<MissingOption> missing_options(const KernelConfig& config, const KernelNeeds& needs) {
  std::vector<MissingOption> missing;
  for (const Requirement& requirement : kRequirements) {
    if (requirement.when && !(needs.*requirement.when)) continue;
    const std::string option(requirement.option);
    const std::string value = config.value_of(option);
    if (value == "y" || (requirement.modular && value == "m")) continue;
    missing.push_back({option, std::string(requirement.what)});
  }
  return missing;
}

std::optional<std::string> embedded_config(std::string_view kernel) {
  constexpr std::string_view kStart = "IKCFG_ST", kEnd = "IKCFG_ED";
  const std::size_t start = kernel.find(kStart);
  if (start == std::string_view::npos) return std::nullopt;
  const std::size_t end = kernel.find(kEnd, start + kStart.size());
  if (end == std::string_view::npos) return std::nullopt;
  const std::string_view stream = kernel.substr(start + kStart.size(), end - start - kStart.size());
  try {
    return base::decompress("gzip", stream, 16u << 20);
  } catch (const Error&) {
    return std::nullopt;  // the markers, but no configuration between them
  }
}

std::optional<std::string> embedded_config_of_image(const fs::path& bzimage) {
  try {
    return embedded_config(decompress(bzimage_payload(base::read_file(bzimage, "kernel"))));
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::string diagnose_console(std::string_view console) {
  constexpr std::string_view kRun = "; run `provium kconfig` on its tree (docs/kernels.md)";
  auto says = [&](std::string_view text) { return console.find(text) != std::string_view::npos; };
  if (console.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return fmt::format("the kernel wrote nothing to the console: a kernel of your own may lack kernel messages "
                       "(CONFIG_PRINTK), a console on the serial port (CONFIG_SERIAL_8250, CONFIG_SERIAL_8250_CONSOLE) "
                       "or CONFIG_64BIT{}",
                       kRun);
  if (says("provium-agent: no virtio-serial port named"))
    return fmt::format("the kernel has no virtio console (CONFIG_VIRTIO_CONSOLE){}", kRun);
  if (says("/provium-wrapper") && (says("error -8") || says("Exec format error")))
    return fmt::format("the kernel cannot execute Provium's x86-64 programs: it needs CONFIG_64BIT and CONFIG_BINFMT_ELF{}",
                       kRun);
  // Without initramfs support the kernel ignores rdinit= and looks for a root device instead.
  if (!says("provium-wrapper") && says("Unable to mount root fs"))
    return fmt::format("the kernel did not unpack Provium's initramfs: it needs CONFIG_BLK_DEV_INITRD and "
                       "CONFIG_RD_GZIP{}",
                       kRun);
  return {};
}

std::vector<std::string> required_options() {
  std::vector<std::string> options;
  for (const Requirement& requirement : kRequirements) options.emplace_back(requirement.option);
  return options;
}

std::optional<fs::path> config_of_image(const fs::path& image) {
  std::error_code error;
  const fs::path absolute = fs::absolute(image, error);
  std::vector<fs::path> candidates;
  // TREE/arch/x86/boot/bzImage and TREE/vmlinux.
  if (absolute.filename() == "bzImage" && absolute.parent_path().filename() == "boot")
    candidates.push_back(absolute.parent_path().parent_path().parent_path().parent_path() / ".config");
  candidates.push_back(absolute.parent_path() / ".config");
  // Debian's /boot: vmlinuz-RELEASE beside config-RELEASE.
  const std::string name = absolute.filename().string();
  if (name.starts_with("vmlinuz-")) candidates.push_back(absolute.parent_path() / ("config-" + name.substr(8)));
  for (const fs::path& candidate : candidates)
    if (fs::is_regular_file(candidate, error)) return candidate;
  return std::nullopt;
}

}  // namespace provium::kernel
