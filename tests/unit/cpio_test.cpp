// The cpio newc writer, checked by reading its output back with an independent reader and,
// where installed, with GNU cpio.
#include "initramfs/cpio.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <provium/error.h>

#include "support/newc_reader.h"
#include "support/prerequisite.h"
#include "support/temp_dir.h"

namespace {

using provium::initramfs::CpioWriter;
using provium::testing::NewcEntry;
using provium::testing::read_newc;
using provium::testing::TempDir;

std::string sample_archive() {
  CpioWriter cpio;
  cpio.add_directory("/etc");
  cpio.add_file("/etc/hostname", "guest\n", 0640);
  cpio.add_symlink("/bin/sh", "/bin/busybox");
  cpio.add_char_device("/dev/console", 5, 1);
  cpio.add_directory("tmp", 01777);
  return cpio.finish();
}

std::vector<std::string> names(const std::vector<NewcEntry>& entries) {
  std::vector<std::string> result;
  for (const NewcEntry& entry : entries) result.push_back(entry.name);
  return result;
}

TEST(Cpio, EntriesReadBackWithTypesModesAndData) {
  std::vector<NewcEntry> entries = read_newc(sample_archive());

  ASSERT_EQ(names(entries), (std::vector<std::string>{"etc", "etc/hostname", "bin/sh",
                                                      "dev/console", "tmp", "TRAILER!!!"}));
  EXPECT_EQ(entries[0].mode, S_IFDIR | 0755u);
  EXPECT_EQ(entries[1].mode, S_IFREG | 0640u);
  EXPECT_EQ(entries[1].data, "guest\n");
  EXPECT_EQ(entries[2].mode, S_IFLNK | 0777u);
  EXPECT_EQ(entries[2].data, "/bin/busybox");
  EXPECT_EQ(entries[3].mode, S_IFCHR | 0600u);
  EXPECT_EQ(entries[3].rdevmajor, 5u);
  EXPECT_EQ(entries[3].rdevminor, 1u);
  EXPECT_EQ(entries[3].data, "");
  EXPECT_EQ(entries[4].mode, S_IFDIR | 01777u);
}

TEST(Cpio, OwnedByRootWithMtimeZeroAndUniqueInodes) {
  std::vector<NewcEntry> entries = read_newc(sample_archive());
  entries.pop_back();  // the trailer

  std::set<uint32_t> inodes;
  for (const NewcEntry& entry : entries) {
    SCOPED_TRACE(entry.name);
    EXPECT_EQ(entry.uid, 0u);
    EXPECT_EQ(entry.gid, 0u);
    EXPECT_EQ(entry.mtime, 0u);
    EXPECT_EQ(entry.check, 0u);
    EXPECT_NE(entry.ino, 0u);
    inodes.insert(entry.ino);
    // The kernel links an entry of nlink >= 2 to an earlier one with the same inode.
    if (S_ISREG(entry.mode)) {
      EXPECT_EQ(entry.nlink, 1u);
    }
  }
  EXPECT_EQ(inodes.size(), entries.size());
}

TEST(Cpio, EndsWithTheTrailerAndIsAMultipleOf4Bytes) {
  std::string archive = sample_archive();
  std::vector<NewcEntry> entries = read_newc(archive);  // also rejects bytes after the trailer

  EXPECT_EQ(entries.back().name, "TRAILER!!!");
  EXPECT_EQ(entries.back().mode, 0u);
  EXPECT_EQ(entries.back().data, "");
  // So that an archive appended after it starts 4-byte aligned, as the kernel expects.
  EXPECT_EQ(archive.size() % 4, 0u);
}

TEST(Cpio, AlignsHeaderWithNameAndDataTo4BytesForEveryLength) {
  CpioWriter cpio;
  for (std::size_t name_length = 1; name_length <= 8; ++name_length) {
    for (std::size_t data_length = 0; data_length <= 8; ++data_length) {
      cpio.add_file(std::string(name_length, 'n'), std::string(data_length, 'd'));
    }
  }
  // The reader checks each header and data offset and that the padding is zeros.
  std::vector<NewcEntry> entries = read_newc(cpio.finish());

  ASSERT_EQ(entries.size(), 8u * 9u + 1u);
  std::size_t index = 0;
  for (std::size_t name_length = 1; name_length <= 8; ++name_length) {
    for (std::size_t data_length = 0; data_length <= 8; ++data_length, ++index) {
      EXPECT_EQ(entries[index].name, std::string(name_length, 'n'));
      EXPECT_EQ(entries[index].data, std::string(data_length, 'd'));
    }
  }
}

TEST(Cpio, KeepsBinaryDataExactly) {
  std::string data;
  for (int byte = 0; byte < 256; ++byte) data += static_cast<char>(byte);
  data += std::string("\0\0\0", 3);
  CpioWriter cpio;
  cpio.add_file("blob", data);

  EXPECT_EQ(read_newc(cpio.finish()).front().data, data);
}

TEST(Cpio, SameInputGivesSameBytes) { EXPECT_EQ(sample_archive(), sample_archive()); }

TEST(Cpio, FinishLeavesTheWriterEmpty) {
  CpioWriter cpio;
  cpio.add_file("a", "x");
  std::string first = cpio.finish();

  EXPECT_EQ(names(read_newc(cpio.finish())), std::vector<std::string>{"TRAILER!!!"});
  cpio.add_file("a", "x");
  EXPECT_EQ(cpio.finish(), first);  // inode numbers start over too
}

void expect_rejected(const std::string& path) {
  SCOPED_TRACE("path \"" + path.substr(0, 40) + "\"");
  CpioWriter cpio;
  EXPECT_THROW(cpio.add_directory(path), provium::Error);
  EXPECT_THROW(cpio.add_file(path, "data"), provium::Error);
  EXPECT_THROW(cpio.add_symlink(path, "/target"), provium::Error);
  EXPECT_THROW(cpio.add_char_device(path, 1, 3), provium::Error);
  // Nothing half-written: the archive holds only the trailer.
  EXPECT_EQ(read_newc(cpio.finish()).size(), 1u);
}

TEST(Cpio, RejectsEmptyPaths) {
  expect_rejected("");
  expect_rejected("/");
  expect_rejected("//");
}

TEST(Cpio, RejectsDotDot) {
  expect_rejected("..");
  expect_rejected("/../etc/passwd");
  expect_rejected("a/../b");
  expect_rejected("a/..");
}

TEST(Cpio, RejectsPathsOverPathMax) {
  std::string longest(PATH_MAX - 1, 'a');  // PATH_MAX with its NUL
  CpioWriter cpio;
  cpio.add_file(longest, "");
  EXPECT_EQ(read_newc(cpio.finish()).front().name, longest);

  expect_rejected(std::string(PATH_MAX, 'a'));
}

TEST(Cpio, RejectsNulInPathsAndTheTrailerName) {
  expect_rejected(std::string("a\0b", 3));
  expect_rejected("TRAILER!!!");  // the kernel would stop unpacking there
}

TEST(Cpio, ErrorNamesThePath) {
  CpioWriter cpio;
  EXPECT_THAT([&] { cpio.add_file("etc/../shadow", ""); },
              ::testing::ThrowsMessage<provium::Error>(::testing::HasSubstr("etc/../shadow")));
}

TEST(Cpio, AcceptsDotsInsideNames) {
  CpioWriter cpio;
  cpio.add_file("a..b", "");
  cpio.add_file("dir/..hidden", "");
  EXPECT_EQ(names(read_newc(cpio.finish())),
            (std::vector<std::string>{"a..b", "dir/..hidden", "TRAILER!!!"}));
}

TEST(Cpio, RejectsModesBeyondPermissionBits) {
  CpioWriter cpio;
  EXPECT_THROW(cpio.add_file("f", "", S_IFREG | 0644), provium::Error);
  EXPECT_THROW(cpio.add_directory("d", 010000), provium::Error);
  EXPECT_THROW(cpio.add_char_device("c", 1, 3, S_IFCHR | 0600), provium::Error);
  cpio.add_file("setuid", "", 04755);
  EXPECT_EQ(read_newc(cpio.finish()).front().mode, S_IFREG | 04755u);
}

TEST(Cpio, RejectsEmptySymlinkTargets) {
  CpioWriter cpio;
  EXPECT_THROW(cpio.add_symlink("link", ""), provium::Error);
}

// GNU cpio, an implementation that shares no code with ours.
class CpioTool : public ::testing::Test {
 protected:
  void SetUp() override {
    PROVIUM_TEST_NEEDS(std::filesystem::exists("/usr/bin/cpio"), "/usr/bin/cpio (Debian: cpio)");
  }

