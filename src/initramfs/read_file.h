// Reading host files that go into an initramfs, with errors that say which file and why.
#pragma once

#include <cstddef>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>

namespace provium::initramfs {

// The contents of `file`, or its first `limit` bytes. `what` names the file's role in errors:
// read_file("/x", "kernel") throws Error "kernel /x: No such file or directory".
std::string read_file(const std::filesystem::path& file, std::string_view what,
                      std::size_t limit = std::numeric_limits<std::size_t>::max());

}  // namespace provium::initramfs
