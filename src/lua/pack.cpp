// provium.pack / provium.unpack (docs/lua.md, "`provium`"), independent of Lua so that it is unit-tested.
#include "lua/pack.h"

#include <fmt/format.h>

#include <provium/error.h>

namespace provium::lua {

namespace {

struct Field {
  std::string_view name;
  int bytes;
  bool is_signed;
};

std::vector<Field> parse(std::string_view format, std::string_view function) {
  static constexpr Field kKnown[] = {{"u8", 1, false},  {"u16", 2, false}, {"i16", 2, true},
                                     {"u32", 4, false}, {"i32", 4, true},  {"u64", 8, false},
                                     {"i64", 8, true}};
  std::vector<Field> fields;
  std::size_t position = 0;
  while (position < format.size()) {
    if (format[position] == ' ') {
      ++position;
      continue;
    }
    const auto end = std::min(format.find(' ', position), format.size());
    const auto spec = format.substr(position, end - position);
    bool found = false;
    for (const auto& field : kKnown)
      if (field.name == spec) {
        fields.push_back(field);
        found = true;
      }
    if (!found)
      throw Error(fmt::format("{}: unknown spec '{}' in \"{}\" (known: u8 u16 i16 u32 i32 u64 i64)",
                              function, spec, format));
    position = end;
  }
  return fields;
}

bool fits(const Field& field, int64_t value) {
  // A Lua integer always fits 64 bits; for u64 a negative one stands for its two's complement.
  if (field.bytes == 8) return true;
  const int bits = field.bytes * 8;
  if (field.is_signed) return value >= -(int64_t{1} << (bits - 1)) && value < (int64_t{1} << (bits - 1));
  return value >= 0 && value < (int64_t{1} << bits);
}

}  // namespace

std::string pack_values(std::string_view format, std::span<const int64_t> values) {
  const auto fields = parse(format, "pack");
  if (fields.size() != values.size())
    throw Error(fmt::format("pack: \"{}\" takes {} values, {} given", format, fields.size(), values.size()));
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!fits(fields[i], values[i]))
      throw Error(fmt::format("pack: value {} ({}) does not fit {}", i + 1, values[i], fields[i].name));
    const auto bits = static_cast<uint64_t>(values[i]);
    for (int b = 0; b < fields[i].bytes; ++b) out.push_back(static_cast<char>((bits >> (8 * b)) & 0xff));
  }
  return out;
}

std::vector<int64_t> unpack_values(std::string_view format, std::string_view data) {
  const auto fields = parse(format, "unpack");
  std::size_t needed = 0;
  for (const auto& field : fields) needed += field.bytes;
  if (data.size() < needed)
    throw Error(fmt::format("unpack: \"{}\" needs {} bytes, {} given", format, needed, data.size()));
  std::vector<int64_t> values;
  std::size_t offset = 0;
  for (const auto& field : fields) {
    uint64_t bits = 0;
    for (int b = 0; b < field.bytes; ++b)
      bits |= static_cast<uint64_t>(static_cast<unsigned char>(data[offset + b])) << (8 * b);
    offset += field.bytes;
    const int width = field.bytes * 8;
    if (field.is_signed && width < 64 && (bits >> (width - 1)) & 1) bits |= ~uint64_t{0} << width;
    values.push_back(static_cast<int64_t>(bits));
  }
  return values;
}

}  // namespace provium::lua
