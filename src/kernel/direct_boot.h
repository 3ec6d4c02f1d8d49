// Booting a bzImage's kernel directly: the host decompresses the kernel once (cached under the
// bzImage's file identity: device, inode, size, modification time) and QEMU loads the resulting ELF through its PVH entry point. Under TCG
// the guest's own decompression is a large share of a cold boot (docs/performance.md).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "kernel/kconfig.h"

namespace provium::kernel {

struct Payload {
  std::string format;  // gzip, xz, lz4, zstd, or what else the magic says
  std::string_view data;
};

// The compressed kernel inside a bzImage (boot protocol 2.08+). Throws Error when `image` is
// not one.
Payload bzimage_payload(std::string_view image);

// The payload decompressed. Throws Error for a format this build cannot decompress, a corrupt
// stream, or a result of a size other than the one the image records.
std::string decompress(const Payload& payload);

// Whether `elf` is a 64-bit ELF with a PVH entry (the note XEN_ELFNOTE_PHYS32_ENTRY).
bool has_pvh_entry(std::string_view elf);

// Why a kernel of this configuration cannot start at its PVH entry although it has one, or
// nullopt: a KASAN kernel (6.1) dies there before its first message, so it boots as a bzImage.
std::optional<std::string> pvh_refusal(const KernelConfig& config);

// The uncompressed kernel of `bzimage` under cache_dir, made when missing (written under a
// temporary name, then renamed). nullopt, with the reason in *why, when the kernel cannot boot
// that way.
std::optional<std::filesystem::path> pvh_image(const std::filesystem::path& bzimage,
                                               const std::filesystem::path& cache_dir,
                                               std::string* why);

}  // namespace provium::kernel
