// Whole streams of gzip, xz and zstd decompressed on the host, with Debian's libraries: a
// compressed kernel's payload, compressed kernel modules.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace provium::base {

// "gzip", "xz", "zstd" or "" from the stream's magic bytes.
std::string_view compression_of(std::string_view data);

// One stream of `format` ("gzip", "xz", "zstd") decompressed whole. Throws Error for another
// format, a corrupt or truncated stream, or a result longer than `limit` bytes.
std::string decompress(std::string_view format, std::string_view data, std::size_t limit);

}  // namespace provium::base
