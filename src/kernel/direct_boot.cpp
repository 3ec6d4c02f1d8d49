// The kernel inside a bzImage, decompressed on the host for a PVH boot (direct_boot.h).
#include "kernel/direct_boot.h"

#include <fmt/format.h>
#include <lz4.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>

#include <provium/error.h>

#include "base/decompress.h"
#include "base/files.h"
#include "kernel/boot_header.h"

namespace provium::kernel {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kMaxKernel = 512u << 20;  // a larger "uncompressed size" is not a kernel

// The size the kernel build appends to every compressed payload (little-endian u32).
uint32_t recorded_size(std::string_view data) {
  if (data.size() < 8) throw Error("the payload is too short");
  const auto size = read_le<uint32_t>(data, data.size() - 4);
  if (size == 0 || size > kMaxKernel) throw Error(fmt::format("implausible uncompressed size {}", size));
  return size;
}

// LZ4's legacy frame (lz4 -l): a magic, then blocks of [compressed size u32][data], each
// at most 8 MiB decompressed.
std::string decode_lz4_legacy(std::string_view data, uint32_t size) {
  std::string out(size, '\0');
  std::size_t in = 4, produced = 0;
  const std::size_t end = data.size() - 4;  // the appended size is not a block
  while (in + 4 <= end && produced < size) {
    const auto block = read_le<uint32_t>(data, in);
    in += 4;
    if (block == 0x184C2102) continue;  // a concatenated frame's magic
    if (block > end - in) throw Error("lz4: a block runs past the payload");
    const int made = LZ4_decompress_safe(data.data() + in, out.data() + produced, static_cast<int>(block),
                                         static_cast<int>(size - produced));
    if (made < 0) throw Error("lz4: corrupt block");
    produced += static_cast<std::size_t>(made);
    in += block;
  }
  if (produced != size) throw Error(fmt::format("lz4: {} bytes decompressed, {} recorded", produced, size));
  return out;
}

// What pvh_image found for one bzImage, so that later boots in this process only stat it.
struct Known {
  std::optional<fs::path> image;
  std::string why;
};

}  // namespace

Payload bzimage_payload(std::string_view image) {
  const BootHeader header = read_boot_header(image);
  if (header.protocol < 0x0208) throw Error("boot protocol older than 2.08: no payload fields");
  const std::size_t offset = header.protected_mode_offset + header.payload_offset;
  const std::size_t length = header.payload_length;
  if (offset > image.size() || length > image.size() - offset) throw Error("the payload lies outside the image");
  const auto data = image.substr(offset, length);
  const auto starts = [&](std::string_view magic) { return data.substr(0, magic.size()) == magic; };
  std::string format = "unknown";
  if (starts("\x1f\x8b")) format = "gzip";
  else if (starts(std::string_view("\xfd" "7zXZ\0", 6))) format = "xz";
  else if (starts("\x02\x21\x4c\x18")) format = "lz4";
  else if (starts("\x28\xb5\x2f\xfd")) format = "zstd";
  else if (starts("BZh")) format = "bzip2";
  else if (starts(std::string_view("\x5d\0\0", 3))) format = "lzma";
  else if (starts("\x89LZO")) format = "lzo";
  return {format, data};
}

std::string decompress(const Payload& payload) {
  const uint32_t size = recorded_size(payload.data);
  if (payload.format == "lz4") return decode_lz4_legacy(payload.data, size);
  if (payload.format != "gzip" && payload.format != "xz" && payload.format != "zstd")
    throw Error(fmt::format("a {}-compressed kernel cannot be decompressed here (gzip, xz, lz4, zstd)", payload.format));
  // gzip's own trailer ends with the size; xz and zstd streams have it appended after them.
  const auto stream = payload.format == "gzip" ? payload.data : payload.data.substr(0, payload.data.size() - 4);
  std::string kernel = base::decompress(payload.format, stream, size);
  if (kernel.size() != size)
    throw Error(fmt::format("{}: {} bytes decompressed, {} recorded", payload.format, kernel.size(), size));
  return kernel;
}

