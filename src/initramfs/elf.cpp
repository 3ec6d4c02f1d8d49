#include "initramfs/elf.h"

#include <cstdint>

namespace provium::initramfs {

namespace {
constexpr std::string_view kMagic = "\x7F" "ELF";
constexpr unsigned kClass32 = 1, kClass64 = 2;
constexpr unsigned kLittleEndian = 1, kBigEndian = 2;
constexpr uint32_t kProgramInterpreter = 3;  // PT_INTERP

// Reads unsigned integers of the file's byte order, within bounds checked by the caller.
class Reader {
 public:
  Reader(std::string_view image, bool big_endian) : image_(image), big_endian_(big_endian) {}

  uint64_t read(std::size_t offset, std::size_t size) const {
    uint64_t value = 0;
    for (std::size_t i = 0; i < size; ++i) {
      std::size_t byte = big_endian_ ? offset + i : offset + size - 1 - i;
      value = value << 8 | static_cast<unsigned char>(image_[byte]);
    }
    return value;
  }

 private:
  std::string_view image_;
  bool big_endian_;
};
}  // namespace

ElfLinking elf_linking(std::string_view image) {
  constexpr std::size_t kIdentSize = 16;
  if (image.size() < kIdentSize || !image.starts_with(kMagic)) return ElfLinking::not_elf;
  auto elf_class = static_cast<unsigned char>(image[4]);
  auto encoding = static_cast<unsigned char>(image[5]);
  if ((elf_class != kClass32 && elf_class != kClass64) ||
      (encoding != kLittleEndian && encoding != kBigEndian)) {
    return ElfLinking::not_elf;
  }
  bool is64 = elf_class == kClass64;
  Reader reader(image, encoding == kBigEndian);

  // Offsets of e_phoff, e_phentsize and e_phnum in the file header, and its size.
  std::size_t header_size = is64 ? 64 : 52;
  if (image.size() < header_size) return ElfLinking::not_elf;
  uint64_t table = reader.read(is64 ? 32 : 28, is64 ? 8 : 4);
  uint64_t entry_size = reader.read(is64 ? 54 : 42, 2);
  uint64_t count = reader.read(is64 ? 56 : 44, 2);

  // p_type is the first 4 bytes of every program header.
  if (count > 0 && entry_size < 4) return ElfLinking::not_elf;
  if (table > image.size() || count * entry_size > image.size() - table) {
    return ElfLinking::not_elf;
  }
  for (uint64_t i = 0; i < count; ++i) {
    if (reader.read(table + i * entry_size, 4) == kProgramInterpreter) return ElfLinking::dynamic;
  }
  return ElfLinking::static_;
}

}  // namespace provium::initramfs
