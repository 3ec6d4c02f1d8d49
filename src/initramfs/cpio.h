// Writer of cpio "newc" archives, the format the kernel unpacks as an initramfs
// (Documentation/driver-api/early-userspace/buffer-format.rst).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace provium::initramfs {

// Entries are stored in the order they are added; the kernel creates them in that order, so a
// directory must come before what it contains, and a later entry replaces an earlier one.
// Paths lose their leading '/'. Owner root, mtime 0 (the same input gives the same bytes), a
// fresh inode number per entry. Modes are the permission bits (at most 07777); the file type
// comes from the method. Invalid paths and modes throw Error naming the path.
class CpioWriter {
 public:
  void add_directory(std::string_view path, uint32_t mode = 0755);
  void add_file(std::string_view path, std::string_view data, uint32_t mode = 0644);
  void add_symlink(std::string_view path, std::string_view target);
  void add_char_device(std::string_view path, uint32_t major, uint32_t minor,
                       uint32_t mode = 0600);

  // The archive: the entries added so far and the TRAILER!!! entry. The writer is then empty.
  std::string finish();

 private:
  struct Entry {
    std::string_view path;  // already validated
    uint32_t mode = 0;      // file type and permissions
    uint32_t nlink = 1;
    std::string_view data = {};
    uint32_t rdev_major = 0;
    uint32_t rdev_minor = 0;
  };
  void append(const Entry& entry, uint32_t inode);

  std::string archive_;
  uint32_t next_inode_ = 1;
};

}  // namespace provium::initramfs
