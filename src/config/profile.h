// A profile of provium.toml: which kernel and userspace a VM boots, and how QEMU runs it.
// Parsing only records what the file says; whether the files exist is checked at boot, where
// the error can name the path and where it was configured (origin).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <provium/types.h>

namespace provium::config {

// A share written as text, in a profile's `shares` and provium run's --share: "HOST",
// "HOST:GUEST", either followed by ":ro". HOST is made absolute against `dir`; GUEST defaults to
// HOST's absolute path. Throws Error for a form that is none of these.
Share parse_share(std::string_view spec, const std::filesystem::path& dir);

struct Profile {
  std::string name;
  // Absolute; may not exist (checked at boot, see kernel_origin). Empty in the built-in profile
  // on a host without /boot/vmlinuz-*.
  std::filesystem::path kernel;
  // `kernel` named a kernel build tree (a source tree or an O= output directory): this tree.
  // `kernel` is then its arch/x86/boot/bzImage, and `modules` defaults to the tree.
  std::optional<std::filesystem::path> build_tree;
  std::optional<std::filesystem::path> initrd;    // absolute
  std::optional<std::filesystem::path> rootfs;    // absolute; a read-only virtio disk
  std::string init = "/sbin/init";
  std::string append;                             // extra kernel command line
  std::string accel = "auto";                     // auto | kvm | tcg
  std::string machine = "q35";                    // q35 | microvm | pc
  std::string transport = "auto";                 // auto | virtio-serial | vsock
  // auto: the kernel's uncompressed ELF through its PVH entry when it has one (no guest-side
  // decompression: a faster cold boot), else the bzImage; pvh: insist; bzimage: never.
  std::string kernel_boot = "auto";
  std::optional<std::filesystem::path> modules;   // kernel modules dir; unset: /lib/modules/<release of kernel>
  // The kernel's vmlinux with debug info (absolute), for kernel reports whose frames show their
  // file:line; a build tree's by default. Need not exist.
  std::optional<std::filesystem::path> vmlinux;
  std::string qemu = "qemu-system-x86_64";        // binary name (searched in PATH) or absolute path
  bool builtin = false;                           // the built-in default profile: busybox userspace, init /provium-init
  // userspace = "host": the guest's root is the host's, read-only over 9p under a tmpfs overlay
  // (the wrapper's work), with Provium's init; no initrd or rootfs then.
  bool host_root = false;
  // Shared directories of every VM of the profile, before the boot options' own.
  std::vector<Share> shares;
  std::map<std::string, std::string> origin;      // key -> "FILE:LINE:COLUMN" of the value that set it
  std::string defined_at;                         // "FILE:LINE" of the profile's table; empty when built in

  // The built-in profile's busybox userspace: the built-in profile's, and any profile's that has
  // neither an initrd nor a rootfs (a kernel alone is enough; its init is then /provium-init
  // unless the profile sets one).
  bool busybox_userspace() const { return !host_root && (builtin || (!initrd && !rootfs)); }

  // Sets `kernel` from a configured path: an image, or a build tree (see build_tree).
  void set_kernel(const std::filesystem::path& path);

  // "profile 'x' (FILE:LINE)" or "built-in profile 'default'", to start error messages with.
  std::string describe() const;
  // Where the kernel path came from, for "kernel not found" errors: "FILE:LINE:COLUMN", or
  // "the newest /boot/vmlinuz-*" for the built-in profile.
  std::string kernel_origin() const;
};

}  // namespace provium::config
