// Disks: a plain VM writes its disk as asked; a fixture's writable disk is frozen with its
// snapshot, so that each test's VM writes a copy of its own and the image itself is never
// written (once, every VM of a fixture wrote the same image and corrupted it).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <provium/gtest.h>
#include <provium/provium.h>

#include "base/settings.h"
#include "support/child_process.h"
#include "support/kernel.h"
#include "../unit/support/prerequisite.h"

namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace {

constexpr const char* kMkfs = "/usr/sbin/mkfs.ext4";
constexpr const char* kFsck = "/usr/sbin/e2fsck";
constexpr const char* kDebugfs = "/usr/sbin/debugfs";

provium_test::ChildRun run(const std::vector<std::string>& argv) { return provium_test::ChildProcess(argv, {}).wait(); }

class DiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* program : {kMkfs, kFsck, kDebugfs})
      PROVIUM_TEST_NEEDS(fs::exists(program), std::string(program) + " (Debian: e2fsprogs)");
    dir_ = fs::path(std::getenv("PROVIUM_RUN_DIR")).parent_path() /
           ("disks-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "content");
  }

  // An ext4 image of 16 MiB holding /base with `text`.
  fs::path make_image(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / "content/base") << text;
    const fs::path image = dir_ / name;
    fs::remove(image);
    const auto made = run({kMkfs, "-q", "-F", "-d", (dir_ / "content").string(), image.string(), "16M"});
    EXPECT_EQ(made.exit_code, 0) << made.output;
    return image;
  }

  // What the image's file holds, read on the host; empty when it has no such file.
  std::string host_read(const fs::path& image, const std::string& file) const {
    const fs::path copy = dir_ / "dumped";
    fs::remove(copy);
    run({kDebugfs, "-R", "dump " + file + " " + copy.string(), image.string()});
    std::ifstream in(copy);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  // The image's filesystem is consistent (e2fsck -fn: a full check that changes nothing).
  static void expect_clean(const fs::path& image) {
    const auto checked = run({kFsck, "-fn", image.string()});
    EXPECT_EQ(checked.exit_code, 0) << checked.output;
  }

  fs::path dir_;
};

// The guest's view of the disk: mounted at /mnt.
void mount(provium::Vm& vm) { ASSERT_THAT(vm.exec("mkdir -p /mnt && mount -t ext4 /dev/vda /mnt"), ::provium::ExecSucceeds()); }

std::string listing(provium::Vm& vm) { return vm.exec("ls /mnt | grep -v lost+found | tr '\\n' ' '").out; }

TEST_F(DiskTest, APlainVmWritesItsDiskAsAsked) {
  const fs::path image = make_image("plain.img", "base\n");
  auto vm = provium::create("default");
  vm.boot({.disks = {{image.string()}}});
  mount(vm);
  ASSERT_THAT(vm.exec("echo written > /mnt/hello && umount /mnt"), ::provium::ExecSucceeds());
  vm.shutdown();
  EXPECT_EQ(host_read(image, "/hello"), "written\n");
  expect_clean(image);
}

TEST_F(DiskTest, EachVmOfAFixtureWritesItsOwnCopyAndTheImageStaysAsItWas) {
  const fs::path image = make_image("fixture.img", "base\n");
  const auto before = fs::last_write_time(image);
  provium::define_fixture("disked", {.boot = {.disks = {{image.string()}}}}, [](provium::Vm& vm) {
    mount(vm);
    vm.exec("echo fixture > /mnt/prepared && sync");
  });
  for (const std::string test : {"one", "two", "three"}) {
    auto vm = provium::fixture("disked");
    EXPECT_EQ(listing(vm), "base prepared ") << "test " << test << " sees another VM's writes";
    ASSERT_THAT(vm.exec("echo " + test + " > /mnt/" + test + " && sync"), ::provium::ExecSucceeds());
    EXPECT_EQ(vm.read_file("/mnt/" + test), test + "\n");
  }
  auto last = provium::fixture("disked");
  EXPECT_EQ(listing(last), "base prepared ");
  EXPECT_EQ(fs::last_write_time(image), before) << "a fixture's VM wrote the image itself";
  EXPECT_EQ(host_read(image, "/prepared"), "");  // the build wrote its overlay, not the image
  expect_clean(image);
}

// The same through a Lua fixture and `provium test`, whose build renames its last VM's overlay.
TEST_F(DiskTest, EachVmOfALuaFixtureWritesItsOwnCopy) {
  const fs::path image = make_image("lua.img", "base\n");
  const auto before = fs::last_write_time(image);
  fs::create_directories(dir_ / "lua/fixtures");
  std::ofstream(dir_ / "lua/fixtures/lua_disked.lua") << R"lua(
local vm = provium.create("default")
vm:boot({disks = {{path = os.getenv("DISK_IMAGE")}}})
assert_eq(0, vm:exec("mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && echo fixture > /mnt/prepared && sync").exit_code)
)lua";
  std::ofstream(dir_ / "lua/uses.lua") << R"lua(
