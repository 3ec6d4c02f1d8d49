// The archives provium adds to a guest: the shim appended to the user's initramfs, and the
// busybox userspace of the default profile.
#include "initramfs/shim.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <provium/error.h>

#include "support/newc_reader.h"
#include "support/prerequisite.h"
#include "support/compress.h"
#include "support/temp_dir.h"
#include "embed/blobs.h"
#include "initramfs/busybox.h"
#include "initramfs/elf.h"

namespace {

namespace fs = std::filesystem;
using provium::initramfs::build_shim;
using provium::initramfs::busybox_rootfs;
using provium::initramfs::ElfLinking;
using provium::initramfs::elf_linking;
using provium::initramfs::Module;
using provium::initramfs::ShimSpec;
using provium::testing::NewcEntry;
using provium::testing::newc_by_name;
using provium::testing::read_newc;
using provium::testing::TempDir;
using ::testing::AllOf;
using ::testing::AllOfArray;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

void set_mode(const fs::path& path, unsigned mode) {
  fs::permissions(path, static_cast<fs::perms>(mode), fs::perm_options::replace);
}

// Every entry's parent directory comes before it: the kernel creates entries in order and
// cannot put a file in a directory that does not exist yet.
void expect_parents_first(const std::vector<NewcEntry>& entries) {
  std::set<std::string> directories;
  for (const NewcEntry& entry : entries) {
    std::size_t slash = entry.name.rfind('/');
    if (slash != std::string::npos) {
      EXPECT_TRUE(directories.contains(entry.name.substr(0, slash)))
          << entry.name << " comes before its directory";
    }
    if (S_ISDIR(entry.mode)) directories.insert(entry.name);
  }
}

// build_shim(spec) throws an Error whose message contains every one of `parts`.
void expect_shim_error(const ShimSpec& spec, const std::vector<std::string>& parts) {
  std::vector<::testing::Matcher<std::string>> each_part;
  for (const std::string& part : parts) each_part.push_back(HasSubstr(part));
  each_part.push_back(::testing::Not(HasSubstr("shim")));  // an internal word, not the user's
  EXPECT_THAT([&] { build_shim(spec); }, ThrowsMessage<provium::Error>(AllOfArray(each_part)));
}

TEST(Shim, HoldsTheGuestProgramsByteForByte) {
  auto entries = newc_by_name(build_shim({}));

  for (auto [name, blob] : {std::pair{"provium-wrapper", provium::embed::wrapper},
                            std::pair{"provium-agent", provium::embed::agent},
                            std::pair{"provium-init", provium::embed::init}}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(entries.contains(name));
    EXPECT_EQ(entries[name].mode, S_IFREG | 0755u);
    EXPECT_EQ(entries[name].data.size(), blob.size);
    EXPECT_TRUE(entries[name].data == blob.view());  // not EXPECT_EQ: it would print binaries
  }
}

TEST(Shim, HoldsTheConsoleAndTheBaseDirectories) {
  std::string archive = build_shim({});
  std::vector<NewcEntry> entries = read_newc(archive);
  auto by_name = newc_by_name(archive);

  EXPECT_EQ(by_name["dev/console"].mode, S_IFCHR | 0600u);
  EXPECT_EQ(by_name["dev/console"].rdevmajor, 5u);
  EXPECT_EQ(by_name["dev/console"].rdevminor, 1u);
  for (const char* directory : {"dev", "proc", "sys", "provium", "provium/modules"}) {
    EXPECT_EQ(by_name[directory].mode, S_IFDIR | 0755u) << directory;
  }
  expect_parents_first(entries);
  EXPECT_EQ(entries.back().name, "TRAILER!!!");
}

TEST(Shim, NamesModulesSoThatFileNameOrderIsLoadOrder) {
  TempDir dir;
  ShimSpec spec;
  spec.modules = {{"virtio_ring", dir.write("virtio_ring.ko", "ring")},
                  {"virtio", dir.write("virtio.ko.xz", provium::testing::xz("virtio-xz"))},
                  {"virtio_pci", dir.write("virtio_pci.ko.zst", provium::testing::zstd("pci-zst"))},
                  {"virtio_blk", dir.write("virtio_blk.ko.gz", provium::testing::gzip("blk-gz"))}};

  std::vector<NewcEntry> entries = read_newc(build_shim(spec));

  std::vector<std::pair<std::string, std::string>> modules;
  for (const NewcEntry& entry : entries) {
    if (entry.name.starts_with("provium/modules/")) modules.emplace_back(entry.name, entry.data);
  }
  EXPECT_EQ(modules, (std::vector<std::pair<std::string, std::string>>{
                         {"provium/modules/00-virtio_ring.ko", "ring"},
                         {"provium/modules/01-virtio.ko", "virtio-xz"},  // decompressed on the host
                         {"provium/modules/02-virtio_pci.ko", "pci-zst"},
                         {"provium/modules/03-virtio_blk.ko", "blk-gz"}}));
  EXPECT_TRUE(std::is_sorted(modules.begin(), modules.end()));
}

TEST(Shim, AModuleThatDoesNotDecompressIsNamed) {
  TempDir dir;
  ShimSpec spec;
  spec.modules = {{"virtio", dir.write("virtio.ko.xz", "not xz at all")}};
  EXPECT_THAT([&] { build_shim(spec); },
              ThrowsMessage<provium::Error>(AllOf(HasSubstr("kernel module virtio"), HasSubstr("virtio.ko.xz"),
                                         HasSubstr("holds no gzip, xz or zstd stream"))));
  spec.modules = {{"virtio", dir.write("virtio.ko.zst", provium::testing::zstd("cut").substr(0, 6))}};
  EXPECT_THAT([&] { build_shim(spec); }, ThrowsMessage<provium::Error>(HasSubstr("kernel module virtio")));
}

TEST(Shim, WidensModuleIndexesPastNinetyNine) {
  TempDir dir;
  fs::path file = dir.write("m.ko", "");
  ShimSpec spec;
  for (int i = 0; i < 120; ++i) spec.modules.push_back({"m" + std::to_string(i), file});

  std::vector<std::string> names;
  for (const NewcEntry& entry : read_newc(build_shim(spec))) {
    if (entry.name.starts_with("provium/modules/")) names.push_back(entry.name);
  }

  ASSERT_EQ(names.size(), 120u);
  EXPECT_EQ(names.front(), "provium/modules/000-m0.ko");
  EXPECT_EQ(names.back(), "provium/modules/119-m119.ko");
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(Shim, MissingModuleFileIsNamed) {
  TempDir dir;
  ShimSpec spec;
  spec.modules = {{"virtio", dir.path() / "virtio.ko"}};
  expect_shim_error(spec, {"virtio", (dir.path() / "virtio.ko").string(), "No such file"});
}

TEST(Shim, ModuleFileMustHaveAModuleExtension) {
  TempDir dir;
  ShimSpec spec;
  spec.modules = {{"virtio", dir.write("virtio.bin", "")}};
  expect_shim_error(spec, {"virtio.bin", ".ko"});
}

TEST(Shim, AddsAUserFileWithItsPermissionsAndParents) {
  TempDir dir;
  fs::path host = dir.write("test.conf", "key = 1\n");
  set_mode(host, 0640);

  std::string archive =
      build_shim({.modules = {}, .files = {{"/etc/provium-test/test.conf", host}}});
  std::vector<NewcEntry> entries = read_newc(archive);
  auto by_name = newc_by_name(archive);

  EXPECT_EQ(by_name["etc"].mode, S_IFDIR | 0755u);
  EXPECT_EQ(by_name["etc/provium-test"].mode, S_IFDIR | 0755u);
  EXPECT_EQ(by_name["etc/provium-test/test.conf"].mode, S_IFREG | 0640u);
  EXPECT_EQ(by_name["etc/provium-test/test.conf"].data, "key = 1\n");
  expect_parents_first(entries);
}

TEST(Shim, AddsAUserDirectoryRecursively) {
  TempDir dir;
  dir.write("tool/bin/run", "#!/bin/sh\n");
  dir.write("tool/share/data/table", "1 2 3");
  fs::create_symlink("table", dir.path() / "tool/share/data/link");
  set_mode(dir.path() / "tool/bin/run", 0755);
  set_mode(dir.path() / "tool/share/data/table", 0600);
  set_mode(dir.path() / "tool/share/data", 0700);
  set_mode(dir.path() / "tool", 0750);

  std::string archive = build_shim({.modules = {}, .files = {{"/opt/tool", dir.path() / "tool"}}});
  std::vector<NewcEntry> entries = read_newc(archive);
  auto by_name = newc_by_name(archive);

  EXPECT_EQ(by_name["opt"].mode, S_IFDIR | 0755u);
  EXPECT_EQ(by_name["opt/tool"].mode, S_IFDIR | 0750u);
  EXPECT_EQ(by_name["opt/tool/bin"].mode, S_IFDIR | 0755u);
  EXPECT_EQ(by_name["opt/tool/bin/run"].mode, S_IFREG | 0755u);
  EXPECT_EQ(by_name["opt/tool/bin/run"].data, "#!/bin/sh\n");
  EXPECT_EQ(by_name["opt/tool/share/data"].mode, S_IFDIR | 0700u);
  EXPECT_EQ(by_name["opt/tool/share/data/table"].mode, S_IFREG | 0600u);
  EXPECT_EQ(by_name["opt/tool/share/data/table"].data, "1 2 3");
  EXPECT_EQ(by_name["opt/tool/share/data/link"].mode, S_IFLNK | 0777u);
  EXPECT_EQ(by_name["opt/tool/share/data/link"].data, "table");
  expect_parents_first(entries);
  // The same tree gives the same bytes, whatever order the host lists directories in.
  EXPECT_EQ(archive, build_shim({.modules = {}, .files = {{"/opt/tool", dir.path() / "tool"}}}));
}

TEST(Shim, FollowsAHostSymlinkGivenAsTheFile) {
  TempDir dir;
  fs::path target = dir.write("real.conf", "real");
  fs::create_symlink(target, dir.path() / "link.conf");

  auto by_name = newc_by_name(
      build_shim({.modules = {}, .files = {{"/etc/x.conf", dir.path() / "link.conf"}}}));

  EXPECT_EQ(by_name["etc/x.conf"].mode & S_IFMT, static_cast<unsigned>(S_IFREG));
  EXPECT_EQ(by_name["etc/x.conf"].data, "real");
}

TEST(Shim, AHostDirectoryCanFillTheGuestRoot) {
  TempDir dir;
  dir.write("overlay/etc/motd", "hello");

  auto by_name =
      newc_by_name(build_shim({.modules = {}, .files = {{"/", dir.path() / "overlay"}}}));

  EXPECT_EQ(by_name["etc/motd"].data, "hello");
  EXPECT_FALSE(by_name.contains(""));
}

// A disk root replaces the initramfs as the guest's root, so the files wait in the shim for the
// wrapper to copy them in (agent/root_disk.c): none stands at its guest path.
TEST(Shim, ADiskRootsFilesWaitUnderRootFiles) {
  TempDir dir;
  fs::path host = dir.write("m.txt", "m");
  set_mode(host, 0640);
  dir.write("overlay/etc/motd", "hello");

  auto by_name = newc_by_name(build_shim(
      {.modules = {}, .files = {{"/opt/m.txt", host}, {"/", dir.path() / "overlay"}}, .root_disk = true}));

  EXPECT_EQ(by_name["provium/root-files"].mode, S_IFDIR | 0755u);
  EXPECT_EQ(by_name["provium/root-files/opt"].mode, S_IFDIR | 0755u);
  EXPECT_EQ(by_name["provium/root-files/opt/m.txt"].mode, S_IFREG | 0640u);
  EXPECT_EQ(by_name["provium/root-files/opt/m.txt"].data, "m");
  EXPECT_EQ(by_name["provium/root-files/etc/motd"].data, "hello");
  EXPECT_FALSE(by_name.contains("opt/m.txt"));
  EXPECT_FALSE(by_name.contains("etc/motd"));
}

// In the words of the boot option: `files`, the guest path, the host path; never "shim".
TEST(Shim, MissingHostFileNamesTheOptionAndBothPaths) {
  TempDir dir;
  fs::path host = dir.path() / "absent.conf";
  expect_shim_error({.modules = {}, .files = {{"/etc/absent.conf", host}}},
                    {"files: guest path /etc/absent.conf from host path " + host.string(), "No such file or directory"});
}

TEST(Shim, RejectsUnsupportedHostFileTypes) {
  TempDir dir;
  fs::create_directory(dir.path() / "tree");
  ASSERT_EQ(::mkfifo((dir.path() / "tree/fifo").c_str(), 0600), 0);
  expect_shim_error({.modules = {}, .files = {{"/tree", dir.path() / "tree"}}},
                    {(dir.path() / "tree/fifo").string(), "not a regular file"});
}

TEST(Shim, RejectsBadGuestPathsBeforeReadingHostFiles) {
  TempDir dir;
  fs::path absent = dir.path() / "absent";
  for (std::string guest : {"etc/relative", "/etc/../root/.ssh/authorized_keys", "/..",
                            "/provium-agent", "/provium/modules/00-evil.ko", "/provium",
                            "/dev/console"}) {
    SCOPED_TRACE(guest);
    expect_shim_error({.modules = {}, .files = {{guest, absent}}}, {guest, "files: the guest path"});
  }
  expect_shim_error({.modules = {}, .files = {{"/", dir.write("file", "x")}}},
                    {"only a directory"});
}

TEST(Shim, NormalizesGuestPaths) {
  TempDir dir;
  fs::path host = dir.write("file", "x");
  auto by_name = newc_by_name(build_shim({.modules = {}, .files = {{"//etc/./x//", host}}}));
  EXPECT_EQ(by_name["etc/x"].data, "x");
}

TEST(Shim, SameSpecGivesSameBytes) {
  TempDir dir;
  ShimSpec spec{.modules = {{"virtio", dir.write("virtio.ko", "v")}},
                .files = {{"/etc/a", dir.write("a", "a")}, {"/etc/b", dir.write("b", "b")}}};
  EXPECT_EQ(build_shim(spec), build_shim(spec));
}

// --- busybox_rootfs -------------------------------------------------------------------------

// An ELF header with one program header of type `segment_type` (PT_INTERP is 3, naming
// /lib/ld.so), for the linking checks, in either class and byte order.
std::string fake_elf(bool is64, bool big_endian, uint32_t segment_type) {
  constexpr std::string_view kInterpreter("/lib/ld.so\0", 11);
  std::size_t header = is64 ? 64 : 52, entry = is64 ? 56 : 32;
  std::string image(header + entry, '\0');
  image.replace(0, 4, "\x7F" "ELF");
  image[4] = is64 ? 2 : 1;
  image[5] = big_endian ? 2 : 1;
  image[6] = 1;  // EI_VERSION
  auto put = [&](std::size_t offset, uint64_t value, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
      std::size_t byte = big_endian ? offset + size - 1 - i : offset + i;
      image[byte] = static_cast<char>(value >> (8 * i));
    }
  };
  put(16, 2, 2);                              // e_type: ET_EXEC
  put(18, 62, 2);                             // e_machine: x86-64
  put(20, 1, 4);                              // e_version
  put(is64 ? 32 : 28, header, is64 ? 8 : 4);  // e_phoff
  put(is64 ? 52 : 40, header, 2);             // e_ehsize
  put(is64 ? 54 : 42, entry, 2);              // e_phentsize
  put(is64 ? 56 : 44, 1, 2);                  // e_phnum
  put(header, segment_type, 4);               // p_type
  // p_offset and p_filesz: the interpreter's path, after the program header.
  put(header + (is64 ? 8 : 4), header + entry, is64 ? 8 : 4);
  put(header + (is64 ? 32 : 16), kInterpreter.size(), is64 ? 8 : 4);
  image += kInterpreter;
  return image;
}

TEST(ElfLinking, TellsStaticFromDynamic) {
  constexpr uint32_t kLoad = 1, kInterp = 3;
  for (bool is64 : {true, false}) {
    for (bool big_endian : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "64-bit " << is64 << " big-endian " << big_endian);
      EXPECT_EQ(elf_linking(fake_elf(is64, big_endian, kInterp)), ElfLinking::dynamic);
      EXPECT_EQ(elf_linking(fake_elf(is64, big_endian, kLoad)), ElfLinking::static_);
    }
  }
}

