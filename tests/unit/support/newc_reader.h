// Test helper: an independent reader of cpio "newc" archives, strict about the format, so that
// tests check what the writer produced rather than trusting it. Header-only, shared by the
// initramfs unit tests (tests/unit/{cpio,shim}_test.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace provium::testing {

struct NewcEntry {
  std::string name;
  uint32_t ino = 0, mode = 0, uid = 0, gid = 0, nlink = 0, mtime = 0;
  uint32_t devmajor = 0, devminor = 0, rdevmajor = 0, rdevminor = 0, check = 0;
  std::string data;  // file contents, or a symlink's target
};

// Every entry, the trailer included. Throws std::runtime_error on anything malformed: bad
// magic or hex, misaligned or non-zero padding, a name without its NUL, data past the end,
// bytes after the trailer.
inline std::vector<NewcEntry> read_newc(std::string_view archive) {
  auto fail = [](std::size_t offset, const std::string& what) {
    return std::runtime_error("newc at offset " + std::to_string(offset) + ": " + what);
  };
  auto take_padding = [&](std::size_t& offset) {
    while (offset % 4 != 0) {
      if (offset >= archive.size() || archive[offset] != '\0') {
        throw fail(offset, "padding missing or not zero");
      }
      ++offset;
    }
  };

  std::vector<NewcEntry> entries;
  std::size_t offset = 0;
  while (entries.empty() || entries.back().name != "TRAILER!!!") {
    constexpr std::size_t kHeader = 110;
    if (offset % 4 != 0) throw fail(offset, "header not 4-byte aligned");
    if (archive.size() - offset < kHeader) throw fail(offset, "truncated header");
    std::string_view header = archive.substr(offset, kHeader);
    if (header.substr(0, 6) != "070701") throw fail(offset, "bad magic");
    uint32_t fields[13];
    for (int i = 0; i < 13; ++i) {
      std::string hex(header.substr(6 + 8 * i, 8));
      if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
        throw fail(offset, "bad hex field " + hex);
      }
      fields[i] = static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
    }
    NewcEntry entry{.name = {}, .ino = fields[0], .mode = fields[1], .uid = fields[2],
                    .gid = fields[3], .nlink = fields[4], .mtime = fields[5],
                    .devmajor = fields[7], .devminor = fields[8], .rdevmajor = fields[9],
                    .rdevminor = fields[10], .check = fields[12], .data = {}};
    uint32_t file_size = fields[6], name_size = fields[11];
    offset += kHeader;
    if (name_size == 0 || archive.size() - offset < name_size) throw fail(offset, "bad name size");
    if (archive[offset + name_size - 1] != '\0') throw fail(offset, "name not NUL-terminated");
    entry.name = std::string(archive.substr(offset, name_size - 1));
    offset += name_size;
    take_padding(offset);
    if (archive.size() - offset < file_size) throw fail(offset, "data past the end");
    entry.data = std::string(archive.substr(offset, file_size));
    offset += file_size;
    take_padding(offset);
    entries.push_back(std::move(entry));
  }
  if (offset != archive.size()) throw fail(offset, "bytes after the trailer");
  return entries;
}

// The entries by name, without the trailer; a later entry of the same name wins, as in the
// kernel.
inline std::map<std::string, NewcEntry> newc_by_name(std::string_view archive) {
  std::map<std::string, NewcEntry> by_name;
  for (NewcEntry& entry : read_newc(archive)) {
    if (entry.name != "TRAILER!!!") by_name[entry.name] = std::move(entry);
  }
  return by_name;
}

}  // namespace provium::testing
