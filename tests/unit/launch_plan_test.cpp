// The launch plan: what QEMU starts with for each start mode and transport, and the boot
// options that cannot work, without a VM.
#include "vm/launch_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <provium/error.h>

#include "support/temp_dir.h"

namespace {

using namespace provium;
using vm::HostChoices;
using vm::plan_launch;
using vm::Start;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::ThrowsMessage;

const std::filesystem::path kRun = "/run/vm-x";

config::Profile profile() {
  config::Profile made;
  made.name = "p";
  made.kernel = "/boot/vmlinuz";
  made.init = "/sbin/init";
  made.append = "loglevel=7";
  return made;
}

HostChoices serial() { return {.accel = "tcg", .transport = transport::Kind::virtio_serial, .kernel_image = "/k", .vsock_cid = {}}; }

TEST(LaunchPlan, AFreshBootBuildsItsInitrdInOrdinaryMemory) {
  const auto plan = plan_launch(profile(), {}, Start::boot(), kRun, serial());
  EXPECT_TRUE(plan.builds_initrd);
  EXPECT_EQ(plan.spec.initrd, kRun / "initrd");
  EXPECT_TRUE(plan.spec.ram_file.empty());
  EXPECT_FALSE(plan.spec.incoming);
  EXPECT_EQ(plan.spec.kernel, "/k");
  EXPECT_EQ(plan.spec.console_log, kRun / "console.log");
  EXPECT_EQ(plan.spec.qmp_socket, kRun / "qmp.sock");
}

// PROVIUM_GDB: a gdbstub socket in the run directory, for a boot and a restore alike, and a kernel
// without address randomisation; without it, neither.
TEST(LaunchPlan, TheGdbstubListensInTheRunDirectoryAndTheKernelBootsWithoutKaslr) {
  auto host = serial();
  EXPECT_TRUE(plan_launch(profile(), {}, Start::boot(), kRun, host).spec.gdb_socket.empty());
  EXPECT_THAT(plan_launch(profile(), {}, Start::boot(), kRun, host).spec.append, Not(HasSubstr("nokaslr")));
  host.gdb = true;
  for (const auto& start : {Start::boot(), Start::restore("/c/ram", "/c/state", "/c/initrd")}) {
    const auto plan = plan_launch(profile(), {}, start, kRun, host);
    EXPECT_EQ(plan.spec.gdb_socket, kRun / "gdb.sock");
    EXPECT_THAT(plan.spec.append, ::testing::EndsWith(" nokaslr"));
  }
}

TEST(LaunchPlan, AFixtureBuildBootsIntoItsSharedRamFile) {
  const auto plan = plan_launch(profile(), {}, Start::boot_into_ram_file("/c/ram"), kRun, serial());
  EXPECT_TRUE(plan.builds_initrd);
  EXPECT_EQ(plan.spec.ram_file, "/c/ram");
  EXPECT_TRUE(plan.spec.ram_shared);
  EXPECT_FALSE(plan.spec.incoming);
}

TEST(LaunchPlan, AResumeRestoresCopyOnWriteWithTheSnapshotsInitrd) {
  const auto plan = plan_launch(profile(), {}, Start::restore("/c/ram", "/c/state", "/c/initrd"), kRun, serial());
  EXPECT_FALSE(plan.builds_initrd);
  EXPECT_EQ(plan.spec.initrd, "/c/initrd");
  EXPECT_EQ(plan.spec.ram_file, "/c/ram");
  EXPECT_FALSE(plan.spec.ram_shared);
  EXPECT_TRUE(plan.spec.incoming);
}

TEST(LaunchPlan, ANestedBuildRestoresIntoItsOwnRamFile) {
  const auto plan =
      plan_launch(profile(), {}, Start::restore_into_ram_file("/b/ram", "/p/state", "/b/initrd"), kRun, serial());
  EXPECT_FALSE(plan.builds_initrd);
  EXPECT_TRUE(plan.spec.ram_shared);
  EXPECT_TRUE(plan.spec.incoming);
  EXPECT_EQ(plan.spec.initrd, "/b/initrd");
}

TEST(LaunchPlan, AWholeStateRestoreHasNoRamFile) {
  const auto plan = plan_launch(profile(), {}, Start::restore_whole_state("/s/state", "/s/initrd"), kRun, serial());
  EXPECT_FALSE(plan.builds_initrd);
  EXPECT_EQ(plan.spec.ram_file, "");
  EXPECT_TRUE(plan.spec.incoming);
  EXPECT_FALSE(Start::restore_whole_state("/s/state", "/s/initrd").has_ram_file());
  EXPECT_TRUE(Start::restore("/c/ram", "/c/state", "/c/initrd").has_ram_file());
}

// A fixture's writable disks are frozen with its snapshot: its build writes to overlays, and a
// test's VM writes to a temporary overlay over them; read-only disks and plain boots are as given.
TEST(LaunchPlan, DisksOfSnapshotsAreOverlays) {
  const BootOptions options{.disks = {{"/d/data.img", "raw", false}, {"/d/ro.img", "raw", true}}};
  auto plan = plan_launch(profile(), options, Start::boot(), kRun, serial());
  ASSERT_EQ(plan.spec.drives.size(), 2u);
  EXPECT_EQ(plan.spec.drives[0].path, "/d/data.img");
  EXPECT_FALSE(plan.spec.drives[0].discard_writes);

  plan = plan_launch(profile(), options, Start::boot_into_ram_file("/b/ram").with_disks({"/b/disk0.qcow2", ""}), kRun,
                     serial());
  EXPECT_EQ(plan.spec.drives[0].path, "/b/disk0.qcow2");
  EXPECT_EQ(plan.spec.drives[0].format, "qcow2");
  EXPECT_FALSE(plan.spec.drives[0].discard_writes);  // the build's overlay becomes the snapshot's disk
  EXPECT_EQ(plan.spec.drives[1].path, "/d/ro.img");
  EXPECT_TRUE(plan.spec.drives[1].readonly);

  plan = plan_launch(profile(), options,
                     Start::restore("/c/ram", "/c/state", "/c/initrd").with_disks({"/c/disk0.qcow2", ""}), kRun, serial());
  EXPECT_EQ(plan.spec.drives[0].path, "/c/disk0.qcow2");
  EXPECT_TRUE(plan.spec.drives[0].discard_writes);  // the snapshot's disk is never written

  EXPECT_THAT([&] { plan_launch(profile(), options, Start::restore("/c/ram", "/c/state", "/c/initrd"), kRun, serial()); },
              ThrowsMessage<Error>(HasSubstr("needs an overlay")));
}

// A disk boot: the root disk is /dev/vda, before the boot options' disks, and the wrapper is
// told to mount it; a plain boot never writes the profile's image.
TEST(LaunchPlan, ARootDiskComesFirstAndIsNeverWrittenByAPlainBoot) {
  provium::testing::TempDir dir;
  auto with_root = profile();
  with_root.rootfs = dir.write("root.qcow2", std::string("QFI\xfb", 4) + std::string(64, '\0'));
  const BootOptions options{.disks = {{"/d/data.img", "raw", false}}};
  const auto disks = vm::vm_disks(with_root, options);
  ASSERT_EQ(disks.size(), 2u);
  EXPECT_EQ(disks[0].path, with_root.rootfs->string());
  EXPECT_EQ(disks[0].format, "qcow2");  // by its magic
  auto plan = plan_launch(with_root, options, Start::boot(), kRun, serial());
  EXPECT_THAT(plan.spec.append, HasSubstr("provium.root=/dev/vda"));
  EXPECT_LT(plan.spec.append.find("provium.root"), plan.spec.append.find("loglevel=7"));  // append still last
  ASSERT_EQ(plan.spec.drives.size(), 2u);
  EXPECT_TRUE(plan.spec.drives[0].discard_writes);
  EXPECT_FALSE(plan.spec.drives[1].discard_writes);  // a disk of the boot options is written as given
  EXPECT_THAT(plan_launch(profile(), {}, Start::boot(), kRun, serial()).spec.append, Not(HasSubstr("provium.root")));
  with_root.rootfs = dir.path() / "missing.ext4";
  EXPECT_THAT([&] { vm::check_boot_options(with_root, {}); }, ThrowsMessage<Error>(HasSubstr("rootfs")));
}

// A share is exported for a boot and a restore alike (the resumed VM mounts it), by the tag of
// its place in the list; a relative host path is made absolute.
TEST(LaunchPlan, SharesAreExportedByTheirIndexForEveryStart) {
  provium::testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "a");
  BootOptions options;
  options.shares = {{(dir.path() / "a").string(), "/mnt/a", false}, {dir.path().string(), "/mnt/b", true}};
  for (const auto& start : {Start::boot(), Start::restore("/c/ram", "/c/state", "/c/initrd")}) {
    const auto plan = plan_launch(profile(), options, start, kRun, serial());
    ASSERT_EQ(plan.spec.exports.size(), 2u);
    EXPECT_EQ(plan.spec.exports[0].path, dir.path() / "a");
    EXPECT_EQ(plan.spec.exports[0].tag, "provium0");
    EXPECT_FALSE(plan.spec.exports[0].readonly);
    EXPECT_EQ(plan.spec.exports[1].tag, "provium1");
    EXPECT_TRUE(plan.spec.exports[1].readonly);
  }
}