TEST(ElfLinking, RejectsWhatIsNotElf) {
  EXPECT_EQ(elf_linking(""), ElfLinking::not_elf);
  EXPECT_EQ(elf_linking("#!/bin/sh\necho not elf\n"), ElfLinking::not_elf);
  std::string truncated = fake_elf(true, false, 3);
  truncated.resize(truncated.size() - 1);  // the interpreter's path overruns the file
  EXPECT_EQ(elf_linking(truncated), ElfLinking::not_elf);
}

class BusyboxRootfs : public ::testing::Test {
 protected:
  static constexpr const char* kBusybox = "/bin/busybox";

  void SetUp() override {
    PROVIUM_TEST_NEEDS(fs::exists(kBusybox), kBusybox << " (Debian: busybox-static)");
  }

  // What the binary says its applets are, asked independently of the code under test.
  static std::vector<std::string> applets() {
    std::vector<std::string> result;
    FILE* pipe = ::popen("/bin/busybox --list-full", "r");
    char line[256];
    while (pipe != nullptr && std::fgets(line, sizeof line, pipe) != nullptr) {
      std::string applet = line;
      if (applet.ends_with('\n')) applet.pop_back();
      result.push_back(applet);
    }
    if (pipe != nullptr) ::pclose(pipe);
    return result;
  }

