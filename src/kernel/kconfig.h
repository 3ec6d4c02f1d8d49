// A kernel's configuration (.config): read, changed by fragments, compared, and checked for
// what Provium needs to boot it (docs/kernels.md).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace provium::kernel {

// CONFIG_NAME -> value as .config writes it: "y", "m", "42", "\"text\"", or "n" for
// "# CONFIG_NAME is not set". An option absent from the map is unset too (value_of says "n").
class KernelConfig {
 public:
  // Parses .config text or a fragment (the same syntax); other comments and blank lines are
  // skipped. Throws Error naming `what` and the line for a line that is neither.
  static KernelConfig parse(std::string_view text, std::string_view what);

  std::string value_of(const std::string& option) const;
  bool enabled(const std::string& option) const;  // y or m
  const std::map<std::string, std::string>& options() const { return options_; }
  void set(const std::string& option, const std::string& value) { options_[option] = value; }

  // .config text: the options in name order.
  std::string text() const;

 private:
  std::map<std::string, std::string> options_;
};

// One option whose value differs between two configurations.
struct ConfigChange {
  std::string option;
  std::string before;  // "n" when unset
  std::string after;
};
std::vector<ConfigChange> changes(const KernelConfig& before, const KernelConfig& after);

// The options Provium's fragments set (kconfig/provium.config, and kconfig/debug.config on top
// with `debug`), as `provium kconfig` applies them.
KernelConfig provium_fragment(bool debug);

// What the VM about to boot uses, beyond what every VM needs.
struct KernelNeeds {
  bool virtio_console = false;  // the virtio-serial transport
  bool vsock = false;           // the vsock transport
  bool disks = false;           // a root disk or the boot options' disks
  bool shares = false;          // shared directories over virtio-9p (also the host's root)
  bool host_root = false;       // the host's root as the guest's, under an overlay
};

// One thing a kernel lacks: "a virtio console" and the option that gives it.
struct MissingOption {
  std::string option;  // CONFIG_VIRTIO_CONSOLE
  std::string what;    // "a virtio console (the agent's channel)"
};

// What `config` lacks of what Provium needs for `needs`. Options that can be modules count
// when they are (Provium loads the virtio drivers itself).
std::vector<MissingOption> missing_options(const KernelConfig& config, const KernelNeeds& needs);

// The configuration a kernel built with CONFIG_IKCONFIG carries in itself (gzip, between the
// markers IKCFG_ST and IKCFG_ED), found in the decompressed kernel; nullopt without one.
std::optional<std::string> embedded_config(std::string_view kernel);

// The same from a bzImage file: nullopt for an image that is no bzImage, cannot be decompressed
// or carries no configuration.
std::optional<std::string> embedded_config_of_image(const std::filesystem::path& bzimage);

// What a console says a kernel lacks, for a kernel whose configuration could not be read
// before the boot: a sentence naming the options and `provium kconfig`, or "" when the console
// says nothing of the kind. From an empty console (no printk, no serial console, a 32-bit
// kernel), a kernel that looked for a root device instead of Provium's initramfs, a wrapper it
// cannot execute, and the agent's word that no virtio port appeared.
std::string diagnose_console(std::string_view console);

// Every option missing_options can ask for, with the value the Provium fragment must give it;
// the unit tests hold the fragment to it.
std::vector<std::string> required_options();

// The configuration a kernel image was built with, when one can be found without running it:
// the .config of the build tree the image lies in (TREE/arch/x86/boot/bzImage, TREE/vmlinux),
// or Debian's /boot/config-RELEASE beside /boot/vmlinuz-RELEASE. Its path, or nullopt.
std::optional<std::filesystem::path> config_of_image(const std::filesystem::path& image);

}  // namespace provium::kernel