for _, name in ipairs({"one", "two", "three"}) do
  test(name, function()
    local vm = provium.fixture("lua_disked")
    assert_eq("base prepared ", vm:exec("ls /mnt | grep -v lost+found | tr '\n' ' '").stdout.value)
    assert_eq(0, vm:exec("echo " .. name .. " > /mnt/" .. name .. " && sync").exit_code)
  end)
end
)lua";
  const auto run = provium_test::ChildProcess({std::getenv("PROVIUM_CLI"), "test", (dir_ / "lua").string()},
                                              {{"DISK_IMAGE", image.string()},
                                               {"PROVIUM_CACHE_DIR", (dir_ / "cache").string()}})
                       .wait();
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("1 passed")) << run.output;
  EXPECT_EQ(fs::last_write_time(image), before) << "a fixture's VM wrote the image itself";
  expect_clean(image);
}

TEST_F(DiskTest, ARedefinedFixtureOverAChangedImageIsRebuilt) {
  const fs::path image = make_image("changing.img", "first\n");
  auto setup = [](provium::Vm& vm) { mount(vm); };
  provium::define_fixture("changing", {.boot = {.disks = {{image.string()}}}}, setup);
  EXPECT_EQ(provium::fixture("changing").read_file("/mnt/base"), "first\n");
  make_image("changing.img", "second\n");
  provium::define_fixture("changing", {.boot = {.disks = {{image.string()}}}}, setup);
  EXPECT_EQ(provium::fixture("changing").read_file("/mnt/base"), "second\n");
}

TEST_F(DiskTest, AReadOnlyDiskOfAFixtureIsSharedAsItIs) {
  const fs::path image = make_image("readonly.img", "shared\n");
  provium::define_fixture("readonly_disk", {.boot = {.disks = {{image.string(), "raw", true}}}}, [](provium::Vm& vm) {
    ASSERT_THAT(vm.exec("mkdir -p /mnt && mount -t ext4 -o ro,noload /dev/vda /mnt"), ::provium::ExecSucceeds());
  });
  auto vm = provium::fixture("readonly_disk");
  EXPECT_EQ(vm.read_file("/mnt/base"), "shared\n");
  EXPECT_THAT(vm.exec("touch /mnt/x").err, HasSubstr("Read-only"));
}

