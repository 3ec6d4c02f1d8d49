// Memory sizes as QEMU's -m takes them, so a size that works on QEMU's command line works here.
#pragma once

#include <cstdint>
#include <string_view>

namespace provium::base {

// "512M", "1G", "2048" (MiB when there is no suffix, like QEMU); suffixes K, M, G, T in any
// case. Returns bytes. Throws provium::Error on anything else, on 0 and on overflow.
uint64_t parse_memory_size(std::string_view text);

}  // namespace provium::base
