// How a VM's QEMU ended, typed (vm/death.h): the cause each kind of ending gets, and which causes
// make a failed resume count against the cache entry. QEMU's exits are made up here; the e2e
// tests see real ones (boot_failures, fixture, lifecycle).
#include "vm/death.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "support/temp_dir.h"

using provium::qemu::ProcessExit;
using provium::vm::Death;
using provium::vm::damages_entry;
using provium::vm::describe_death;
using ::testing::HasSubstr;

namespace {

constexpr const char* kQuietConsole = "[    0.50] Run /provium-init as init process\n";
constexpr const char* kPanicConsole =
    "[    1.00] BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
    "[    1.00] Oops: 0002 [#1] PREEMPT SMP\n"
    "[    1.01] Kernel panic - not syncing: Fatal exception\n";

Death death_of(const ProcessExit& exit, bool killed_by_host, const char* console) {
  provium::testing::TempDir dir;
  return describe_death(exit, killed_by_host, dir.write("console.log", console), std::nullopt);
}

}  // namespace

TEST(Death, AQemuProviumKilledIsKilledWhateverTheConsoleSays) {
  EXPECT_EQ(death_of({.status = 0, .signal = 9, .stderr_tail = {}}, true, kPanicConsole).cause, Death::Cause::killed);
}

TEST(Death, ASignalFromOutsideIsSignalled) {
  const auto death = death_of({.status = 0, .signal = 9, .stderr_tail = {}}, false, kQuietConsole);
  EXPECT_EQ(death.cause, Death::Cause::signalled);
  EXPECT_THAT(death.message, HasSubstr("QEMU was killed by signal 9"));
}

TEST(Death, AKernelReportOnTheConsoleIsAKernelCrash) {
  const auto death = death_of({.status = 0, .signal = 0, .stderr_tail = {}}, false, kPanicConsole);
  EXPECT_EQ(death.cause, Death::Cause::kernel_crashed);
  EXPECT_THAT(death.message, HasSubstr("the guest kernel crashed"));
  EXPECT_THAT(death.message, HasSubstr("BUG: kernel NULL pointer dereference"));
}

TEST(Death, AGuestCidThatAnotherVmHoldsIsCidTaken) {
  const auto death = death_of(
      {.status = 1, .signal = 0,
       .stderr_tail = "qemu-system-x86_64: -device vhost-vsock-pci,guest-cid=12: vhost-vsock: unable to set guest cid: "
                      "Address already in use\n"},
      false, "");
  EXPECT_EQ(death.cause, Death::Cause::cid_taken);
  EXPECT_THAT(death.message, HasSubstr("--- QEMU stderr ---\nqemu-system-x86_64: -device vhost-vsock-pci"));
}

TEST(Death, QemusOwnExitIsExited) {
  const auto death = death_of(
      {.status = 1, .signal = 0, .stderr_tail = "qemu-system-x86_64: load of migration failed: Invalid argument\n"},
      false, "");
  EXPECT_EQ(death.cause, Death::Cause::exited);
  EXPECT_THAT(death.message, HasSubstr("QEMU exited with status 1"));
}

TEST(Death, OnlyQemusOwnEndingsAndCrashesCountAgainstACacheEntry) {
  EXPECT_TRUE(damages_entry(Death::Cause::exited));          // a state QEMU refused
  EXPECT_TRUE(damages_entry(Death::Cause::kernel_crashed));  // the restored guest died
  EXPECT_TRUE(damages_entry(std::nullopt));                  // QEMU runs on, but the restore failed
  EXPECT_FALSE(damages_entry(Death::Cause::killed));
  EXPECT_FALSE(damages_entry(Death::Cause::signalled));
  EXPECT_FALSE(damages_entry(Death::Cause::cid_taken));
}
