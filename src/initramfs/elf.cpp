#include "initramfs/elf.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <mutex>

namespace provium::initramfs {

namespace {
struct ElfCloser {
  void operator()(Elf* elf) const { elf_end(elf); }
};
using ElfHandle = std::unique_ptr<Elf, ElfCloser>;

// libelf's one-time handshake, before its first use in the process.
void init_libelf() {
  static std::once_flag once;
  std::call_once(once, [] { elf_version(EV_CURRENT); });
}

// An ELF object's program interpreter ("" without one); nullopt when its program headers
// cannot be read or the interpreter lies outside the file.
std::optional<std::string> interpreter_of(Elf* elf) {
  std::size_t count = 0;
  if (elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &count) != 0) return std::nullopt;
  std::size_t size = 0;
  const char* image = elf_rawfile(elf, &size);
  for (std::size_t i = 0; i < count; ++i) {
    GElf_Phdr header;
    if (gelf_getphdr(elf, static_cast<int>(i), &header) == nullptr) return std::nullopt;
    if (header.p_type != PT_INTERP) continue;
    if (image == nullptr || header.p_offset > size || header.p_filesz > size - header.p_offset) return std::nullopt;
    // The path ends at its NUL, which p_filesz counts.
    std::string_view text(image + header.p_offset, header.p_filesz);
    return std::string(text.substr(0, text.find('\0')));
  }
  return "";
}

// DT_RUNPATH, else DT_RPATH, of the object's dynamic section, split at ':'.
std::vector<std::string> search_path_of(Elf* elf) {
  std::string runpath, rpath;
  for (Elf_Scn* section = elf_nextscn(elf, nullptr); section != nullptr; section = elf_nextscn(elf, section)) {
    GElf_Shdr header;
    if (gelf_getshdr(section, &header) == nullptr || header.sh_type != SHT_DYNAMIC || header.sh_entsize == 0) continue;
    Elf_Data* data = elf_getdata(section, nullptr);
    if (data == nullptr) continue;
    for (std::size_t i = 0; i < header.sh_size / header.sh_entsize; ++i) {
      GElf_Dyn entry;
      if (gelf_getdyn(data, static_cast<int>(i), &entry) == nullptr) break;
      if (entry.d_tag != DT_RUNPATH && entry.d_tag != DT_RPATH) continue;
      const char* text = elf_strptr(elf, header.sh_link, entry.d_un.d_val);
      if (text != nullptr) (entry.d_tag == DT_RUNPATH ? runpath : rpath) = text;
    }
  }
  // The loader ignores DT_RPATH where DT_RUNPATH is present.
  const std::string& chosen = runpath.empty() ? rpath : runpath;
  std::vector<std::string> directories;
  for (std::size_t start = 0; start <= chosen.size() && !chosen.empty();) {
    std::size_t end = std::min(chosen.find(':', start), chosen.size());
    if (end > start) directories.push_back(chosen.substr(start, end - start));
    start = end + 1;
  }
  return directories;
}
}  // namespace

ElfLinking elf_linking(std::string_view image) {
  init_libelf();
  // libelf only reads an image opened with ELF_C_READ; its pointer is not const.
  ElfHandle elf(elf_memory(const_cast<char*>(image.data()), image.size()));
  if (!elf) return ElfLinking::not_elf;
  const auto interpreter = interpreter_of(elf.get());
  if (!interpreter) return ElfLinking::not_elf;
  return interpreter->empty() ? ElfLinking::static_ : ElfLinking::dynamic;
}

std::optional<ElfDynamic> read_elf_dynamic(const std::filesystem::path& file) {
  init_libelf();
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<ElfDynamic> dynamic;
  {
    ElfHandle elf(elf_begin(fd, ELF_C_READ_MMAP, nullptr));
    if (elf) {
      if (auto interpreter = interpreter_of(elf.get())) dynamic = ElfDynamic{*interpreter, search_path_of(elf.get())};
    }
  }
  ::close(fd);
  return dynamic;
}

}  // namespace provium::initramfs
