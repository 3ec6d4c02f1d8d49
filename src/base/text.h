// Small text helpers shared by the library and the provium command.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace provium::base {

// The last `lines` lines of a text (trailing line ends dropped, a serial console's CR too).
std::string last_lines(std::string_view text, std::size_t lines);

// "1 file", "3 files".
std::string plural(long long n, std::string_view one, std::string_view many);

// A size in bytes the way a person reads it: "512 KiB", "96.4 MiB", "20.0 GiB".
std::string size_text(unsigned long long bytes);

}  // namespace provium::base
