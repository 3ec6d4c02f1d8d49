// The shim: the archive provium appends to the user's initramfs. The kernel unpacks both into
// the same root, later entries replacing earlier ones, so the shim adds provium's guest
// programs, the modules they need and the user's files to whatever userspace the user has.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "initramfs/modules.h"

namespace provium::initramfs {

struct ShimSpec {
  std::vector<Module> modules;               // in load order
  std::map<std::string, std::string> files;  // guest path -> host path (file or directory)
};

// A cpio newc archive holding:
//  - directories /dev /proc /sys /provium /provium/modules and /dev/console (char 5:1, 0600);
//  - /provium-wrapper, /provium-agent, /provium-init (0755), the embedded guest programs;
//  - each module as /provium/modules/NN-NAME.ko[.xz|.gz|.zst], NN its index in load order,
//    zero-padded so that the wrapper loads them in file-name order;
//  - the user's files: a host file with its permission bits, a host directory recursively
//    (symlinks inside stay symlinks), their missing parent directories created with 0755.
// Guest paths must be absolute, without "..", and outside provium's own paths. Throws Error
// naming the guest and host path for a missing or unreadable host file.
std::string build_shim(const ShimSpec& spec);

}  // namespace provium::initramfs
