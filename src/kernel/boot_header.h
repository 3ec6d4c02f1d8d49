// The setup header of an x86 bzImage (the boot protocol, Documentation/arch/x86/boot.rst): the
// one place that reads its fields, for the kernel's release and for its compressed payload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace provium::kernel {

// A little-endian integer at `offset` of `data` (the caller checks the bounds).
template <class T>
T read_le(std::string_view data, std::size_t offset) {
  T value{};
  std::memcpy(&value, data.data() + offset, sizeof value);  // x86 hosts: little-endian
  return value;
}

struct BootHeader {
  uint16_t protocol = 0;        // 0x0206 for 2.06
  uint16_t version_string = 0;  // the kernel_version pointer, relative to 0x200; 0: none
  // The protected-mode part: where the setup sectors end.
  std::size_t protected_mode_offset = 0;
  // Protocol 2.08 and later (else both 0): the compressed payload, relative to the
  // protected-mode part.
  uint32_t payload_offset = 0;
  uint32_t payload_length = 0;
};

// The header of the image whose first bytes are `image` (at least 0x250 of them for protocol
// 2.08+). Throws Error ("too short for a bzImage", "not a bzImage") when it has none.
BootHeader read_boot_header(std::string_view image);

}  // namespace provium::kernel
