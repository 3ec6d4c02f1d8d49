// What Provium reads of ELF files (through elfutils' libelf): whether an executable runs without
// the host's shared libraries, and, for one that does not, where its libraries come from.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace provium::initramfs {

enum class ElfLinking {
  not_elf,   // not an ELF file, or its program headers lie outside it
  static_,   // no program interpreter: runs on its own in any guest
  dynamic,   // has a PT_INTERP program header: needs ld.so and libraries
};

ElfLinking elf_linking(std::string_view image);

// What the dynamic loader reads of an ELF object before it loads its libraries.
struct ElfDynamic {
  std::string interpreter;               // PT_INTERP: "" for a static executable or a library
  std::vector<std::string> search_path;  // DT_RUNPATH, else DT_RPATH, split at ':'
};

// The same of a file on the host, read through a mapping (only the pages libelf needs); nullopt
// for a file that is not ELF or cannot be read.
std::optional<ElfDynamic> read_elf_dynamic(const std::filesystem::path& file);

}  // namespace provium::initramfs
