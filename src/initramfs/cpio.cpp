#include "initramfs/cpio.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <limits>

#include <provium/error.h>

namespace provium::initramfs {

namespace {
constexpr std::string_view kMagic = "070701";
constexpr std::string_view kTrailer = "TRAILER!!!";

// The stored form of `path`: without leading '/'. The kernel refuses names over PATH_MAX
// (counting the NUL), and ".." could place a file outside the root it unpacks into. A ".."
// inside a name ("a..b") is an ordinary name and allowed.
std::string_view stored_path(std::string_view path) {
  std::string_view stored = path.substr(std::min(path.find_first_not_of('/'), path.size()));
  if (stored.empty()) throw Error(fmt::format("cpio entry \"{}\": empty path", path));
  // The kernel stops unpacking at an entry of this name, whatever its type.
  if (stored == kTrailer) throw Error(fmt::format("cpio entry \"{}\": reserved name", path));
  if (stored.find('\0') != std::string_view::npos) {
    throw Error(fmt::format("cpio entry \"{}\": path contains a NUL byte", path));
  }
  if (stored.size() + 1 > PATH_MAX) {
    throw Error(fmt::format("cpio entry \"{}…\": path of {} bytes is over PATH_MAX ({})",
                            path.substr(0, 64), path.size(), PATH_MAX));
  }
  for (std::size_t start = 0; start <= stored.size();) {
    std::size_t end = std::min(stored.find('/', start), stored.size());
    if (stored.substr(start, end - start) == "..") {
      throw Error(fmt::format("cpio entry \"{}\": path contains \"..\"", path));
    }
    start = end + 1;
  }
  return stored;
}

uint32_t checked_permissions(std::string_view path, uint32_t mode) {
  if ((mode & ~07777u) != 0) {
    throw Error(fmt::format("cpio entry \"{}\": mode {:#o} has bits beyond 07777", path, mode));
  }
  return mode;
}

// newc aligns the header with its name, and the data, to 4 bytes from the archive's start.
void pad_to_4(std::string& archive) { archive.append((4 - archive.size() % 4) % 4, '\0'); }
}  // namespace

void CpioWriter::add_directory(std::string_view path, uint32_t mode) {
  append({.path = stored_path(path), .mode = S_IFDIR | checked_permissions(path, mode), .nlink = 2},
         next_inode_++);
}

void CpioWriter::add_file(std::string_view path, std::string_view data, uint32_t mode) {
  std::string_view stored = stored_path(path);
  if (data.size() > std::numeric_limits<uint32_t>::max()) {
    throw Error(fmt::format("cpio entry \"{}\": {} bytes is over the 4 GiB newc limit", path,
                            data.size()));
  }
  // nlink 1: the kernel treats entries with nlink >= 2 as hard links to earlier ones.
  append({.path = stored, .mode = S_IFREG | checked_permissions(path, mode), .data = data},
         next_inode_++);
}

void CpioWriter::add_symlink(std::string_view path, std::string_view target) {
  std::string_view stored = stored_path(path);
  if (target.empty() || target.find('\0') != std::string_view::npos || target.size() >= PATH_MAX) {
    throw Error(fmt::format("cpio entry \"{}\": invalid symlink target \"{}\"", path,
                            target.substr(0, 64)));
  }
  append({.path = stored, .mode = S_IFLNK | 0777, .data = target}, next_inode_++);
}

void CpioWriter::add_char_device(std::string_view path, uint32_t major, uint32_t minor,
                                 uint32_t mode) {
  append({.path = stored_path(path),
          .mode = S_IFCHR | checked_permissions(path, mode),
          .rdev_major = major,
          .rdev_minor = minor},
         next_inode_++);
}

void CpioWriter::append(const Entry& entry, uint32_t inode) {
  // Fields after the magic: ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
  // rdevmajor, rdevminor, namesize (with the NUL), check (always 0 in "070701").
  uint32_t fields[] = {inode,
                       entry.mode,
                       0,
                       0,
                       entry.nlink,
                       0,
                       static_cast<uint32_t>(entry.data.size()),
                       0,
                       0,
                       entry.rdev_major,
                       entry.rdev_minor,
                       static_cast<uint32_t>(entry.path.size() + 1),
                       0};
  archive_ += kMagic;
  for (uint32_t field : fields) archive_ += fmt::format("{:08X}", field);
  archive_ += entry.path;
  archive_ += '\0';
  pad_to_4(archive_);
  archive_ += entry.data;
  pad_to_4(archive_);
}

std::string CpioWriter::finish() {
  append({.path = kTrailer, .mode = 0}, 0);
  std::string archive = std::move(archive_);
  archive_.clear();
  next_inode_ = 1;
  return archive;
}

}  // namespace provium::initramfs
