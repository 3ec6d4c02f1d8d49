#include "initramfs/modinfo.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include <provium/error.h>

#include "base/decompress.h"
#include "base/files.h"

namespace provium::initramfs {

namespace {

template <class T>
T field(std::string_view data, std::size_t offset) {
  if (offset > data.size() || sizeof(T) > data.size() - offset) throw Error("a header runs past the end of the file");
  T value;
  std::memcpy(&value, data.data() + offset, sizeof value);  // x86-64 and the ELF are little-endian
  return value;
}

constexpr std::size_t kMaxModule = 256u << 20;

}  // namespace

std::vector<std::string> modinfo_values(std::string_view elf, std::string_view key) {
  if (!elf.starts_with("\x7f" "ELF") || field<uint8_t>(elf, 4) != 2 || field<uint8_t>(elf, 5) != 1)
    throw Error("not a 64-bit little-endian ELF file");
  // The section headers, and the one holding the sections' names (e_shoff, e_shentsize,
  // e_shnum, e_shstrndx of the ELF64 header).
  const auto headers = field<uint64_t>(elf, 0x28);
  const auto entry_size = field<uint16_t>(elf, 0x3A), count = field<uint16_t>(elf, 0x3C);
  const auto names_index = field<uint16_t>(elf, 0x3E);
  if (entry_size < 0x28 || names_index >= count) throw Error("malformed section headers");
  auto section = [&](std::size_t index) {
    const std::size_t at = headers + index * entry_size;  // sh_name, sh_offset, sh_size
    const auto offset = field<uint64_t>(elf, at + 0x18), size = field<uint64_t>(elf, at + 0x20);
    if (offset > elf.size() || size > elf.size() - offset) throw Error("a section runs past the end of the file");
    return std::pair{field<uint32_t>(elf, at), elf.substr(offset, size)};
  };
  const std::string_view names = section(names_index).second;
  for (std::size_t i = 0; i < count; ++i) {
    const auto [name_offset, contents] = section(i);
    if (name_offset >= names.size() || std::string_view(names.data() + name_offset) != ".modinfo") continue;
    std::vector<std::string> values;
    const std::string prefix = std::string(key) + "=";
    for (std::size_t start = 0; start < contents.size();) {
      const std::size_t end = std::min(contents.find('\0', start), contents.size());
      const std::string_view entry = contents.substr(start, end - start);
      if (entry.starts_with(prefix)) values.emplace_back(entry.substr(prefix.size()));
      start = end + 1;
    }
    return values;
  }
  throw Error("no .modinfo section");
}

std::vector<std::string> modinfo_depends(const std::filesystem::path& file) {
  try {
    std::string data = base::read_file(file, "kernel module");
    if (const auto format = base::compression_of(data); !format.empty())
      data = base::decompress(format, data, kMaxModule);
    std::vector<std::string> depends;
    for (const auto& list : modinfo_values(data, "depends")) {
      for (std::size_t start = 0; start < list.size();) {
        const std::size_t end = std::min(list.find(',', start), list.size());
        std::string name = list.substr(start, end - start);
        std::replace(name.begin(), name.end(), '-', '_');
        if (!name.empty()) depends.push_back(std::move(name));
        start = end + 1;
      }
    }
    return depends;
  } catch (const Error& error) {
    throw Error(fmt::format("kernel module {}: {}", file.string(), error.what()));
  }
}

}  // namespace provium::initramfs
