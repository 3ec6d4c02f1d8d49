// QEMU's command line, the accelerator choice and the reading of a crashed guest's console.
#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <provium/error.h>

#include "host/accel.h"
#include "qemu/command_line.h"
#include "vm/console.h"
#include "vm/silence.h"

using namespace provium;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;
using ::testing::ThrowsMessage;

namespace {

qemu::LaunchSpec spec() {
  qemu::LaunchSpec s;
  s.kernel = "/k/bzImage";
  s.initrd = "/run/vm-1/initrd";
  s.append = "console=ttyS0";
  s.console_log = "/run/vm-1/console.log";
  s.qmp_socket = "/run/vm-1/qmp.sock";
  s.port_sockets = {"/run/vm-1/port0.sock"};
  return s;
}

TEST(QemuArgsTest, TcgMachineWithSerialPortAndMonitor) {
  auto argv = qemu::qemu_argv(spec());
  EXPECT_EQ(argv.front(), "qemu-system-x86_64");
  EXPECT_THAT(argv, IsSupersetOf({"-nodefaults", "-no-user-config", "-no-reboot"}));
  auto after = [&](const std::string& option) {
    auto it = std::find(argv.begin(), argv.end(), option);
    return it == argv.end() || it + 1 == argv.end() ? std::string() : *(it + 1);
  };
  EXPECT_EQ(after("-M"), "q35");
  EXPECT_EQ(after("-accel"), "tcg");
  EXPECT_EQ(after("-cpu"), "max,-erms,-fsrm");  // no rep movsb/stosb: TCG runs them slowly
  EXPECT_EQ(after("-kernel"), "/k/bzImage");
  EXPECT_EQ(after("-initrd"), "/run/vm-1/initrd");
  EXPECT_EQ(after("-qmp"), "unix:/run/vm-1/qmp.sock,server=on,wait=off");
  EXPECT_THAT(argv, Contains("socket,id=port0,path=/run/vm-1/port0.sock,server=on,wait=off"));
  EXPECT_THAT(argv, Contains("virtserialport,bus=vser0.0,nr=1,chardev=port0,name=provium.0"));
}

TEST(QemuArgsTest, KvmUsesTheHostCpu) {
  auto s = spec();
  s.accel = "kvm";
  auto argv = qemu::qemu_argv(s);
  auto cpu = std::find(argv.begin(), argv.end(), "-cpu");
  ASSERT_NE(cpu, argv.end());
  EXPECT_EQ(*(cpu + 1), "host");
}

TEST(QemuArgsTest, CommasInPathsAreEscapedForQemu) {
  auto s = spec();
  s.console_log = "/tmp/a,b/console.log";
  EXPECT_THAT(qemu::qemu_argv(s), Contains("file,id=console,path=/tmp/a,,b/console.log"));
}

TEST(QemuArgsTest, AGdbSocketIsAGdbstubThatDoesNotWait) {
  EXPECT_THAT(qemu::qemu_argv(spec()), Not(Contains("-gdb")));
  auto s = spec();
  s.gdb_socket = "/run/vm,1/gdb.sock";
  const auto argv = qemu::qemu_argv(s);
  const auto gdb = std::find(argv.begin(), argv.end(), "-gdb");
  ASSERT_NE(gdb, argv.end());
  EXPECT_EQ(*(gdb + 1), "unix:/run/vm,,1/gdb.sock,server=on,wait=off");
}

TEST(QemuArgsTest, DisksAreVirtioDrives) {
  auto s = spec();
  s.drives = {{"/d/root.img", "raw", true}, {"/d/data.qcow2", "qcow2", false}, {"/c/disk0.qcow2", "qcow2", false, true}};
  auto argv = qemu::qemu_argv(s);
  EXPECT_THAT(argv, Contains("file=/d/root.img,format=raw,if=virtio,readonly=on"));
  EXPECT_THAT(argv, Contains("file=/d/data.qcow2,format=qcow2,if=virtio,readonly=off"));
  EXPECT_THAT(argv, Contains("file=/c/disk0.qcow2,format=qcow2,if=virtio,readonly=off,snapshot=on"));
  s.drives = {{"/d/x.vmdk", "vmdk", false}};
  EXPECT_THROW(qemu::qemu_argv(s), Error);
}

// Shares are 9p exports of QEMU's own (no daemon), by tag; a comma in the path is doubled.
TEST(QemuArgsTest, SharesAreVirtio9pExportsByTag) {
  auto s = spec();
  s.exports = {{"/home/u/src", "provium0", false}, {"/home/u/a,b", "provium1", true}};
  auto argv = qemu::qemu_argv(s);
  EXPECT_THAT(argv, Contains("local,id=fs0,path=/home/u/src,security_model=none,multidevs=remap"));
  EXPECT_THAT(argv, Contains("virtio-9p-pci,fsdev=fs0,mount_tag=provium0"));
  EXPECT_THAT(argv, Contains("local,id=fs1,path=/home/u/a,,b,security_model=none,multidevs=remap,readonly=on"));
  EXPECT_THAT(argv, Contains("virtio-9p-pci,fsdev=fs1,mount_tag=provium1"));
}

TEST(QemuArgsTest, VirtioSerialTransportHasNoVsockDevice) {
  auto argv = qemu::qemu_argv(spec());
  EXPECT_THAT(argv, Contains("virtio-serial-pci,id=vser0,max_ports=2"));
  for (const auto& arg : argv) EXPECT_THAT(arg, Not(HasSubstr("vhost-vsock")));
}

TEST(QemuArgsTest, VsockTransportIsAVhostVsockDeviceWithTheGuestCid) {
  auto s = spec();
  s.port_sockets.clear();
  s.vsock_cid = 42;
  auto argv = qemu::qemu_argv(s);
  EXPECT_THAT(argv, Contains("vhost-vsock-pci,id=vsock0,guest-cid=42"));
  for (const auto& arg : argv) {
    EXPECT_THAT(arg, Not(HasSubstr("virtio-serial")));
    EXPECT_THAT(arg, Not(HasSubstr("virtserialport")));
  }
  // The same device set in a restoring QEMU, only the CID differs (a snapshot resumes anywhere).
  s.incoming = true;
  s.vsock_cid = 43;
  EXPECT_THAT(qemu::qemu_argv(s), Contains("vhost-vsock-pci,id=vsock0,guest-cid=43"));
}

TEST(QemuArgsTest, KernelCommandLineNamesTheTransportAndForVsockTheWorkerLimit) {
  auto serial = qemu::kernel_command_line("/sbin/init", transport::Kind::virtio_serial, "", 15);
  EXPECT_THAT(serial, HasSubstr("provium.transport=virtio-serial"));
  EXPECT_THAT(serial, Not(HasSubstr("provium.max_workers")));
  auto vsock = qemu::kernel_command_line("/sbin/init", transport::Kind::vsock, "loglevel=7", 15);
  EXPECT_THAT(vsock, HasSubstr("provium.transport=vsock provium.max_workers=15"));
  EXPECT_EQ(vsock.substr(vsock.size() - 10), "loglevel=7");
}

// The root the wrapper switches to, and on the host's root the modules directory it binds; one
// whose path the command line cannot carry is left out.
TEST(QemuArgsTest, KernelCommandLineNamesTheRootAndTheHostRootsModules) {
  const auto disk = qemu::kernel_command_line("/sbin/init", transport::Kind::virtio_serial, "", 15, "/dev/vda");
  EXPECT_THAT(disk, HasSubstr(" provium.root=/dev/vda"));
  EXPECT_THAT(disk, Not(HasSubstr("provium.modules")));
  const auto host = qemu::kernel_command_line("/provium-init", transport::Kind::virtio_serial, "quiet", 15, "host",
                                              "/lib/modules/6.1.0-57-amd64");
  EXPECT_THAT(host, HasSubstr(" provium.root=host provium.modules=/lib/modules/6.1.0-57-amd64 quiet"));
  EXPECT_THAT(qemu::kernel_command_line("/provium-init", transport::Kind::virtio_serial, "", 15, "host", "/my modules"),
              Not(HasSubstr("provium.modules")));
  EXPECT_THAT(qemu::kernel_command_line("/sbin/init", transport::Kind::virtio_serial, "", 15),
              Not(HasSubstr("provium.root")));
}

TEST(QemuArgsTest, KernelCommandLineEndsWithTheProfilesAppend) {
  auto line = qemu::kernel_command_line("/sbin/init", transport::Kind::virtio_serial, "loglevel=7", 15);
  EXPECT_THAT(line, HasSubstr("console=ttyS0 panic=-1"));
  EXPECT_THAT(line, HasSubstr("rdinit=/provium-wrapper provium.init=/sbin/init"));
  EXPECT_THAT(line, HasSubstr("provium.transport=virtio-serial"));
  EXPECT_EQ(line.substr(line.size() - 10), "loglevel=7");
}

TEST(AccelTest, AutoNeverTrustsKvmDeviceAlone) {
  // /dev/kvm that opens but no vmx/svm: the PVM backend that hangs a standard guest.
  EXPECT_EQ(host::choose_accel("auto", {.kvm_device_usable = true, .cpu_has_vmx_or_svm = false}), "tcg");
  EXPECT_EQ(host::choose_accel("auto", {.kvm_device_usable = false, .cpu_has_vmx_or_svm = true}), "tcg");
  EXPECT_EQ(host::choose_accel("auto", {.kvm_device_usable = true, .cpu_has_vmx_or_svm = true}), "kvm");
  EXPECT_EQ(host::choose_accel("tcg", {.kvm_device_usable = true, .cpu_has_vmx_or_svm = true}), "tcg");
}

TEST(AccelTest, ForcedKvmThatCannotWorkSaysWhy) {
  EXPECT_THAT([] { host::choose_accel("kvm", {.kvm_device_usable = true, .cpu_has_vmx_or_svm = false}); },
              ThrowsMessage<Error>(HasSubstr("vmx/svm")));
  EXPECT_THROW(host::choose_accel("xen", {}), Error);
}

TEST(AccelTest, ReadsCpuFlags) {
  EXPECT_TRUE(host::cpuinfo_has_virtualization("processor: 0\nflags\t\t: fpu vme vmx sse\n"));
  EXPECT_TRUE(host::cpuinfo_has_virtualization("flags : svm lm\n"));
  EXPECT_FALSE(host::cpuinfo_has_virtualization("flags : fpu vmxnet\nmodel name: vmx cpu\n"));
}

TEST(ConsoleTest, WrapperComplaintsAreItsOwnLines) {
  EXPECT_EQ(vm::wrapper_complaints("[    1.0] booting\nprovium-wrapper: cannot exec init /x: No such file or directory\r\n"
                                   "[    1.2] Kernel panic - not syncing: Attempted to kill init!\n"),
            "provium-wrapper: cannot exec init /x: No such file or directory\n");
  EXPECT_EQ(vm::wrapper_complaints("[    1.0] booting\n"), "");
}


}  // namespace

TEST(SilenceTest, ADeadAgentAndAHungKernelAreToldApart) {
  using provium::vm::why_silent;
  EXPECT_EQ(why_silent("[    1.0] virtio\r\nprovium-wrapper: the agent (pid 93) was killed by signal 9 (Killed): "
                       "nothing answers the host any more\r\n$ "),
            "the agent died (provium-wrapper: the agent (pid 93) was killed by signal 9 (Killed): nothing answers "
            "the host any more)");
  EXPECT_EQ(why_silent("[   42.1] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [insmod:120]\n[   42.2] Modules "
                       "linked in: hang\n"),
            "the kernel is hung (watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [insmod:120])");
  EXPECT_EQ(why_silent("[  123.4] INFO: task cat:99 blocked for more than 120 seconds."),
            "the kernel is hung (INFO: task cat:99 blocked for more than 120 seconds.)");
  EXPECT_EQ(why_silent("[    0.9] Run /init as init process\n"), "");
}
