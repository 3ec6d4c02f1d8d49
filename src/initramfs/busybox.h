// The userspace of the built-in default profile, and of any profile without an initrd or a
// rootfs of its own: busybox and its applets.
#pragma once

#include <filesystem>
#include <string>

namespace provium::initramfs {

// A cpio newc archive with /bin/busybox, a symlink to it for every applet it has (/bin/sh,
// /usr/sbin/chroot, ...) and the usual top-level directories (/tmp 1777). Throws
// PrerequisiteError when `busybox` is missing or is not a statically linked ELF executable
// (a dynamically linked one would not find its libraries in the guest). The result is cached
// per path for the life of the process.
std::string busybox_rootfs(const std::filesystem::path& busybox = "/bin/busybox");

}  // namespace provium::initramfs
