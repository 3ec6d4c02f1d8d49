// The host's userspace in the guest: programs built the normal way on the host (a plain `cc`,
// one with a library of its own found through $ORIGIN, an upstream kselftest built without
// -static) bring their libraries into the busybox guest. The kernel is the minimal one built
// from Debian's linux-source-6.1 (support/own_kernel.h), whose source tree the kselftest comes
// from.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include <unistd.h>

#include <provium/gtest.h>

#include "support/child_process.h"
#include "support/own_kernel.h"

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {
fs::path tree;  // set by main: the minimal kernel's build tree

// Where main builds the host's programs: the run directory's userspace/.
std::string userspace(const std::string& name) {
  return (fs::path(std::getenv("PROVIUM_RUN_DIR")) / "userspace" / name).string();
}

provium_test::ChildRun sh(const std::string& script) {
  return provium_test::ChildProcess({"/bin/sh", "-c", script}, {}).wait();
}

// This program run again for the DISABLED_ test of `fixture` alone, which builds the fixture; its
// main skips building the programs then (PROVIUM_HOST_ROOT_FIXTURE).
provium_test::ChildRun build_fixture_in_a_child(const std::string& fixture) {
  return provium_test::ChildProcess({fs::read_symlink("/proc/self/exe").string(), "--gtest_filter=" + fixture + ".*",
                                     "--gtest_also_run_disabled_tests"},
                                    {{"PROVIUM_HOST_ROOT_FIXTURE", "1"}})
      .wait();
}

provium_test::ChildRun provium_cli(std::vector<std::string> args) {
  args.insert(args.begin(), std::getenv("PROVIUM_CLI"));
  return provium_test::ChildProcess(args, {}).wait();
}
}  // namespace

// The fixture's body runs a dynamic program too: the libraries are in its snapshot.
PROVIUM_FIXTURE_WITH(dynamic_programs, {.profile = "own",
                                        .boot = {.files = {{"/opt/plain", userspace("plain")},
                                                           {"/opt/t/bin/prog", userspace("bin/prog")},
                                                           {"/opt/selftests/sas", userspace("sas")},
                                                           {"/bin/bash", "/bin/bash"}}}}) {
  vm.exec("/opt/plain > /tmp/from-the-fixture");
}

TEST_F(dynamic_programs, APlainCcProgramRunsInTheBusyboxGuest) {
  EXPECT_THAT(vm.exec("/opt/plain"), ::provium::ExecOutputIs("a plain cc build\n"));
  EXPECT_EQ(vm.read_file("/tmp/from-the-fixture"), "a plain cc build\n");
  EXPECT_THAT(vm.exec("test -e /lib64/ld-linux-x86-64.so.2"), ::provium::ExecSucceeds()) << "its interpreter came";
}

TEST_F(dynamic_programs, AProgramWithALibraryOfItsOwnUnderOriginRuns) {
  EXPECT_THAT(vm.exec("/opt/t/bin/prog"), ::provium::ExecOutputIs("own library\n"));
  EXPECT_THAT(vm.exec("test -f /opt/t/lib/libown.so"), ::provium::ExecSucceeds()) << "where $ORIGIN/../lib points";
}

// The host's bash, as docs/selftests.md puts it in for run_kselftest.sh.
TEST_F(dynamic_programs, TheHostsBashRunsInTheBusyboxGuest) {
  EXPECT_THAT(vm.exec("bash -c 'echo bash ${BASH_VERSINFO[0]}'"), ::provium::ExecOutputIs("bash 5\n"));
}

// sigaltstack's sas, built with the selftest's own Makefile (no -static): its TAP passes.
TEST_F(dynamic_programs, AnUpstreamKselftestBuiltWithoutStaticPassesThroughRunTap) {
  const auto result = provium::run_tap(vm, "/opt/selftests/sas");
  PROVIUM_EXPECT_TAP(result);
  EXPECT_GE(result.tests.size(), 3u) << result.output;
}