bool has_pvh_entry(std::string_view elf) {
  if (elf.size() < 64 || elf.substr(0, 4) != "\x7f" "ELF" || elf[4] != 2 /* 64-bit */) return false;
  const auto program_headers = read_le<uint64_t>(elf, 0x20);
  const auto entry_size = read_le<uint16_t>(elf, 0x36);
  const auto count = read_le<uint16_t>(elf, 0x38);
  if (entry_size < 56 || program_headers > elf.size() || count > (elf.size() - program_headers) / entry_size)
    return false;
  constexpr uint32_t kNoteSegment = 4, kPhys32Entry = 18;
  for (uint16_t i = 0; i < count; ++i) {
    const std::size_t header = program_headers + std::size_t{i} * entry_size;
    if (read_le<uint32_t>(elf, header) != kNoteSegment) continue;
    const auto offset = read_le<uint64_t>(elf, header + 0x08);
    const auto size = read_le<uint64_t>(elf, header + 0x20);
    if (offset > elf.size() || size > elf.size() - offset) continue;
    std::size_t at = offset;
    const std::size_t end = offset + size;
    while (at + 12 <= end) {
      const auto name_size = read_le<uint32_t>(elf, at);
      const auto desc_size = read_le<uint32_t>(elf, at + 4);
      const auto type = read_le<uint32_t>(elf, at + 8);
      const std::size_t name_at = at + 12;
      const std::size_t desc_at = name_at + ((std::size_t{name_size} + 3) & ~std::size_t{3});
      const std::size_t next = desc_at + ((std::size_t{desc_size} + 3) & ~std::size_t{3});
      if (next > end || next <= at) break;
      if (type == kPhys32Entry && name_size == 4 && elf.substr(name_at, 4) == std::string_view("Xen\0", 4))
        return true;
      at = next;
    }
  }
  return false;
}

std::optional<std::string> pvh_refusal(const KernelConfig& config) {
  if (config.enabled("CONFIG_KASAN"))
    return "a KASAN kernel (CONFIG_KASAN) dies before its first message when started at its PVH entry";
  return std::nullopt;
}

std::optional<fs::path> pvh_image(const fs::path& bzimage, const fs::path& cache_dir, std::string* why) {
  struct stat file {};
  if (::stat(bzimage.c_str(), &file) != 0) {
    *why = fmt::format("{}: {}", bzimage.string(), std::strerror(errno));
    return std::nullopt;
  }
  // The bzImage's identity without reading it: device, inode, size and modification time. It names
  // the cached ELF, so that a process finds it with a stat instead of reading 10+ MB.
  const std::string identity = fmt::format("{:x}-{:x}-{}-{}.{:09}", file.st_dev, file.st_ino, file.st_size,
                                           file.st_mtim.tv_sec, file.st_mtim.tv_nsec);
  static std::mutex mutex;
  static std::map<std::string, Known> known;  // by identity: each boot asks again
  {
    std::lock_guard lock(mutex);
    if (auto it = known.find(identity); it != known.end()) {
      *why = it->second.why;
      return it->second.image;
    }
  }
  Known result;
  const fs::path target = cache_dir / (identity + ".elf");
  const fs::path temporary = target.string() + fmt::format(".tmp-{}", ::getpid());
  try {
    if (!fs::is_regular_file(target)) {
      const std::string elf = decompress(bzimage_payload(base::read_file(bzimage, "kernel")));
      if (!has_pvh_entry(elf)) throw Error("the kernel has no PVH entry (CONFIG_PVH)");
      {
        std::ofstream out(temporary, std::ios::binary);
        out.write(elf.data(), static_cast<std::streamsize>(elf.size()));
        if (!out.flush()) throw Error(fmt::format("cannot write {}", temporary.string()));
      }
      fs::rename(temporary, target);  // concurrent makers each rename a whole file of their own
    } else {
      // Its time says when it was last used: the cache's pruning removes the least recent first.
      std::error_code ignored;
      fs::last_write_time(target, fs::file_time_type::clock::now(), ignored);
    }
    result.image = target;
  } catch (const std::exception& failure) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    result.why = failure.what();
  }
  *why = result.why;
  std::lock_guard lock(mutex);
  return known.emplace(identity, result).first->second.image;
}

}  // namespace provium::kernel
