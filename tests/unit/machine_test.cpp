// vm::Machine's boot against a fake QEMU: a shell script the profile names as its `qemu`, which
// exits, dies of a signal or hangs as each test tells it. The paths that with a real QEMU need a
// broken host or a hung guest (QEMU's own exit with its stderr, a signal from outside, a boot
// that misses its deadline, Provium's own kill) run here in milliseconds, through the real
// launch: run directory, initrd, command line, setpriv, the loop, QMP and the agent's wait.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <provium/error.h>

#include "config/profile.h"
#include "kernel/kconfig.h"
#include "support/temp_dir.h"
#include "vm/death.h"
#include "vm/machine.h"

using namespace std::chrono_literals;
using provium::Error;
using provium::TimeoutError;
using provium::vm::Death;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

// A profile whose QEMU is `script` (the body of a /bin/sh script): a kernel and an initrd that
// are only files, booted as a bzImage over virtio-serial under TCG, so that nothing reads them.
class FakeQemu {
 public:
  explicit FakeQemu(const std::string& script, const std::string& kernel_boot = "bzimage") {
    profile_.name = "fake";
    profile_.kernel = dir_.write("bzImage", "not a kernel");
    profile_.initrd = dir_.write("initrd", std::string(512, '\0'));
    // The transport's drivers built in, so that the shim needs no module.
    dir_.write("modules/modules.dep", "");
    dir_.write("modules/modules.builtin", "kernel/drivers/virtio/virtio_pci.ko\nkernel/drivers/char/virtio_console.ko\n");
    profile_.modules = dir_.path() / "modules";
    profile_.kernel_boot = kernel_boot;
    profile_.transport = "virtio-serial";
    profile_.accel = "tcg";
    profile_.qemu = dir_.write("qemu", "#!/bin/sh\n" + script + "\n").string();
    std::filesystem::permissions(profile_.qemu, std::filesystem::perms::owner_all);
  }

  // A configuration beside the kernel, as a build tree has: `config` on top of what Provium needs.
  void configure(const std::string& config) const {
    dir_.write(".config", provium::kernel::provium_fragment(false).text() + config);
  }

  std::shared_ptr<provium::vm::Machine> machine(std::chrono::milliseconds boot_timeout = 10s) const {
    return std::make_shared<provium::vm::Machine>(profile_, provium::BootOptions{.timeout = boot_timeout},
                                                  provium::vm::Start::boot(),
                                                  provium::vm::HostResources::of_this_user());
  }

 private:
  provium::testing::TempDir dir_;
  provium::config::Profile profile_;
};

}  // namespace

TEST(Machine, AQemuThatExitsIsADeathWithItsStatusAndStderr) {
  FakeQemu qemu("echo 'qemu-system-x86_64: -machine q35: no such machine here' >&2; exit 1");
  auto machine = qemu.machine();
  EXPECT_THAT([&] { machine->boot(); },
              ThrowsMessage<Error>(AllOf(HasSubstr("the VM died: QEMU exited with status 1"),
                                         HasSubstr("--- QEMU stderr ---\nqemu-system-x86_64: -machine q35: no such machine here"))));
  EXPECT_EQ(machine->death_cause(), Death::Cause::exited);
  EXPECT_TRUE(provium::vm::damages_entry(machine->death_cause()));
}

TEST(Machine, AQemuKilledFromOutsideIsSignalledAndSparesTheEntry) {
  FakeQemu qemu("kill -9 $$");
  auto machine = qemu.machine();
  EXPECT_THAT([&] { machine->boot(); }, ThrowsMessage<Error>(HasSubstr("QEMU was killed by signal 9")));
  EXPECT_EQ(machine->death_cause(), Death::Cause::signalled);
  EXPECT_FALSE(provium::vm::damages_entry(machine->death_cause()));
}

TEST(Machine, AGuestThatNeverAnswersMissesTheBootsDeadlineAndItsEndIsProviums) {
  FakeQemu qemu("exec sleep 30");
  auto machine = qemu.machine(300ms);
  EXPECT_THAT([&] { machine->boot(); },
              ThrowsMessage<TimeoutError>(
                  HasSubstr("boot of profile 'fake', waiting for the agent's READY: no answer within 0.3s (accelerator tcg")));
  machine->kill();
  EXPECT_FALSE(machine->running());
  EXPECT_EQ(machine->death_cause(), Death::Cause::killed);
  EXPECT_FALSE(provium::vm::damages_entry(machine->death_cause()));
}

// A KASAN kernel dies at its PVH entry: kernel_boot = "pvh" is refused saying why, before QEMU
// starts. (With "auto" it boots as a bzImage: the e2e test debug_kernel.)
TEST(Machine, AKasanKernelIsRefusedItsPvhEntry) {
  FakeQemu qemu("exit 1", "pvh");
  qemu.configure("CONFIG_KASAN=y\n");
  auto machine = qemu.machine();
  EXPECT_THAT([&] { machine->boot(); },
              ThrowsMessage<Error>(AllOf(HasSubstr("kernel_boot = \"pvh\", but "),
                                         HasSubstr("cannot boot that way: a KASAN kernel (CONFIG_KASAN)"))));
  EXPECT_EQ(machine->death_cause(), std::nullopt) << "QEMU was started";
}
