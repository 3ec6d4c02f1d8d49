#include "initramfs/busybox.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <system_error>

#include <provium/error.h>

#include "base/capture_output.h"
#include "initramfs/cpio.h"
#include "initramfs/elf.h"
#include "base/files.h"

namespace provium::initramfs {

namespace fs = std::filesystem;

namespace {
constexpr std::string_view kGuestPath = "bin/busybox";

struct Directory {
  std::string_view path;
  uint32_t mode;
};
constexpr Directory kDirectories[] = {
    {"bin", 0755}, {"sbin", 0755}, {"usr", 0755},  {"usr/bin", 0755}, {"usr/sbin", 0755},
    {"etc", 0755}, {"root", 0700}, {"tmp", 01777}, {"dev", 0755},     {"proc", 0755},
    {"sys", 0755}, {"run", 0755},  {"var", 0755},
};

// The binary, checked: it must run in a guest that has nothing else.
std::string read_static_busybox(const fs::path& busybox) {
  std::error_code error;
  if (!fs::exists(busybox, error)) {
    throw PrerequisiteError(
        fmt::format("busybox not found at {}; install busybox-static", busybox.string()));
  }
  std::string binary = base::read_file(busybox, "busybox");
  switch (elf_linking(binary)) {
    case ElfLinking::not_elf:
      throw PrerequisiteError(fmt::format(
          "busybox at {} is not an ELF executable; install busybox-static", busybox.string()));
    case ElfLinking::dynamic:
      throw PrerequisiteError(fmt::format(
          "busybox at {} is dynamically linked and would not run in the guest; install "
          "busybox-static",
          busybox.string()));
    case ElfLinking::static_:
      break;
  }
  return binary;
}

std::string build_rootfs(const fs::path& busybox) {
  std::string binary = read_static_busybox(busybox);
  // The binary itself knows its applets and where they belong: "bin/sh", "usr/sbin/chroot".
  std::string applets = base::capture_output({busybox.string(), "--list-full"});

  CpioWriter cpio;
  std::set<std::string, std::less<>> directories;
  for (const Directory& directory : kDirectories) {
    cpio.add_directory(directory.path, directory.mode);
    directories.emplace(directory.path);
  }
  cpio.add_file(kGuestPath, binary, 0755);
  // The everyday questions a test asks (whoami, id -un, ls -l's owners, hostname) get answers:
  // root and nobody, and a name that provium-init gives the kernel at its start.
  cpio.add_file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", 0644);
  cpio.add_file("etc/group", "root:x:0:\nnobody:x:65534:\n", 0644);
  cpio.add_file("etc/hostname", "provium\n", 0644);

  for (std::size_t start = 0; start < applets.size();) {
    std::size_t end = std::min(applets.find('\n', start), applets.size());
    std::string_view applet = std::string_view(applets).substr(start, end - start);
    start = end + 1;
    if (applet.empty() || applet == kGuestPath) continue;
    // Builds differ; an applet may live in a directory not made above.
    for (std::size_t slash = applet.find('/'); slash != std::string_view::npos;
         slash = applet.find('/', slash + 1)) {
      if (directories.emplace(applet.substr(0, slash)).second) {
        cpio.add_directory(applet.substr(0, slash), 0755);
      }
    }
    cpio.add_symlink(applet, "/bin/busybox");
  }
  return cpio.finish();
}
}  // namespace

std::string busybox_rootfs(const fs::path& busybox) {
  // Building reads ~2 MB and runs busybox; every VM of the default profile needs the same
  // archive. A failure is not cached: the next call tries again.
  static std::mutex mutex;
  static std::map<fs::path, std::string> cache;
  std::lock_guard lock(mutex);
  auto cached = cache.find(busybox);
  if (cached == cache.end()) cached = cache.emplace(busybox, build_rootfs(busybox)).first;
  return cached->second;
}

}  // namespace provium::initramfs
