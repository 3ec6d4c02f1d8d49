#include "initramfs/kernel.h"

#include <fmt/format.h>

#include <cstdint>

#include <provium/error.h>

#include "initramfs/read_file.h"

namespace provium::initramfs {

namespace {
// The x86 boot protocol (Documentation/arch/x86/boot.rst): offsets into the image.
constexpr std::size_t kSetupHeaderMagic = 0x202;        // "HdrS"
constexpr std::size_t kProtocolVersion = 0x206;         // u16
constexpr std::size_t kKernelVersionPointer = 0x20E;    // u16, relative to 0x200
constexpr std::size_t kKernelVersionBase = 0x200;
constexpr std::size_t kHeaderEnd = kKernelVersionPointer + 2;
constexpr uint16_t kFirstProtocolWithVersion = 0x0200;
// The string starts at most 0x200 + 0xFFFF bytes in; its first word is far shorter than this.
constexpr std::size_t kMaxReleaseLength = 256;
constexpr std::size_t kBytesNeeded = kKernelVersionBase + 0xFFFF + kMaxReleaseLength;

uint16_t u16_le(const std::string& image, std::size_t offset) {
  return static_cast<uint16_t>(static_cast<unsigned char>(image[offset]) |
                               static_cast<unsigned char>(image[offset + 1]) << 8);
}

bool printable_word_char(char c) { return c > ' ' && c < 0x7F && c != '/'; }
}  // namespace

std::string kernel_release(const std::filesystem::path& bzimage) {
  std::string image = read_file(bzimage, "kernel", kBytesNeeded);
  auto fail = [&](std::string_view what) {
    return Error(fmt::format("kernel {}: {}", bzimage.string(), what));
  };

  if (image.size() < kHeaderEnd) {
    throw fail(fmt::format("too short for a bzImage ({} bytes)", image.size()));
  }
  if (image.compare(kSetupHeaderMagic, 4, "HdrS") != 0) {
    throw fail("not a bzImage (no \"HdrS\" boot header at 0x202)");
  }
  uint16_t protocol = u16_le(image, kProtocolVersion);
  if (protocol < kFirstProtocolWithVersion) {
    throw fail(fmt::format("boot protocol {}.{:02} is older than 2.00 and has no version string",
                           protocol >> 8, protocol & 0xFF));
  }
  uint16_t pointer = u16_le(image, kKernelVersionPointer);
  if (pointer == 0) throw fail("the boot header has no kernel version string");

  std::size_t start = kKernelVersionBase + pointer;
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

}  // namespace provium::initramfs
