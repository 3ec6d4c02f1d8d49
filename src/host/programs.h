// Programs of the host that Provium runs (QEMU, setpriv).
#pragma once

#include <filesystem>
#include <string>

namespace provium::host {

// The path of `program` (a name looked up in PATH, or a path), or empty when not executable.
std::filesystem::path find_executable(const std::string& program);

}  // namespace provium::host
