// Every way a boot can fail says what happened: the path of a missing kernel; the deadline,
// accelerator and console when the agent never answers; QEMU's stderr for a bad option; the
// kernel's panic lines when it dies. The profiles come from a provium.toml this program writes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <provium/gtest.h>
#include <provium/provium.h>

#include "base/settings.h"
#include "support/kernel.h"

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::ThrowsMessage;
using namespace std::chrono_literals;

namespace {

std::string boot_error(const std::string& profile, provium::BootOptions options = {}) {
  auto vm = provium::create(profile);
  try {
    vm.boot(options);
  } catch (const provium::Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "profile " << profile << " booted";
  return {};
}

TEST(BootFailureTest, MissingKernelNamesThePathAndWhereItWasSet) {
  std::string message = boot_error("missing_kernel");
  EXPECT_THAT(message, HasSubstr("/nonexistent/bzImage"));
  EXPECT_THAT(message, HasSubstr("missing_kernel"));
  EXPECT_THAT(message, HasSubstr("provium.toml:2:"));  // file:line:column of `kernel = ...`
}

TEST(BootFailureTest, MissingInitrdNamesThePathAndWhereItWasSet) {
  std::string message = boot_error("missing_initrd");
  EXPECT_THAT(message, HasSubstr("/nonexistent/initrd.img"));
  EXPECT_THAT(message, HasSubstr("provium.toml:14:"));  // where `initrd = ...` is
}

TEST(BootFailureTest, NoReadyBeforeTheDeadlineNamesDeadlineAcceleratorAndConsole) {
  // The kernel runs provium-init directly as rdinit: the system is up, but no agent starts.
  provium::BootOptions options;
  options.timeout = 8s;
  std::string message = boot_error("no_agent", options);
  EXPECT_THAT(message, HasSubstr("waiting for the agent's READY: no answer within 8s"));
  EXPECT_THAT(message, HasSubstr("accelerator tcg"));
  EXPECT_THAT(message, HasSubstr("--- console"));
}

TEST(BootFailureTest, BadBootOptionsAreRefusedBeforeQemuStarts) {
  provium::BootOptions options;
  options.memory = "lots";
  EXPECT_THAT(boot_error("default", options), HasSubstr("BootOptions.memory"));
  options.memory = "512M";
  options.cpus = -1;
  EXPECT_THAT(boot_error("default", options), HasSubstr("BootOptions.cpus is -1"));
  options.cpus = 1;
  options.max_workers = 99;
  EXPECT_THAT(boot_error("default", options), HasSubstr("BootOptions.max_workers is 99"));
  options.max_workers = 15;
  options.timeout = std::chrono::milliseconds(0);
  EXPECT_THAT(boot_error("default", options), HasSubstr("BootOptions.timeout must be positive"));
}

TEST(BootFailureTest, QemuRefusingItsOptionsFailsAtOnceWithQemusStderr) {
  provium::BootOptions options;
  options.disks = {{"/nonexistent/disk.img"}};
  const auto start = std::chrono::steady_clock::now();
  std::string message = boot_error("default", options);
  EXPECT_THAT(message, HasSubstr("QEMU exited with status 1"));
  EXPECT_THAT(message, HasSubstr("--- QEMU stderr ---"));
  EXPECT_THAT(message, HasSubstr("/nonexistent/disk.img"));
  // "At once": well before the 30 s boot deadline (not a timing assertion on speed).
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

TEST(BootFailureTest, KernelPanicFailsAtOnceWithThePanicLines) {
  // No init anywhere: the kernel panics "No working init found".
  std::string message = boot_error("panics");
  EXPECT_THAT(message, HasSubstr("the guest kernel crashed"));
  EXPECT_THAT(message, HasSubstr("Kernel panic - not syncing"));
}

// Whether this host could run the vsock transport (the test of its absence needs a host without).
bool host_has_vsock() {
  const int fd = ::open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

// Forcing vsock on a host without /dev/vhost-vsock fails before QEMU starts, as a missing
// prerequisite that says what is missing and how to get it.
TEST(BootFailureTest, ForcedVsockWithoutTheDeviceSaysWhatIsMissingAndHowToGetIt) {
  if (host_has_vsock()) GTEST_SKIP() << "this host has /dev/vhost-vsock: a forced vsock boots here";
  auto vm = provium::create("vsock");
  EXPECT_THAT([&] { vm.boot(); },
              ThrowsMessage<provium::PrerequisiteError>(
                  AllOf(HasSubstr("transport \"vsock\" cannot be used on this host"),
                        HasSubstr("/dev/vhost-vsock does not exist"),
                        HasSubstr("sudo modprobe vhost_vsock"), HasSubstr("group kvm"),
                        HasSubstr("setfacl"),
                        HasSubstr("provium.toml:"),  // where `transport = "vsock"` is
                        Not(HasSubstr("QEMU")))));   // refused before QEMU starts
}

// The same through the override, which names itself.
TEST(BootFailureTest, TransportOverrideToVsockWithoutTheDeviceSaysSo) {
  if (host_has_vsock()) GTEST_SKIP() << "this host has /dev/vhost-vsock: a forced vsock boots here";
  provium::base::ScopedSettings vsock{{"PROVIUM_TRANSPORT", "vsock"}};
  auto vm = provium::create("default");
  EXPECT_THAT([&] { vm.boot(); },
              ThrowsMessage<provium::PrerequisiteError>(
                  AllOf(HasSubstr("PROVIUM_TRANSPORT (--provium_transport)"),
                        HasSubstr("sudo modprobe vhost_vsock"))));
}

TEST(BootFailureTest, ForcedPvhBootOfAKernelThatCannotSaysWhy) {
  std::string message = boot_error("pvh_impossible");
  EXPECT_THAT(message, HasSubstr("kernel_boot = \"pvh\""));
  EXPECT_THAT(message, HasSubstr("corrupt-bzImage cannot boot that way"));
}

TEST(BootFailureTest, UnknownProfileListsTheKnownOnes) {
  EXPECT_THAT([] { provium::create("no_such_profile"); },
              ThrowsMessage<provium::Error>(
                  AllOf(HasSubstr("no_such_profile"), HasSubstr("missing_kernel"))));
}

// A profile that names only a kernel gets the built-in busybox userspace, as the default does.
TEST(BootFailureTest, AKernelAloneIsEnough) {
  auto vm = provium::create("kernel_only");
  vm.boot();
  EXPECT_EQ(vm.exec("echo up").out, "up\n");
  EXPECT_THAT(vm.exec("test -x /bin/sh"), ::provium::ExecSucceeds());
}

// A kernel's modules as an unpacked package leaves them: below an INSTALL_MOD_PATH root,
// compressed with xz, zstd and gzip, without modules.dep. The guest loads them (decompressed on
// the host).
TEST(BootFailureTest, AModulesTreeWithoutModulesDepOfCompressedModulesBoots) {
  auto vm = provium::create("unpacked_modules");
  vm.boot();
  EXPECT_EQ(vm.exec("echo up").out, "up\n");
  const auto modules = vm.read_file("/proc/modules");
  // the transport's driver and what it needs, one of each compression (see main)
  EXPECT_THAT(modules, HasSubstr("virtio_console "));  // zstd
  EXPECT_THAT(modules, HasSubstr("virtio_ring "));     // gzip
  EXPECT_THAT(modules, HasSubstr("virtio_pci "));      // xz
}

TEST(BootFailureTest, AMissingRootDiskNamesThePathAndWhereItWasSet) {
  EXPECT_THAT(boot_error("disk_boot"), AllOf(HasSubstr("rootfs /srv/root.ext4 not found"), HasSubstr("provium.toml:"),
                                             Not(HasSubstr("QEMU"))));
}

// An init that cannot run: the wrapper's one line comes first, before the panic it causes, and
// the dead VM's console stays readable.
TEST(BootFailureTest, AnInitThatCannotRunIsNamedFirst) {
  auto vm = provium::create("bad_init");
  std::string message;
  try {
    vm.boot();
    ADD_FAILURE() << "profile bad_init booted";
  } catch (const provium::Error& error) {
    message = error.what();
  }
  EXPECT_THAT(message.substr(0, message.find('\n')),
              HasSubstr("the VM died: provium-wrapper: cannot exec init /nonexistent/init: No such file or directory"))
      << message;
  EXPECT_THAT(message, HasSubstr("Kernel panic"));
  EXPECT_FALSE(vm.running());
  EXPECT_THAT(vm.console_tail(1000), HasSubstr("cannot exec init /nonexistent/init"));
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  // The profiles of this suite, written before Provium reads its configuration. The default
  // profile stays the built-in one.
  const auto dir = std::filesystem::path(std::getenv("PROVIUM_RUN_DIR")) / "boot-failures";
  std::filesystem::create_directories(dir);
  const auto kernel = provium_test::newest_kernel();
  std::ofstream(dir / "provium.toml")
      << "[profile.missing_kernel]\nkernel = \"/nonexistent/bzImage\"\n\n"
      << "[profile.no_agent]\nkernel = \"" << kernel.string() << "\"\n"
      << "append = \"rdinit=/provium-init\"\n\n"
      << "[profile.panics]\nkernel = \"" << kernel.string() << "\"\n"
      << "append = \"rdinit=/nonexistent init=/nonexistent\"\n\n"
      << "[profile.missing_initrd]\nkernel = \"" << kernel.string() << "\"\n"
      << "initrd = \"/nonexistent/initrd.img\"\n\n"
      << "[profile.vsock]\nkernel = \"" << kernel.string() << "\"\ntransport = \"vsock\"\n\n"
      << "[profile.kernel_only]\nkernel = \"" << kernel.string() << "\"\n\n"
      << "[profile.bad_init]\nkernel = \"" << kernel.string() << "\"\ninit = \"/nonexistent/init\"\n\n"
      << "[profile.disk_boot]\nkernel = \"" << kernel.string() << "\"\nrootfs = \"/srv/root.ext4\"\n\n"
      << "[profile.unpacked_modules]\nkernel = \"" << kernel.string() << "\"\nmodules = \"" << (dir / "modroot").string()
      << "\"\n\n"
      << "[profile.pvh_impossible]\nkernel = \"" << (dir / "corrupt-bzImage").string() << "\"\n"
      << "kernel_boot = \"pvh\"\n";
  // The host's kernel with its compressed payload overwritten: the header (and so the release,
  // for the modules) is intact, the kernel inside cannot be decompressed.
  std::string image;
  {
    std::ifstream in(kernel, std::ios::binary);
    image.assign(std::istreambuf_iterator<char>(in), {});
  }
  if (image.size() > (2u << 20)) std::fill(image.begin() + (1u << 20), image.begin() + (2u << 20), '\0');
  std::ofstream(dir / "corrupt-bzImage", std::ios::binary) << image;
  // An INSTALL_MOD_PATH root with the host kernel's virtio and vsock modules, compressed (zstd
  // for virtio_console, gzip for virtio_ring, xz for the others), without modules.dep: what
  // `dpkg -x` of a kernel package or `make modules_install` leaves.
  const std::string release = kernel.filename().string().substr(std::string_view("vmlinuz-").size());
  const std::filesystem::path installed = std::filesystem::path("/lib/modules") / release / "kernel";
  const std::filesystem::path tree = dir / "modroot/lib/modules" / release / "kernel";
  std::filesystem::remove_all(dir / "modroot");
  std::error_code none;
  for (auto it = std::filesystem::recursive_directory_iterator(installed, none);
       !none && it != std::filesystem::recursive_directory_iterator(); it.increment(none)) {
    const std::string name = it->path().filename().string();
    if (!name.ends_with(".ko") || (name.find("virtio") == std::string::npos && name.find("vsock") == std::string::npos))
      continue;
    const auto copy = tree / it->path().lexically_relative(installed);
    std::filesystem::create_directories(copy.parent_path());
    const auto [compressor, suffix] = name == "virtio_console.ko" ? std::pair{"zstd -q", ".zst"}
                                      : name == "virtio_ring.ko"  ? std::pair{"gzip", ".gz"}
                                                                  : std::pair{"xz", ".xz"};
    const std::string command =
        std::string(compressor) + " -c '" + it->path().string() + "' > '" + copy.string() + suffix + "'";
    if (std::system(command.c_str()) != 0) std::cerr << "cannot run: " << command << "\n";
  }
  ::setenv("PROVIUM_CONFIG", (dir / "provium.toml").c_str(), 1);
  provium::testing::Init(&argc, argv);
  return provium::testing::ExitCode(RUN_ALL_TESTS());
}
