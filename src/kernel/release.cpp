#include "kernel/release.h"

#include <fmt/format.h>

#include <cstdint>

#include <provium/error.h>

#include "base/files.h"
#include "kernel/boot_header.h"

namespace provium::kernel {

namespace {
constexpr std::size_t kKernelVersionBase = 0x200;  // the version pointer counts from here
constexpr uint16_t kFirstProtocolWithVersion = 0x0200;
// The string starts at most 0x200 + 0xFFFF bytes in; its first word is far shorter than this.
constexpr std::size_t kMaxReleaseLength = 256;
constexpr std::size_t kBytesNeeded = kKernelVersionBase + 0xFFFF + kMaxReleaseLength;

bool printable_word_char(char c) { return c > ' ' && c < 0x7F && c != '/'; }
}  // namespace

std::string kernel_release(const std::filesystem::path& bzimage) {
  const std::string image = base::read_file(bzimage, "kernel", kBytesNeeded);
  auto fail = [&](std::string_view what) {
    return Error(fmt::format("kernel {}: {}", bzimage.string(), what));
  };
  BootHeader header;
  try {
    header = read_boot_header(image);
  } catch (const Error& error) {
    throw fail(error.what());
  }
  if (header.protocol < kFirstProtocolWithVersion) {
    throw fail(fmt::format("boot protocol {}.{:02} is older than 2.00 and has no version string",
                           header.protocol >> 8, header.protocol & 0xFF));
  }
  if (header.version_string == 0) throw fail("the boot header has no kernel version string");

  const std::size_t start = kKernelVersionBase + header.version_string;
  if (start >= image.size()) {
    throw fail(fmt::format("kernel version string at {:#x} is beyond the end of the file", start));
  }
  // The string is "RELEASE (builder) #1 SMP ..."; the release ends at the first space or NUL.
  std::size_t end = start;
  while (end < image.size() && printable_word_char(image[end])) ++end;
  if (end == image.size()) {
    throw fail(fmt::format("kernel version string at {:#x} is not terminated", start));
  }
  if (image[end] != ' ' && image[end] != '\0') {
    throw fail(fmt::format("kernel version string at {:#x} has an unexpected byte {:#04x}", start,
                           static_cast<unsigned char>(image[end])));
  }
  if (end == start) throw fail(fmt::format("kernel version string at {:#x} is empty", start));
  return image.substr(start, end - start);
}

}  // namespace provium::kernel
