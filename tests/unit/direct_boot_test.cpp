// Direct (PVH) boot: the payload of a bzImage found by its header, decompressed in each format
// the kernel build uses, and the PVH note found in the ELF. Synthetic images are built here with
// the same libraries in the compressing direction; the host's own kernel is checked too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <lz4.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <provium/error.h>

#include "base/files.h"
#include "kernel/direct_boot.h"
#include "kernel/kconfig.h"
#include "support/compress.h"

namespace provium::kernel {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

template <class T>
void put(std::string& out, std::size_t at, T value) {
  if (out.size() < at + sizeof value) out.resize(at + sizeof value, '\0');
  std::memcpy(out.data() + at, &value, sizeof value);
}

// An ELF64 with one PT_NOTE segment holding a note of `type` named "Xen".
std::string elf_with_note(uint32_t type) {
  std::string elf(64, '\0');
  std::memcpy(elf.data(), "\x7f" "ELF\x02\x01\x01", 7);
  put<uint64_t>(elf, 0x20, 64);  // program headers right after the header
  put<uint16_t>(elf, 0x36, 56);
  put<uint16_t>(elf, 0x38, 1);
  std::string note;
  put<uint32_t>(note, 0, 4);
  put<uint32_t>(note, 4, 4);
  put<uint32_t>(note, 8, type);
  note += std::string("Xen\0", 4) + std::string("\x00\x00\x10\x00", 4);
  const uint64_t note_at = 64 + 56;
  std::string header(56, '\0');
  put<uint32_t>(header, 0, 4);  // PT_NOTE
  put<uint64_t>(header, 0x08, note_at);
  put<uint64_t>(header, 0x20, note.size());
  elf += header + note;
  elf += std::string(4096, 'k');  // a body to compress
  return elf;
}

std::string appended_size(std::string payload, std::size_t size) {
  put<uint32_t>(payload, payload.size(), static_cast<uint32_t>(size));
  return payload;
}

std::string gzip(const std::string& data) { return testing::gzip(data); }  // its trailer ends with the size
std::string xz(const std::string& data) { return appended_size(testing::xz(data), data.size()); }

std::string lz4_legacy(const std::string& data) {
  std::string block(LZ4_compressBound(static_cast<int>(data.size())), '\0');
  const int size = LZ4_compress_default(data.data(), block.data(), static_cast<int>(data.size()),
                                        static_cast<int>(block.size()));
  std::string out("\x02\x21\x4c\x18", 4);
  put<uint32_t>(out, 4, static_cast<uint32_t>(size));
  out += block.substr(0, size);
  return appended_size(out, data.size());
}

std::string zstd(const std::string& data) { return appended_size(testing::zstd(data), data.size()); }

// A bzImage with boot protocol 2.15 and `payload` where its header says.
std::string bzimage(const std::string& payload) {
  std::string image(2 * 512, '\0');  // boot sector + one setup sector
  image[0x1f1] = 1;
  std::memcpy(image.data() + 0x202, "HdrS", 4);
  put<uint16_t>(image, 0x206, 0x020f);
  put<uint32_t>(image, 0x248, 0x100);  // the payload's offset in the protected-mode code
  put<uint32_t>(image, 0x24c, static_cast<uint32_t>(payload.size()));
  image += std::string(0x100, '\x90') + payload + std::string(64, '\0');
  return image;
}

// CONFIG_IKCONFIG: the configuration a kernel carries, gzip between two markers, found in the
// kernel that a bzImage holds.
TEST(EmbeddedConfig, IsReadFromTheKernelInsideABzImage) {
  const std::string config = "CONFIG_64BIT=y\n# CONFIG_VIRTIO_CONSOLE is not set\n";
  const std::string kernel = elf_with_note(18) + "IKCFG_ST" + gzip(config) + "IKCFG_ED" + std::string(64, '\0');
  EXPECT_EQ(provium::kernel::embedded_config(kernel), config);
  EXPECT_EQ(provium::kernel::embedded_config(elf_with_note(18)), std::nullopt);
  EXPECT_EQ(provium::kernel::embedded_config("IKCFG_ST not gzip IKCFG_ED"), std::nullopt);

  const auto dir = fs::temp_directory_path() / ("provium-ikconfig-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "bzImage", std::ios::binary) << bzimage(zstd(kernel));
  std::ofstream(dir / "plain", std::ios::binary) << bzimage(gzip(elf_with_note(18)));
  EXPECT_EQ(provium::kernel::embedded_config_of_image(dir / "bzImage"), config);
  EXPECT_EQ(provium::kernel::embedded_config_of_image(dir / "plain"), std::nullopt);
  EXPECT_EQ(provium::kernel::embedded_config_of_image(dir / "absent"), std::nullopt);
  fs::remove_all(dir);
}

TEST(DirectBoot, EveryCompressionRoundTrips) {
  const std::string elf = elf_with_note(18);
  for (const auto& [format, payload] : {std::pair{"gzip", gzip(elf)}, std::pair{"xz", xz(elf)},
                                        std::pair{"lz4", lz4_legacy(elf)}, std::pair{"zstd", zstd(elf)}}) {
    const std::string image = bzimage(payload);
    const Payload found = bzimage_payload(image);
    EXPECT_EQ(found.format, format);
    EXPECT_EQ(found.data.size(), payload.size()) << format;
    EXPECT_EQ(decompress(found), elf) << format;
  }
}

TEST(DirectBoot, PvhNoteIsFoundOnlyWhenThere) {
  EXPECT_TRUE(has_pvh_entry(elf_with_note(18)));
  EXPECT_FALSE(has_pvh_entry(elf_with_note(17)));
  EXPECT_FALSE(has_pvh_entry("not an elf"));
  std::string truncated = elf_with_note(18).substr(0, 100);
  EXPECT_FALSE(has_pvh_entry(truncated));
}

TEST(DirectBoot, BadImagesAreErrorsThatSayWhy) {
  EXPECT_THAT([] { bzimage_payload(std::string(4096, '\0')); }, ::testing::ThrowsMessage<Error>(HasSubstr("not a bzImage")));
  EXPECT_THAT([] { decompress(bzimage_payload(bzimage(appended_size("BZh91AY&SY", 100)))); },
              ::testing::ThrowsMessage<Error>(HasSubstr("bzip2-compressed kernel cannot be decompressed")));
  std::string corrupt = zstd(elf_with_note(18));
  corrupt[8] ^= 0x55;
  EXPECT_THROW(decompress(bzimage_payload(bzimage(corrupt))), Error);
  EXPECT_THAT([] { decompress(bzimage_payload(bzimage(appended_size(lz4_legacy("x"), 1u << 30)))); },
              ::testing::ThrowsMessage<Error>(HasSubstr("implausible uncompressed size")));
  std::string old_protocol = bzimage(gzip("x"));
  put<uint16_t>(old_protocol, 0x206, 0x0206);
  EXPECT_THAT([&] { bzimage_payload(old_protocol); }, ::testing::ThrowsMessage<Error>(HasSubstr("older than 2.08")));
  // Cut inside the 2.08+ header fields (0x248..0x24f), and without its magic.
  const std::string cut = bzimage(gzip("x")).substr(0, 0x24a);
  EXPECT_THAT([&] { bzimage_payload(cut); }, ::testing::ThrowsMessage<Error>(HasSubstr("too short for a bzImage of boot protocol 2.08+")));
  std::string unmarked = bzimage(gzip("x"));
  unmarked.replace(0x202, 4, "NoHd");
  EXPECT_THAT([&] { bzimage_payload(unmarked); }, ::testing::ThrowsMessage<Error>(HasSubstr("not a bzImage")));
  std::string outside = bzimage(gzip("x"));
  put<uint32_t>(outside, 0x24c, 1u << 30);
  EXPECT_THAT([&] { bzimage_payload(outside); }, ::testing::ThrowsMessage<Error>(HasSubstr("outside the image")));
  std::string overrun = lz4_legacy(elf_with_note(18));
  put<uint32_t>(overrun, 4, 1u << 20);  // the first block claims more than the payload holds
  EXPECT_THAT([&] { decompress(bzimage_payload(bzimage(overrun))); },
              ::testing::ThrowsMessage<Error>(HasSubstr("runs past the payload")));
  std::string short_xz = xz(elf_with_note(18));
  put<uint32_t>(short_xz, short_xz.size() - 4, 100);  // a recorded size smaller than the stream's
  EXPECT_THROW(decompress(bzimage_payload(bzimage(short_xz))), Error);
}

TEST(DirectBoot, ImageIsCachedAndAKernelWithoutPvhIsRefused) {
  const fs::path dir = fs::temp_directory_path() / ("provium-direct-boot-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "good", std::ios::binary) << bzimage(lz4_legacy(elf_with_note(18)));
  std::ofstream(dir / "no-pvh", std::ios::binary) << bzimage(gzip(elf_with_note(17)));
  std::string why;
  const auto image = pvh_image(dir / "good", dir, &why);
  ASSERT_TRUE(image) << why;
  EXPECT_EQ(base::read_file(*image, "image"), elf_with_note(18));
  EXPECT_EQ(pvh_image(dir / "good", dir, &why), image);
  EXPECT_FALSE(pvh_image(dir / "no-pvh", dir, &why));
  EXPECT_THAT(why, HasSubstr("no PVH entry"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace provium::kernel

// A KASAN kernel has a PVH entry but dies there before its first message (seen with Debian's
// 6.1 built with kconfig/debug.config): it must boot as a bzImage; any other may start there.
TEST(DirectBoot, AKasanKernelIsRefusedThePvhEntryAndOthersAreNot) {
  const auto kasan = provium::kernel::KernelConfig::parse("CONFIG_PVH=y\nCONFIG_KASAN=y\n", "test");
  const auto plain = provium::kernel::KernelConfig::parse("CONFIG_PVH=y\n# CONFIG_KASAN is not set\n", "test");
  EXPECT_THAT(provium::kernel::pvh_refusal(kasan), ::testing::Optional(::testing::HasSubstr("CONFIG_KASAN")));
  EXPECT_EQ(provium::kernel::pvh_refusal(plain), std::nullopt);
}
