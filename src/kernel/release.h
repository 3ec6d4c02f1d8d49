// The release of a kernel image: the name of its /lib/modules directory.
#pragma once

#include <filesystem>
#include <string>

namespace provium::kernel {

// The release of an x86 bzImage ("6.1.0-56-cloud-amd64", the name of its /lib/modules
// directory), read from the kernel_version string of its boot header. Throws Error naming the
// file when it cannot be read or is not a bzImage with a version string.
std::string kernel_release(const std::filesystem::path& bzimage);

}  // namespace provium::kernel
