// The shim: the archive provium appends to the user's initramfs. The kernel unpacks both into
// the same root, later entries replacing earlier ones, so the shim adds provium's guest
// programs, the modules they need and the user's files to whatever userspace the user has.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "initramfs/modules.h"

namespace provium::initramfs {

struct ShimSpec {
  std::vector<Module> modules;               // in load order
  std::map<std::string, std::string> files;  // guest path -> host path (file or directory)
  // The guest's root will be a disk (a profile's rootfs): the files wait under
  // /provium/root-files, and the wrapper copies them into the disk's root once it is mounted.
  bool root_disk = false;
};

// Where a disk boot's files wait in the shim; the wrapper's ROOT_FILES_DIR (agent/root_disk.c).
inline constexpr std::string_view kRootFilesDir = "provium/root-files";

// A cpio newc archive holding:
//  - directories /dev /proc /sys /provium /provium/modules and /dev/console (char 5:1, 0600);
//  - /provium-wrapper, /provium-agent, /provium-init (0755), the embedded guest programs;
//  - each module as /provium/modules/NN-NAME.ko[.xz|.gz|.zst], NN its index in load order,
//    zero-padded so that the wrapper loads them in file-name order;
//  - the user's files: a host file with its permission bits, a host directory recursively
//    (symlinks inside stay symlinks), their missing parent directories created with 0755;
//    for a disk root under kRootFilesDir instead of at their guest paths.
// Guest paths must be absolute, without "..", and outside provium's own paths. Throws Error
// naming the guest and host path for a missing or unreadable host file.
std::string build_shim(const ShimSpec& spec);

}  // namespace provium::initramfs
