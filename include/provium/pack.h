// Little-endian packing of integers into byte strings, for syscall and ioctl structs:
//   std::string spec = provium::pack<uint32_t, uint32_t, uint64_t>(1, 2, 3);
//   auto [a, b, c] = provium::unpack<uint32_t, uint32_t, uint64_t>(data);
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include <provium/error.h>

namespace provium {

namespace detail {
template <std::integral T>
void put_le(std::string& out, T value) {
  using U = std::make_unsigned_t<T>;
  auto bits = static_cast<U>(value);
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

template <std::integral T>
T get_le(std::string_view data, std::size_t& offset) {
  using U = std::make_unsigned_t<T>;
  U bits = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    bits |= static_cast<U>(static_cast<unsigned char>(data[offset + i])) << (8 * i);
  offset += sizeof(T);
  return static_cast<T>(bits);
}
}  // namespace detail

// The values' bytes, each little-endian at its type's width, without padding.
template <std::integral... T>
std::string pack(T... values) {
  std::string out;
  out.reserve((sizeof(T) + ... + 0));
  (detail::put_le<T>(out, values), ...);
  return out;
}

// The inverse of pack. Throws Error when `data` is shorter than the types need; extra bytes
// after them are ignored (a struct's tail often is).
template <std::integral... T>
std::tuple<T...> unpack(std::string_view data) {
  constexpr std::size_t needed = (sizeof(T) + ... + 0);
  if (data.size() < needed)
    throw Error("unpack: " + std::to_string(data.size()) + " bytes given, " +
                std::to_string(needed) + " needed");
  std::size_t offset = 0;
  return std::tuple<T...>{detail::get_le<T>(data, offset)...};
}

}  // namespace provium
