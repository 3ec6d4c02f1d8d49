#include "base/memory_size.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>

#include "provium/error.h"

namespace provium::base {
namespace {

// log2 of the unit a suffix names; a bare number is MiB, as QEMU reads it.
std::optional<int> unit_shift(std::string_view suffix) {
  if (suffix.empty()) return 20;
  if (suffix.size() != 1) return std::nullopt;
  switch (suffix[0]) {
    case 'K': case 'k': return 10;
    case 'M': case 'm': return 20;
    case 'G': case 'g': return 30;
    case 'T': case 't': return 40;
    default: return std::nullopt;
  }
}

}  // namespace

uint64_t parse_memory_size(std::string_view text) {
  uint64_t number = 0;
  const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), number);
  const std::optional<int> shift =
      status == std::errc{} ? unit_shift(text.substr(end - text.data())) : std::nullopt;
  if (status == std::errc::result_out_of_range ||
      (shift && number > std::numeric_limits<uint64_t>::max() >> *shift)) {
    throw Error(fmt::format("memory size '{}' is too large", text));
  }
  if (!shift) {
    throw Error(fmt::format(
        "bad memory size '{}': expected a number with an optional K, M, G or T suffix (MiB "
        "without one), like 512M or 2G", text));
  }
  if (number == 0) throw Error(fmt::format("memory size '{}' is zero", text));
  return number << *shift;
}

}  // namespace provium::base
