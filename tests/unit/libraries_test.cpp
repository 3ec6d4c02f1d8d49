// The libraries a boot's dynamically linked executables bring (src/initramfs/libraries.h), on
// programs gcc builds here: a plain one, one with a library of its own found through $ORIGIN,
// one whose library is gone, and a static one. The host's own loader resolves them.
#include "initramfs/libraries.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include <provium/error.h>

#include "cache/key.h"
#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using provium::initramfs::guest_files;
using provium::initramfs::library_files;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Key;
using ::testing::Not;
using ::testing::Pair;

// The interpreter every x86-64 glibc program names, and where Debian's loader finds libc.
constexpr const char* kInterpreter = "/lib64/ld-linux-x86-64.so.2";

class Libraries : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("main.c", "int own(void);\nint main(void) { return own(); }\n");
    dir_.write("plain.c", "#include <stdio.h>\nint main(void) { puts(\"plain\"); return 0; }\n");
    dir_.write("own.c", "int own(void) { return 0; }\n");
  }

  fs::path path(const std::string& relative) const { return dir_.path() / relative; }

  void gcc(const std::string& args) {
    const std::string command = "cd '" + dir_.path().string() + "' && gcc " + args;
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  // bin/prog, which needs lib/libown.so through RUNPATH $ORIGIN/../lib.
  void build_with_own_library() {
    fs::create_directories(path("bin"));
    fs::create_directories(path("lib"));
    gcc("-shared -fPIC -o lib/libown.so own.c");
    gcc("-o bin/prog main.c -Llib -lown '-Wl,-rpath,$ORIGIN/../lib'");
  }

  provium::testing::TempDir dir_;
};

TEST_F(Libraries, APlainProgramBringsItsInterpreterAndLibc) {
  gcc("-o plain plain.c");
  const auto added = library_files({{"/opt/t/plain", path("plain").string()}});
  EXPECT_THAT(added, Contains(Pair(kInterpreter, kInterpreter)));
  const auto libc = std::find_if(added.begin(), added.end(), [](const auto& entry) { return entry.first.ends_with("/libc.so.6"); });
  ASSERT_NE(libc, added.end()) << "libc.so.6 is brought";
  EXPECT_EQ(libc->first, libc->second) << "a library of the host's directories keeps its path";
  EXPECT_THAT(added, Not(Contains(Key("/etc/ld.so.cache")))) << "libc lies where the loader looks without its cache";
}

TEST_F(Libraries, ALibraryThroughOriginGoesWhereOriginPointsInTheGuest) {
  build_with_own_library();
  const auto added = library_files({{"/opt/t/bin/prog", path("bin/prog").string()}});
  EXPECT_THAT(added, Contains(Pair("/opt/t/lib/libown.so", path("lib/libown.so").string())));
  EXPECT_THAT(added, Contains(Key(kInterpreter)));
}

TEST_F(Libraries, ADirectoryThatHoldsTheLibraryBringsOnlyTheHostsOnes) {
  build_with_own_library();
  const auto added = library_files({{"/opt/t", dir_.path().string()}});
  for (const auto& [guest, host] : added) EXPECT_THAT(guest, Not(HasSubstr("libown"))) << "already under /opt/t";
  EXPECT_THAT(added, Contains(Key(kInterpreter)));
}

TEST_F(Libraries, AMissingLibraryIsAnErrorNamingItAndTheExecutable) {
  build_with_own_library();
  fs::remove(path("lib/libown.so"));
  EXPECT_THAT([&] { library_files({{"/opt/t/bin/prog", path("bin/prog").string()}}); },
              ::testing::ThrowsMessage<provium::Error>(::testing::AllOf(
                  HasSubstr("files: guest path /opt/t/bin/prog from host path " + path("bin/prog").string()),
                  HasSubstr("it needs the library libown.so, which the host's dynamic loader does not find"))));
}

// A program for a loader this host does not have (another architecture's, say) cannot have its
// libraries found: the error says why.
TEST_F(Libraries, AnInterpreterTheHostLacksIsAnErrorNamingIt) {
  gcc("-o foreign plain.c -Wl,--dynamic-linker=/lib/ld-provium-nowhere.so.1");
  EXPECT_THAT([&] { library_files({{"/opt/foreign", path("foreign").string()}}); },
              ::testing::ThrowsMessage<provium::Error>(HasSubstr(
                  "guest path /opt/foreign from host path " + path("foreign").string() +
                  ": its program interpreter /lib/ld-provium-nowhere.so.1 is not on this host")));
}

TEST_F(Libraries, AStaticProgramOrAScriptBringsNothing) {
  gcc("-static -o static plain.c");
  dir_.write("script.sh", "#!/bin/sh\necho hi\n");
  fs::permissions(path("script.sh"), fs::perms::owner_all);
  EXPECT_THAT(library_files({{"/static", path("static").string()}, {"/script.sh", path("script.sh").string()}}),
              ::testing::IsEmpty());
}

TEST_F(Libraries, OnlyTheBusyboxUserspaceGetsThem) {
  gcc("-o plain plain.c");
  const std::map<std::string, std::string> files = {{"/plain", path("plain").string()}};
  EXPECT_THAT(guest_files(provium::config::Profile{}, files), Contains(Key(kInterpreter)));
  provium::config::Profile disk_root;
  disk_root.rootfs = path("root.img");
  EXPECT_EQ(guest_files(disk_root, files), files) << "a disk root has its own loader and libraries";
}

// A library's contents are in the fixture key: a rebuilt library of the test's own rebuilds the
// fixture that brings it.
TEST_F(Libraries, TheLibrariesAreInTheFixtureKey) {
  build_with_own_library();
  provium::BootOptions boot;
  boot.files = {{"/opt/t/bin/prog", path("bin/prog").string()}};
  auto key = [&] {
    provium::cache::KeyBuilder builder;
    provium::cache::add_boot_options(builder, boot, provium::config::Profile{});
    return builder.hex();
  };
  const std::string before = key();
  dir_.write("own.c", "int own(void) { return 1; }\n");
  gcc("-shared -fPIC -o lib/libown.so own.c");
  EXPECT_NE(key(), before);
}

}  // namespace