  static std::string read(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream contents;
    contents << in.rdbuf();
    return contents.str();
  }
};

TEST_F(BusyboxRootfs, HoldsBusyboxAndASymlinkForEveryApplet) {
  std::string archive = busybox_rootfs(kBusybox);
  auto by_name = newc_by_name(archive);

  EXPECT_EQ(by_name["bin/busybox"].mode, S_IFREG | 0755u);
  EXPECT_TRUE(by_name["bin/busybox"].data == read(kBusybox));  // EXPECT_EQ would print it
  std::vector<std::string> expected = applets();
  ASSERT_THAT(expected, ::testing::Contains("bin/sh"));
  for (const std::string& applet : expected) {
    if (applet == "bin/busybox") continue;  // the binary itself
    SCOPED_TRACE(applet);
    ASSERT_TRUE(by_name.contains(applet));
    EXPECT_EQ(by_name[applet].mode, S_IFLNK | 0777u);
    EXPECT_EQ(by_name[applet].data, "/bin/busybox");
  }
  expect_parents_first(read_newc(archive));
}

TEST_F(BusyboxRootfs, HoldsTheUsualDirectories) {
  auto by_name = newc_by_name(busybox_rootfs(kBusybox));

  for (const char* directory : {"bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "dev", "proc",
                                "sys", "run", "var"}) {
    EXPECT_EQ(by_name[directory].mode & S_IFMT, static_cast<unsigned>(S_IFDIR)) << directory;
  }
  EXPECT_EQ(by_name["tmp"].mode, S_IFDIR | 01777u);
}