// userspace = "host": the host's / exported read-only by the wrapper's tag, after the shares,
// the root named on the command line with the modules directory Provium found installed.
TEST(LaunchPlan, TheHostsRootIsAReadOnlyExportTheWrapperMounts) {
  auto host_root = profile();
  host_root.host_root = true;
  auto host = serial();
  host.modules = "/lib/modules/6.1.0-57-amd64";
  const auto plan = plan_launch(host_root, {}, Start::boot(), kRun, host);
  ASSERT_EQ(plan.spec.exports.size(), 1u);
  EXPECT_EQ(plan.spec.exports[0].path, "/");
  EXPECT_EQ(plan.spec.exports[0].tag, qemu::kHostRootTag);
  EXPECT_TRUE(plan.spec.exports[0].readonly);
  EXPECT_THAT(plan.spec.append, HasSubstr(" provium.root=host provium.modules=/lib/modules/6.1.0-57-amd64"));
  EXPECT_THAT(plan_launch(profile(), {}, Start::boot(), kRun, host).spec.append, Not(HasSubstr("provium.modules")))
      << "only the host's root binds modules";
}

TEST(LaunchPlan, SharesThatCannotWorkAreErrorsNamingThem) {
  provium::testing::TempDir dir;
  auto plan_with = [&](Share share) {
    BootOptions options;
    options.shares = {share};
    return [options] { plan_launch(profile(), options, Start::boot(), kRun, serial()); };
  };
  const std::string host = dir.path().string();
  EXPECT_THAT(plan_with({host + "/missing", "/mnt/x"}),
              ThrowsMessage<Error>(HasSubstr("shares: host directory " + host + "/missing at guest path /mnt/x: not a directory on this host")));
  EXPECT_THAT(plan_with({host, "mnt/x"}), ThrowsMessage<Error>(HasSubstr("the guest path must be absolute")));
  EXPECT_THAT(plan_with({host, "/mnt/../etc"}), ThrowsMessage<Error>(HasSubstr("the guest path contains \"..\"")));
  EXPECT_THAT(plan_with({host, "//"}), ThrowsMessage<Error>(HasSubstr("a share cannot be the guest's root")));
}

