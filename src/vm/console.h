// Reading the guest's serial console log: its tail, and what the guest's wrapper said in it.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace provium::vm {

// The last `lines` lines of the console log (reads only the end of the file).
std::string console_tail(const std::filesystem::path& log, std::size_t lines);

// The lines in which the guest's wrapper (the initramfs's first program) says what it could not
// do ("provium-wrapper: cannot exec init /sbin/init: No such file or directory"), each ending
// with a newline; empty when it said nothing.
std::string wrapper_complaints(std::string_view console);

}  // namespace provium::vm
