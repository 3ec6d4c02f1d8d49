// Reading the kernel release from a bzImage's boot header.
#include "kernel/release.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include <provium/error.h>

#include "support/prerequisite.h"
#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using provium::kernel::kernel_release;
using provium::testing::TempDir;

std::optional<fs::path> newest_installed_kernel() {
  std::optional<fs::path> newest;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator("/boot", error)) {
    if (!entry.path().filename().string().starts_with("vmlinuz-")) continue;
    if (!newest || entry.last_write_time() > fs::last_write_time(*newest)) newest = entry.path();
  }
  return newest;
}

// A minimal image with the x86 boot header fields kernel_release reads.
std::string fake_bzimage(std::string_view version, uint16_t protocol = 0x020F,
                         std::optional<uint16_t> pointer = std::nullopt) {
  constexpr std::size_t kVersionAt = 0x3C0;
  std::string image(kVersionAt, '\0');
  image.replace(0x202, 4, "HdrS");
  auto put_u16 = [&](std::size_t offset, uint16_t value) {
    image[offset] = static_cast<char>(value & 0xFF);
    image[offset + 1] = static_cast<char>(value >> 8);
  };
  put_u16(0x206, protocol);
  put_u16(0x20E, pointer.value_or(kVersionAt - 0x200));
  image += version;
  return image;
}

// kernel_release(file) throws an Error whose message names the file and says `what`.
void expect_error(const fs::path& file, const std::string& what) {
  EXPECT_THAT([&] { return kernel_release(file); },
              ::testing::ThrowsMessage<provium::Error>(::testing::AllOf(
                  ::testing::HasSubstr("kernel " + file.string()), ::testing::HasSubstr(what))));
}

TEST(KernelRelease, OfTheInstalledKernelNamesItsModulesDirectory) {
  std::optional<fs::path> kernel = newest_installed_kernel();
  PROVIUM_TEST_NEEDS(kernel, "a kernel, /boot/vmlinuz-* (Debian: linux-image-cloud-amd64)");
  if (::access(kernel->c_str(), R_OK) != 0) {
    GTEST_SKIP() << *kernel << " is not readable by this user (some distributions make it "
                                  "root-only)";
  }

  std::string release = kernel_release(*kernel);

  EXPECT_EQ("vmlinuz-" + release, kernel->filename().string());
  if (fs::exists("/lib/modules")) {
    EXPECT_TRUE(fs::is_directory(fs::path("/lib/modules") / release)) << release;
  }
}

TEST(KernelRelease, IsTheFirstWordOfTheVersionString) {
  TempDir dir;
  std::string version("6.9.0-test (me@host) #1 SMP\0", 28);
  fs::path image = dir.write("bzImage", fake_bzimage(version));
  EXPECT_EQ(kernel_release(image), "6.9.0-test");
}

TEST(KernelRelease, EndsAtTheNul) {
  TempDir dir;
  fs::path image = dir.write("bzImage", fake_bzimage(std::string("5.10.0-rc1\0more", 15)));
  EXPECT_EQ(kernel_release(image), "5.10.0-rc1");
}

TEST(KernelRelease, MissingFile) {
  TempDir dir;
  expect_error(dir.path() / "vmlinuz-missing", "No such file or directory");
}

TEST(KernelRelease, Directory) {
  TempDir dir;
  expect_error(dir.path(), "Is a directory");
}

TEST(KernelRelease, TruncatedFile) {
  TempDir dir;
  expect_error(dir.write("truncated", fake_bzimage("6.1.0 ").substr(0, 0x100)), "too short");
}

TEST(KernelRelease, NotABzImage) {
  TempDir dir;
  expect_error(dir.write("zeros", std::string(4096, '\0')), "not a bzImage");
  expect_error(dir.write("text", std::string(4096, 'x')), "not a bzImage");
}

TEST(KernelRelease, BootProtocolTooOld) {
  TempDir dir;
  expect_error(dir.write("old", fake_bzimage("2.4.0 ", 0x0105)), "older than 2.00");
}

TEST(KernelRelease, NoVersionString) {
  TempDir dir;
  expect_error(dir.write("none", fake_bzimage("6.1.0 ", 0x020F, 0)), "no kernel version string");
}

TEST(KernelRelease, VersionStringBeyondTheEnd) {
  TempDir dir;
  expect_error(dir.write("beyond", fake_bzimage("6.1.0 ", 0x020F, 0xFF00)), "beyond the end");
}

TEST(KernelRelease, VersionStringNotTerminated) {
  TempDir dir;
  expect_error(dir.write("unterminated", fake_bzimage("6.1.0")), "not terminated");
}

TEST(KernelRelease, VersionStringWithUnexpectedBytes) {
  TempDir dir;
  expect_error(dir.write("slash", fake_bzimage("6.1/evil ")), "unexpected byte");
  expect_error(dir.write("empty", fake_bzimage(std::string(" 6.1.0\0", 7))), "is empty");
}

}  // namespace