// A root disk: busybox, and an init of its own that keeps running, made into an ext4 image.
class DiskBootTest : public DiskTest {
 protected:
  void SetUp() override {
    DiskTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    const fs::path root = dir_ / "root";
    for (const char* sub : {"bin", "sbin", "dev", "proc", "sys", "tmp", "etc"}) fs::create_directories(root / sub);
    fs::copy_file("/bin/busybox", root / "bin/busybox");
    for (const char* applet : {"sh", "cat", "echo", "ls", "mount", "sleep", "sync", "touch", "test", "grep", "tr"})
      fs::create_symlink("busybox", root / "bin" / applet);
    std::ofstream(root / "sbin/init") << "#!/bin/sh\necho disk init running\nwhile :; do sleep 3600; done\n";
    fs::permissions(root / "sbin/init", fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
    std::ofstream(root / "etc/provium-root") << "disk\n";
    // An absolute symlink, as roots have them (/etc/alternatives, ...): it points into the disk.
    fs::create_directories(root / "srv/data");
    fs::create_symlink("/srv/data", root / "data");
    image_ = dir_ / "root.ext4";
    const auto made = run({kMkfs, "-q", "-F", "-d", root.string(), image_.string(), "64M"});
    ASSERT_EQ(made.exit_code, 0) << made.output;
    std::ofstream(dir_ / "provium.toml") << "[profile.diskroot]\nkernel = \"" << provium_test::newest_kernel().string()
                                         << "\"\nrootfs = \"" << image_.string() << "\"\ninit = \"/sbin/init\"\n";
  }

  fs::path image_;
  std::optional<provium::base::ScopedSettings> config_;
  void use_config() { config_.emplace(std::initializer_list<std::pair<std::string_view, std::string_view>>{
                          {"PROVIUM_CONFIG", (dir_ / "provium.toml").string()}}); }
};

TEST_F(DiskBootTest, TheDiskIsTheRootAndItsInitRuns) {
  use_config();
  const auto before = fs::last_write_time(image_);
  auto vm = provium::create("diskroot");
  vm.boot();
  EXPECT_EQ(vm.read_file("/etc/provium-root"), "disk\n");
  EXPECT_THAT(vm.read_file("/proc/mounts"), HasSubstr("/dev/vda / ext4"));
  EXPECT_THAT(vm.read_file("/proc/1/cmdline"), HasSubstr("/sbin/init"));
  vm.wait_until([&] { return vm.console_tail(100).find("disk init running") != std::string::npos; },
                 std::chrono::seconds(10), std::chrono::milliseconds(50), "the disk's init to say it runs");
  // The image is the profile's, shared by every VM: a plain boot's writes are discarded.
  ASSERT_THAT(vm.exec("echo mine > /written && sync"), ::provium::ExecSucceeds());
  vm.shutdown();
  EXPECT_EQ(fs::last_write_time(image_), before);
  expect_clean(image_);
}

// Boot files reach a disk root as they reach an initramfs: at their guest paths, replacing what
// the image has there, with their modes; the image itself stays untouched.
TEST_F(DiskBootTest, BootFilesArePutIntoTheRootDisk) {
  use_config();
  const auto before = fs::last_write_time(image_);
  std::ofstream(dir_ / "m.txt") << "mine\n";
  fs::create_directories(dir_ / "tool/bin");
  std::ofstream(dir_ / "tool/bin/run") << "#!/bin/sh\necho tool ran\n";
  fs::permissions(dir_ / "tool/bin/run", fs::perms::owner_all);
  fs::create_symlink("run", dir_ / "tool/bin/again");
  std::ofstream(dir_ / "root-marker") << "replaced\n";
  auto vm = provium::create("diskroot");
  vm.boot({.files = {{"/opt/m.txt", (dir_ / "m.txt").string()},
                     {"/data/through-link.txt", (dir_ / "m.txt").string()},
                     {"/opt/tool", (dir_ / "tool").string()},
                     {"/etc/provium-root", (dir_ / "root-marker").string()}}});
  EXPECT_THAT(vm.read_file("/proc/mounts"), HasSubstr("/dev/vda / ext4"));
  EXPECT_EQ(vm.read_file("/opt/m.txt"), "mine\n");
  EXPECT_EQ(vm.read_file("/etc/provium-root"), "replaced\n");
  EXPECT_EQ(vm.read_file("/srv/data/through-link.txt"), "mine\n") << "the disk's absolute symlink resolves in the disk";
  EXPECT_THAT(vm.exec("/opt/tool/bin/again"), ::provium::ExecOutputIs("tool ran\n"));
  EXPECT_THAT(vm.exec("ls -l /opt/tool/bin/run"), ::provium::ExecOutputIs(::testing::StartsWith("-rwx------")));
  EXPECT_THAT(vm.exec("test -e /provium/root-files"), ::provium::ExecExitsWith(::testing::Ne(0)))
      << "the shim's staging directory is the initramfs's, not the root's";
  vm.shutdown();
  EXPECT_EQ(fs::last_write_time(image_), before);
  expect_clean(image_);
}

// A file the root does not take (a directory of the image stands at its path) fails the boot
// with the wrapper's reason: no test runs without the files it was given.
TEST_F(DiskBootTest, ABootFileTheRootDiskRefusesFailsTheBoot) {
  use_config();
  std::ofstream(dir_ / "m.txt") << "mine\n";
  auto vm = provium::create("diskroot");
  EXPECT_THAT([&] { vm.boot({.files = {{"/etc", (dir_ / "m.txt").string()}}}); },
              ::testing::ThrowsMessage<provium::Error>(HasSubstr("provium-wrapper: cannot replace /etc")));
}

// A fixture's boot files on a disk root are in its snapshot: every test sees them.
TEST_F(DiskBootTest, AFixturesBootFilesOnADiskRootAreInItsSnapshot) {
  use_config();
  std::ofstream(dir_ / "m.txt") << "fixture file\n";
  provium::define_fixture("disk_files", {.profile = "diskroot", .boot = {.files = {{"/opt/m.txt", (dir_ / "m.txt").string()}}}},
                          [](provium::Vm& vm) { vm.exec("cp /opt/m.txt /prepared && sync"); });
  auto vm = provium::fixture("disk_files");
  EXPECT_EQ(vm.read_file("/opt/m.txt"), "fixture file\n");
  EXPECT_EQ(vm.read_file("/prepared"), "fixture file\n");
}

// A root disk that no filesystem of the kernel takes: the wrapper's reason comes first.
TEST_F(DiskBootTest, ARootDiskWithoutAFilesystemSaysSo) {
  std::ofstream(image_, std::ios::trunc) << std::string(1 << 20, '\0');
  use_config();
  auto vm = provium::create("diskroot");
  EXPECT_THAT([&] { vm.boot(); },
              ::testing::ThrowsMessage<provium::Error>(HasSubstr("provium-wrapper: cannot mount /dev/vda")));
}

TEST_F(DiskBootTest, AFixtureOverADiskBootKeepsItsRootWithTheSnapshot) {
  use_config();
  const auto before = fs::last_write_time(image_);
  provium::define_fixture("disk_booted", {.profile = "diskroot"},
                          [](provium::Vm& vm) { vm.exec("echo prepared > /prepared && sync"); });
  for (const std::string test : {"one", "two"}) {
    auto vm = provium::fixture("disk_booted");
    EXPECT_EQ(vm.read_file("/prepared"), "prepared\n");
    EXPECT_THAT(vm.exec("test -e /one"), ::provium::ExecExitsWith(::testing::Ne(0))) << "test " << test << " sees another VM's writes";
    ASSERT_THAT(vm.exec("echo " + test + " > /" + test + " && sync"), ::provium::ExecSucceeds());
  }
  EXPECT_EQ(fs::last_write_time(image_), before);
  expect_clean(image_);
}

}  // namespace