TEST_F(BusyboxRootfs, IsBuiltOncePerPath) {
  TempDir dir;
  fs::path copy = dir.path() / "busybox";
  fs::copy_file(kBusybox, copy);
  std::string first = busybox_rootfs(copy);

  fs::remove(copy);  // a second build would now fail

  EXPECT_EQ(busybox_rootfs(copy), first);
}

TEST(BusyboxPrerequisite, MissingBinary) {
  TempDir dir;
  fs::path absent = dir.path() / "busybox";
  EXPECT_THAT([&] { busybox_rootfs(absent); },
              ThrowsMessage<provium::PrerequisiteError>(
                  AllOf(HasSubstr("busybox not found at " + absent.string()),
                        HasSubstr("install busybox-static"))));
}

TEST(BusyboxPrerequisite, DynamicallyLinkedBinary) {
  TempDir dir;
  fs::path dynamic = dir.write("busybox", fake_elf(true, false, 3));
  EXPECT_THAT([&] { busybox_rootfs(dynamic); },
              ThrowsMessage<provium::PrerequisiteError>(AllOf(HasSubstr(dynamic.string()),
                                                              HasSubstr("dynamically linked"),
                                                              HasSubstr("install busybox-static"))));
}

TEST(BusyboxPrerequisite, NotAnElfFile) {
  TempDir dir;
  fs::path script = dir.write("busybox", "#!/bin/sh\n");
  EXPECT_THROW(busybox_rootfs(script), provium::PrerequisiteError);
}

}  // namespace
