// Several VMs in one process: in sequence, at once, and their clean-up.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <set>

#include <provium/gtest.h>
#include <provium/provium.h>

#include "support/processes.h"

namespace {

// A VM not booted yet has no kernel to expect reports from, and none that reported anything.
TEST(LifecycleTest, KernelReportsOfAVmNotBootedYet) {
  auto vm = provium::create();
  EXPECT_THAT([&] { vm.expect_kernel_report("WARNING"); },
              ::testing::ThrowsMessage<provium::Error>(::testing::HasSubstr("this VM is not booted")));
  EXPECT_TRUE(vm.check_kernel_reports().ok());
}

TEST(LifecycleTest, ThreeVmsInSequence) {
  for (int i = 0; i < 3; ++i) {
    auto vm = provium::create();
    vm.boot();
    auto result = vm.exec("echo vm-" + std::to_string(i));
    EXPECT_EQ(result.out, "vm-" + std::to_string(i) + "\n");
    vm.shutdown();
    EXPECT_FALSE(vm.running());
  }
}

TEST(LifecycleTest, TwoVmsAtOnceAreIndependent) {
  auto first = provium::create();
  auto second = provium::create();
  // Boot both concurrently from two threads: the API is synchronous and thread-safe.
  auto booting = std::async(std::launch::async, [&] { first.boot(); });
  second.boot();
  booting.get();
  ASSERT_THAT(first.exec("echo one > /tmp/who"), ::provium::ExecSucceeds());
  ASSERT_THAT(second.exec("echo two > /tmp/who"), ::provium::ExecSucceeds());
  EXPECT_EQ(first.exec("cat /tmp/who").out, "one\n");
  EXPECT_EQ(second.exec("cat /tmp/who").out, "two\n");
}

TEST(LifecycleTest, KillEndsTheVmAndLaterCallsFail) {
  auto vm = provium::create();
  vm.boot();
  EXPECT_TRUE(vm.running());
  vm.kill();
  EXPECT_FALSE(vm.running());
  EXPECT_THROW(vm.exec("true"), provium::Error);
}

std::set<std::filesystem::path> run_directories() {
  // meson gives this binary a run directory base of its own (PROVIUM_RUN_DIR).
  std::set<std::filesystem::path> found;
  std::error_code missing_is_empty;
  for (auto& entry : std::filesystem::directory_iterator(std::getenv("PROVIUM_RUN_DIR"), missing_is_empty))
    if (entry.path().filename().string().rfind("vm-", 0) == 0) found.insert(entry.path());
  return found;
}

TEST(LifecycleTest, DestructorLeavesNoProcessBehind) {
  const auto before = provium_test::child_processes();
  {
    auto vm = provium::create();
    vm.boot();
    EXPECT_EQ(provium_test::child_processes().size(), before.size() + 1);  // QEMU
  }
  EXPECT_EQ(provium_test::child_processes(), before);  // gone, and reaped: not even a zombie
}

TEST(LifecycleTest, DestructorLeavesNoRunDirectoryBehind) {
  const auto before = run_directories();
  {
    auto vm = provium::create();
    vm.boot();
    auto during = run_directories();
    ASSERT_EQ(during.size(), before.size() + 1);
    for (auto& dir : during) {
      if (!before.count(dir)) {
        EXPECT_TRUE(std::filesystem::exists(dir / "console.log"));
      }
    }
  }
  EXPECT_EQ(run_directories(), before);
}

}  // namespace