// A library gone from the host fails the boot before QEMU starts, naming it and the program.
TEST(HostUserspace, AMissingLibraryIsAnErrorNamingItAndTheProgram) {
  auto vm = provium::create("own");
  EXPECT_THAT([&] { vm.boot({.files = {{"/opt/broken", userspace("broken/bin/prog")}}}); },
              ::testing::ThrowsMessage<provium::Error>(::testing::AllOf(
                  HasSubstr("guest path /opt/broken from host path " + userspace("broken/bin/prog")),
                  HasSubstr("it needs the library libown.so, which the host's dynamic loader does not find"))));
  const auto run = provium_cli({"run", "--profile", "own", "--file", userspace("broken/bin/prog") + ":/opt/broken",
                                "--", "/opt/broken"});
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("it needs the library libown.so")) << run.output;
}

// provium run's --file brings the libraries too.
TEST(HostUserspace, ProviumRunsFileBringsTheLibraries) {
  const auto run = provium_cli({"run", "--profile", "own", "--file", userspace("plain") + ":/opt/plain", "--",
                                "/opt/plain"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("a plain cc build")) << run.output;
}

// --- shared directories (virtio-9p) --------------------------------------------------------------

// A host directory of the run's, made empty.
std::string fresh_share(const std::string& name) {
  const fs::path dir = fs::path(std::getenv("PROVIUM_RUN_DIR")) / "shares" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string read_host_file(const fs::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(Shares, AShareIsWrittenFromBothSides) {
  const std::string dir = fresh_share("both");
  std::ofstream(fs::path(dir) / "from-host") << "host wrote this\n";
  auto vm = provium::create("own");
  vm.boot({.shares = {{dir, "/mnt/deep/share"}}});
  EXPECT_EQ(vm.read_file("/mnt/deep/share/from-host"), "host wrote this\n");
  vm.write_file("/mnt/deep/share/from-guest", "guest wrote this\n");
  EXPECT_EQ(read_host_file(fs::path(dir) / "from-guest"), "guest wrote this\n");
  std::ofstream(fs::path(dir) / "from-host", std::ios::app) << "and then more\n";
  EXPECT_EQ(vm.read_file("/mnt/deep/share/from-host"), "host wrote this\nand then more\n") << "no stale cache";
  EXPECT_THAT(vm.exec("mkdir /mnt/deep/share/sub && echo x > /mnt/deep/share/sub/y"), ::provium::ExecSucceeds());
  EXPECT_EQ(read_host_file(fs::path(dir) / "sub/y"), "x\n");
}

TEST(Shares, AReadOnlyShareRefusesTheGuestsWrites) {
  const std::string dir = fresh_share("ro");
  std::ofstream(fs::path(dir) / "f") << "kept\n";
  auto vm = provium::create("own");
  vm.boot({.shares = {{dir, "/mnt/ro", true}}});
  const auto write = vm.exec("echo changed > /mnt/ro/f");
  EXPECT_NE(write.exit_code, 0);
  EXPECT_THAT(write.err, HasSubstr("Read-only file system"));
  EXPECT_EQ(read_host_file(fs::path(dir) / "f"), "kept\n");
}

// The minimal kernel has no securityfs (kconfig/provium.config does not ask for it): mount_vfs()
// mounts everything else and skips that one instead of failing.
TEST(MinimalKernel, MountVfsSkipsAFilesystemTheKernelLacks) {
  auto vm = provium::create("own");
  vm.boot();
  ASSERT_THAT(vm.exec("grep -w securityfs /proc/filesystems"), ::provium::ExecExitsWith(1))
      << "this kernel has securityfs: the test proves nothing";
  vm.mount_vfs();
  const std::string mounts = vm.read_file("/proc/mounts");
  EXPECT_THAT(mounts, HasSubstr(" /dev/pts devpts "));
  EXPECT_THAT(mounts, HasSubstr(" /dev/shm tmpfs "));
  EXPECT_THAT(mounts, HasSubstr(" /run tmpfs "));
  EXPECT_THAT(mounts, Not(HasSubstr("securityfs")));
  vm.mount_vfs();  // idempotent still
  EXPECT_EQ(vm.read_file("/proc/mounts"), mounts);
}

// A kernel without 9p (Debian's cloud kernel, the built-in profile's) is refused before the boot,
// naming the options.
TEST(Shares, AKernelWithout9pIsRefusedNamingTheOptions) {
  auto vm = provium::create();
  EXPECT_THAT([&] { vm.boot({.shares = {{fresh_share("no9p"), "/mnt/x"}}}); },
              ::testing::ThrowsMessage<provium::Error>(HasSubstr("(CONFIG_9P_FS)")));
}

TEST(Shares, BadSharesAreErrorsNamingThem) {
  auto vm = provium::create("own");
  EXPECT_THAT([&] { vm.boot({.shares = {{"/nonexistent/dir", "/mnt/x"}}}); },
              ::testing::ThrowsMessage<provium::Error>(HasSubstr(
                  "shares: host directory /nonexistent/dir at guest path /mnt/x: not a directory on this host")));
  auto relative = provium::create("own");
  EXPECT_THAT([&] { relative.boot({.shares = {{fresh_share("bad"), "mnt/x"}}}); },
              ::testing::ThrowsMessage<provium::Error>(HasSubstr("the guest path must be absolute")));
}

// A fixture's share is mounted in each resumed VM, not in the snapshot: a file written on the
// host after the snapshot was taken is there. The body used the share too.
std::string fixture_share() { return (fs::path(std::getenv("PROVIUM_RUN_DIR")) / "shares" / "fixture").string(); }

PROVIUM_FIXTURE_WITH(shared_dir, {.profile = "own", .boot = {.shares = {{fixture_share(), "/mnt/host"}}}}) {
  vm.exec("cp /mnt/host/at-build /tmp/seen-at-build");
}

TEST_F(shared_dir, AResumedVmSeesAFileWrittenOnTheHostAfterTheSnapshot) {
  EXPECT_EQ(vm.read_file("/tmp/seen-at-build"), "there at the build\n");
  const std::string marker = std::to_string(::getpid()) + "-" + std::to_string(std::rand());
  std::ofstream(fs::path(fixture_share()) / "after") << marker;
  EXPECT_EQ(vm.read_file("/mnt/host/after"), marker);
}

TEST_F(shared_dir, EachResumedVmMountsItAgain) {
  EXPECT_THAT(vm.exec("grep ' /mnt/host 9p ' /proc/mounts"), ::provium::ExecSucceeds());
}

TEST(Shares, ProviumRunSharesADirectory) {
  const std::string dir = fresh_share("cli");
  std::ofstream(fs::path(dir) / "f") << "through provium run\n";
  const auto run = provium_cli({"run", "--profile", "own", "--share", dir + ":/mnt/cli", "--", "cat", "/mnt/cli/f"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("through provium run"));
  const auto same_path = provium_cli({"run", "--profile", "own", "--share", dir + ":ro", "--", "cat", dir + "/f"});
  EXPECT_EQ(same_path.exit_code, 0) << same_path.output << ": HOST alone is shared at its own path";
  const auto bad = provium_cli({"run", "--profile", "own", "--share", ":/mnt/x", "--", "true"});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr("--share \":/mnt/x\": give HOST, HOST:GUEST, or either followed by :ro"));
}

// A profile's shares: every VM of it has them.
TEST(Shares, AProfilesSharesAreInEveryVmOfIt) {
  auto vm = provium::create("shared");
  vm.boot();
  EXPECT_EQ(vm.read_file("/mnt/profile/at-build"), "there at the build\n");
}

// The same from Lua (vm:boot{shares = ...}), through provium test.
TEST(Shares, LuasBootTakesShares) {
  const std::string dir = fresh_share("lua");
  std::ofstream(fs::path(dir) / "from-host") << "host\n";
  const auto run = provium_test::ChildProcess({std::getenv("PROVIUM_CLI"), "test",
                                               (fs::path(std::getenv("PROVIUM_HOST_USERSPACE_DATA")) / "shares.lua").string()},
                                              {{"SHARE_DIR", dir}})
                       .wait();
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("1 passed")) << run.output;
}

// A fixture's body that leaves its share in use cannot be snapshotted: the build fails saying
// which share and why, instead of QEMU's migration error. Run as a child, like the host-root one.
TEST(Shares, AFixtureThatLeavesItsShareBusyFailsNamingIt) {
  const auto build = build_fixture_in_a_child("busy_share");
  EXPECT_NE(build.exit_code, 0) << build.output;
  EXPECT_THAT(build.output, HasSubstr("shares: guest path /mnt/busy is still in use (an open file or a working "
                                      "directory in it); QEMU cannot snapshot a VM with a share mounted"))
      << build.output;
}

PROVIUM_FIXTURE_WITH(busy_share, {.profile = "own", .boot = {.shares = {{fixture_share(), "/mnt/busy"}}}}) {
  vm.background("cd /mnt/busy && exec sleep 1000");
  vm.exec("until [ \"$(readlink /proc/$(pidof sleep)/cwd)\" = /mnt/busy ]; do sleep 0.05; done");
}
TEST_F(busy_share, DISABLED_NeverRunsItsBody) { ADD_FAILURE() << "a fixture with a busy share was built"; }

// --- the host's root ------------------------------------------------------------------------------

// The host's Python and bash run unchanged in the guest, on provium run --host-root.
TEST(HostRoot, ProviumRunHostRootRunsTheHostsPythonAndBash) {
  const auto run = provium_cli({"run", "--profile", "own", "--host-root", "--",
                                "python3 -c 'import sys; print(\"python\", sys.version_info[0])'; "
                                "bash -c 'echo bash ${BASH_VERSINFO[0]}'"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("python 3\n"));
  EXPECT_THAT(run.output, HasSubstr("bash 5\n"));
}

// --host-root takes the place of a profile's own root, so one that has a rootfs is refused, and
// a fixture's VM (resumed from a snapshot) cannot be on it.
TEST(HostRoot, BadHostRootCommandLinesAreRefused) {
  const fs::path config = fs::path(std::getenv("PROVIUM_RUN_DIR")) / "disk-root.toml";
  std::ofstream(config) << "[profile.disk]\nkernel = \"" << tree.string() << "\"\nrootfs = \"root.img\"\n";
  const auto disk = provium_cli({"run", "--config", config.string(), "--profile", "disk", "--host-root", "--", "true"});
  EXPECT_EQ(disk.exit_code, 125) << disk.output;
  EXPECT_THAT(disk.output, HasSubstr("--host-root: profile 'disk'"));
  EXPECT_THAT(disk.output, HasSubstr("has a rootfs of its own; the host's root would take its place"));
  const auto fixture = provium_cli({"run", "--fixture", "any", "--host-root", "--", "true"});
  EXPECT_EQ(fixture.exit_code, 2) << fixture.output;
  EXPECT_THAT(fixture.output, HasSubstr("--fixture's VM is resumed from its snapshot; the host's root cannot be in one"));
}

// userspace = "host" in a profile: the guest's writes stay in its overlay, the host's root is
// untouched, and the host's kernel modules are out of sight (they are not the guest kernel's).
TEST(HostRoot, AHostRootProfilesWritesStayInTheGuest) {
  const fs::path marker = fs::path(std::getenv("PROVIUM_RUN_DIR")) / "written-by-the-guest";
  fs::remove(marker);
  auto vm = provium::create("hostroot");
  vm.boot();
  EXPECT_THAT(vm.exec("echo guest > " + marker.string() + " && cat " + marker.string()),
              ::provium::ExecOutputIs("guest\n"));
  EXPECT_FALSE(fs::exists(marker)) << "the write stayed in the guest's overlay";
  EXPECT_THAT(vm.exec("cat /proc/mounts"), ::provium::ExecOutputIs(HasSubstr("overlay / overlay ")));
  EXPECT_THAT(vm.exec("ls /lib/modules | wc -l"), ::provium::ExecOutputIs("0\n"));
  EXPECT_THAT(vm.exec("test -x /usr/bin/python3"), ::provium::ExecSucceeds()) << "the host's own files";
}

// A fixture cannot stand on the host's root: its 9p export stays mounted, and QEMU refuses to
// save such a VM. The build says so before any QEMU starts.
TEST(HostRoot, AFixtureOnTheHostsRootIsRefusedWithTheReason) {
  const auto build = build_fixture_in_a_child("on_host_root");
  EXPECT_NE(build.exit_code, 0) << build.output;
  EXPECT_THAT(build.output, HasSubstr("cannot be snapshotted, so it cannot hold a fixture: QEMU refuses to save a VM "
                                      "whose 9p export is mounted"))
      << build.output;
}

// Run only by the test above, as a child (which skips building the programs: PROVIUM_HOST_ROOT_FIXTURE,
// also set for the busy share's).
PROVIUM_FIXTURE(on_host_root, "hostroot") {}
TEST_F(on_host_root, DISABLED_NeverRunsItsBody) { ADD_FAILURE() << "a fixture on the host's root was built"; }

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  tree = provium_test::build_own_kernel("minimal");
  if (tree.empty()) return 1;
  const fs::path run_dir = std::getenv("PROVIUM_RUN_DIR");
  fs::create_directories(run_dir);
  // The programs, built the normal way: gcc without -static, the selftest with its Makefile.
  const auto build = std::getenv("PROVIUM_HOST_ROOT_FIXTURE") ? provium_test::ChildRun{0, ""} : sh("set -e; d='" + userspace("") + "'; rm -rf \"$d\"; mkdir -p \"$d/bin\" \"$d/lib\" \"$d/broken/bin\"\n"
                        "cd \"$d\"\n"
                        "printf '#include <stdio.h>\\nint main(void) { puts(\"a plain cc build\"); return 0; }\\n' > plain.c\n"
                        "printf '#include <stdio.h>\\nvoid own(void) { puts(\"own library\"); }\\n' > own.c\n"
                        "printf 'void own(void);\\nint main(void) { own(); return 0; }\\n' > prog.c\n"
                        "cc -o plain plain.c\n"
                        "cc -shared -fPIC -o lib/libown.so own.c\n"
                        "cc -o bin/prog prog.c -Llib -lown '-Wl,-rpath,$ORIGIN/../lib'\n"
                        "cp bin/prog broken/bin/prog\n"
                        "make -s -C '" + (tree / "source/tools/testing/selftests/sigaltstack").string() +
                        "' OUTPUT=\"$d\"\n");
  if (build.exit_code != 0) {
    std::cerr << "the programs could not be built:\n" << build.output;
    return 1;
  }
  fs::create_directories(fixture_share());
  std::ofstream(fs::path(fixture_share()) / "at-build") << "there at the build\n";
  std::ofstream(run_dir / "provium.toml") << "[profile.own]\nkernel = \"" << tree.string() << "\"\n\n"
                                          << "[profile.hostroot]\nkernel = \"" << tree.string()
                                          << "\"\nuserspace = \"host\"\n\n"
                                          << "[profile.shared]\nkernel = \"" << tree.string() << "\"\nshares = [\""
                                          << fixture_share() << ":/mnt/profile:ro\"]\n";
  ::setenv("PROVIUM_CONFIG", (run_dir / "provium.toml").c_str(), 1);
  provium::testing::Init(&argc, argv);
  return provium::testing::ExitCode(RUN_ALL_TESTS());
}
