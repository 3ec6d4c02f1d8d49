// provium.pack / provium.unpack: space-separated specs u8 u16 i16 u32 i32 u64 i64, little-endian.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace provium::lua {

// Throws Error for an unknown spec, a count mismatch or a value out of its type's range.
std::string pack_values(std::string_view format, std::span<const int64_t> values);
// Throws Error when `data` is shorter than the format; extra bytes are ignored. A u64 above
// INT64_MAX comes back negative (Lua integers are signed 64-bit).
std::vector<int64_t> unpack_values(std::string_view format, std::string_view data);

}  // namespace provium::lua