TEST(LaunchPlan, VirtioSerialHasAPortForTheAgentAndEachWorker) {
  const auto plan = plan_launch(profile(), {.max_workers = 2}, Start::boot(), kRun, serial());
  EXPECT_EQ(plan.port_count, 3u);
  EXPECT_THAT(plan.spec.port_sockets, ElementsAre(kRun / "port0.sock", kRun / "port1.sock", kRun / "port2.sock"));
  EXPECT_FALSE(plan.spec.vsock_cid);
  EXPECT_THAT(plan.spec.append, HasSubstr("provium.transport=virtio-serial"));
  EXPECT_THAT(plan.spec.append, ::testing::EndsWith("loglevel=7"));
}

TEST(LaunchPlan, VsockHasItsCidAndTellsTheAgentTheWorkerLimit) {
  const HostChoices host{.accel = "kvm", .transport = transport::Kind::vsock, .kernel_image = "/k", .vsock_cid = 12};
  const auto plan = plan_launch(profile(), {.max_workers = 4}, Start::boot(), kRun, host);
  EXPECT_EQ(plan.port_count, 0u);
  EXPECT_THAT(plan.spec.port_sockets, IsEmpty());
  EXPECT_EQ(plan.spec.vsock_cid, 12u);
  EXPECT_EQ(plan.spec.accel, "kvm");
  EXPECT_THAT(plan.spec.append, HasSubstr("provium.transport=vsock provium.max_workers=4"));
}

TEST(LaunchPlan, BootOptionsThatCannotWorkAreErrorsNamingThem) {
  auto check = [](BootOptions options) { vm::check_boot_options(profile(), options); };
  EXPECT_NO_THROW(check({}));
  EXPECT_THAT([&] { check({.memory = "lots"}); }, ThrowsMessage<Error>(HasSubstr("BootOptions.memory")));
  EXPECT_THAT([&] { check({.cpus = 0}); }, ThrowsMessage<Error>(HasSubstr("BootOptions.cpus is 0")));
  EXPECT_THAT([&] { check({.max_workers = 31}); }, ThrowsMessage<Error>(HasSubstr("max_workers is 31; it must be 0..30")));
  EXPECT_THAT([&] { check({.timeout = std::chrono::milliseconds(0)}); },
              ThrowsMessage<Error>(HasSubstr("timeout must be positive")));
  auto with_initrd = profile();
  with_initrd.initrd = "/nonexistent/initrd.img";
  EXPECT_THAT([&] { vm::check_boot_options(with_initrd, {}); },
              ThrowsMessage<Error>(HasSubstr("initrd /nonexistent/initrd.img not found")));
}

}  // namespace