  // Runs `command` through the shell and returns its stdout.
  static std::string run(const std::string& command) {
    std::string output;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return output;
    char chunk[4096];
    for (std::size_t got; (got = std::fread(chunk, 1, sizeof chunk, pipe)) > 0;) {
      output.append(chunk, got);
    }
    EXPECT_EQ(::pclose(pipe), 0) << command;
    return output;
  }

  TempDir dir_;
};

TEST_F(CpioTool, ListsTheEntries) {
  std::filesystem::path archive = dir_.write("archive.cpio", sample_archive());

  EXPECT_EQ(run("cpio -it --quiet < '" + archive.string() + "'"),
            "etc\netc/hostname\nbin/sh\ndev/console\ntmp\n");
}

TEST_F(CpioTool, ExtractsFilesWithModesAndSymlinks) {
  CpioWriter cpio;
  cpio.add_directory("etc");
  cpio.add_file("etc/hostname", "guest\n", 0640);
  cpio.add_symlink("etc/link", "hostname");
  std::filesystem::path archive = dir_.write("archive.cpio", cpio.finish());
  std::filesystem::path root = dir_.path() / "root";
  std::filesystem::create_directory(root);

  run("cd '" + root.string() + "' && cpio -id --quiet < '" + archive.string() + "'");

  std::ifstream in(root / "etc/hostname");
  std::stringstream contents;
  contents << in.rdbuf();
  EXPECT_EQ(contents.str(), "guest\n");
  EXPECT_EQ(std::filesystem::status(root / "etc/hostname").permissions(),
            static_cast<std::filesystem::perms>(0640));
  EXPECT_EQ(std::filesystem::read_symlink(root / "etc/link"), "hostname");
}

}  // namespace
