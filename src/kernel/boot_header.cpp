#include "kernel/boot_header.h"

#include <fmt/format.h>

#include <provium/error.h>

namespace provium::kernel {

namespace {
constexpr std::size_t kSetupSectors = 0x1F1;    // u8; 0 means 4
constexpr std::size_t kMagic = 0x202;           // "HdrS"
constexpr std::size_t kProtocol = 0x206;        // u16
constexpr std::size_t kVersionString = 0x20E;   // u16
constexpr std::size_t kPayloadOffset = 0x248;   // u32, protocol 2.08+
constexpr std::size_t kPayloadLength = 0x24C;   // u32, protocol 2.08+
constexpr std::size_t kHeaderEnd = kVersionString + 2;
constexpr std::size_t kPayloadFieldsEnd = kPayloadLength + 4;
constexpr uint16_t kFirstProtocolWithPayload = 0x0208;
}  // namespace

BootHeader read_boot_header(std::string_view image) {
  if (image.size() < kHeaderEnd)
    throw Error(fmt::format("too short for a bzImage ({} bytes)", image.size()));
  if (image.substr(kMagic, 4) != "HdrS") throw Error("not a bzImage (no \"HdrS\" boot header at 0x202)");
  BootHeader header;
  header.protocol = read_le<uint16_t>(image, kProtocol);
  header.version_string = read_le<uint16_t>(image, kVersionString);
  const unsigned setup_sectors = static_cast<unsigned char>(image[kSetupSectors]);
  header.protected_mode_offset = (setup_sectors == 0 ? 4 : setup_sectors) * 512u + 512u;
  if (header.protocol >= kFirstProtocolWithPayload) {
    if (image.size() < kPayloadFieldsEnd)
      throw Error(fmt::format("too short for a bzImage of boot protocol 2.08+ ({} bytes)", image.size()));
    header.payload_offset = read_le<uint32_t>(image, kPayloadOffset);
    header.payload_length = read_le<uint32_t>(image, kPayloadLength);
  }
  return header;
}

}  // namespace provium::kernel
