// Just enough ELF to tell whether an executable can run without the host's shared libraries.
#pragma once

#include <string_view>

namespace provium::initramfs {

enum class ElfLinking {
  not_elf,   // not an ELF file, or its program headers lie outside it
  static_,   // no program interpreter: runs on its own in any guest
  dynamic,   // has a PT_INTERP program header: needs ld.so and libraries
};

ElfLinking elf_linking(std::string_view image);

}  // namespace provium::initramfs
