// A kernel module's own record of itself: the .modinfo section of its ELF file, NUL-separated
// "key=value" strings (what modinfo(8) prints).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace provium::initramfs {

// The values of `key` in the .modinfo section of the (uncompressed) module `elf`, in order.
// Throws Error when `elf` is not a 64-bit little-endian ELF with such a section inside it.
std::vector<std::string> modinfo_values(std::string_view elf, std::string_view key);

// The modules that the module file `file` (.ko, or compressed) needs, from its `depends=`,
// as canonical names ('_' for '-'). Throws Error naming the file.
std::vector<std::string> modinfo_depends(const std::filesystem::path& file);

}  // namespace provium::initramfs
