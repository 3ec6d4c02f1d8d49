// Kernel reports as a kernel built for debugging prints them: Debian's linux-source-6.1 with
// `provium kconfig --minimal` and kconfig/debug.config (what `provium kconfig --debug` adds: KASAN,
// lockdep, the hung task detector), and a module of the test's own (debug_kernel/bugs) that makes
// it report one kind of bug each. Each test fails unless the report is found whole, titled in the
// kernel's words, and its frames resolved to the module's file and line.
//
// With PROVIUM_CAPTURE_REPORTS=DIR each test also writes its VM's console, headed by the titles
// found, to DIR/KIND.console: that is how tests/data/kernel-reports/ is made (docs/development.md,
// "The kernel report corpus").
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <provium/gtest.h>

#include "support/child_process.h"
#include "support/own_kernel.h"

namespace fs = std::filesystem;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::SizeIs;

namespace {

fs::path module_dir() { return fs::path(std::getenv("PROVIUM_RUN_DIR")) / "bugs"; }

// Loads the module with bug=`kind` and returns what the kernel reported (the check then starts
// afresh, so the test's own end sees nothing more). `settle` is a command run after the load
// that returns once the report is complete.
std::vector<provium::KernelReport> reports_of(provium::Vm& vm, const std::string& kind,
                                              const std::string& settle = "true") {
  vm.exec("insmod /provium_bugs.ko bug=" + kind);  // the Oops kills insmod: its status says nothing
  EXPECT_THAT(vm.exec(settle), ::provium::ExecSucceeds());
  auto check = vm.check_kernel_reports();
  if (const char* capture = std::getenv("PROVIUM_CAPTURE_REPORTS")) {
    std::ofstream out(fs::path(capture) / (kind + ".console"));
    for (const auto& report : check.unexpected) out << "# title: " << report.title << "\n";
    out << "# " << kind << ": the e2e test debug_kernel, its module on Debian's linux-source-6.1 built with "
        << "kconfig/debug.config, under TCG\n";
    out << vm.console_tail(100000);
  }
  return check.unexpected;
}

// A function of the module as a report names it: the compiler may have specialised it
// ("func.isra.0+0x73/0x79 [provium_bugs]").
std::string module_function(const std::string& function) {
  return function + R"((\.[a-z]+\.[0-9]+)?\+0x[0-9a-f]+/0x[0-9a-f]+ \[provium_bugs\])";
}

// A frame of the module, resolved to its source line: "func+0x1c/0x80 [provium_bugs] (/.../provium_bugs.c:27)".
std::string module_frame(const std::string& function) {
  return module_function(function) + R"( \(\S*provium_bugs\.c:[0-9]+\))";
}

}  // namespace

PROVIUM_FIXTURE_WITH(debug, {.profile = "debug",
                             .boot = {.files = {{"/provium_bugs.ko", (module_dir() / "provium_bugs.ko").string()}}}}) {}

TEST_F(debug, AUseAfterFreeIsKasansReport) {
  const auto reports = reports_of(vm, "use-after-free");
  ASSERT_THAT(reports, SizeIs(1));
  EXPECT_THAT(reports[0].title, MatchesRegex("BUG: KASAN: use-after-free in " + module_function("provium_use_after_free")));
  EXPECT_THAT(reports[0].text, HasSubstr("Freed by task"));
  EXPECT_THAT(reports[0].text, ContainsRegex(module_frame("provium_use_after_free")));
}

TEST_F(debug, AnOutOfBoundsReadIsKasansReport) {
  const auto reports = reports_of(vm, "out-of-bounds");
  ASSERT_THAT(reports, SizeIs(1));
  EXPECT_THAT(reports[0].title, MatchesRegex("BUG: KASAN: slab-out-of-bounds in " + module_function("provium_out_of_bounds")));
  EXPECT_THAT(reports[0].text, HasSubstr("The buggy address is located 0 bytes to the right of"));
}

TEST_F(debug, ALockOrderInversionIsLockdepsReport) {
  const auto reports = reports_of(vm, "lock-order");
  ASSERT_THAT(reports, SizeIs(1));
  EXPECT_EQ(reports[0].title, "WARNING: possible circular locking dependency detected");
  EXPECT_THAT(reports[0].text, HasSubstr("provium_second"));
  EXPECT_THAT(reports[0].text, ContainsRegex(module_frame("provium_lock_order")));
}

TEST_F(debug, ARefcountUnderflowIsAWarningWithItsMessage) {
  const auto reports = reports_of(vm, "refcount-underflow");
  ASSERT_THAT(reports, SizeIs(1));
  EXPECT_THAT(reports[0].title, MatchesRegex(R"(WARNING: CPU: 0 PID: [0-9]+ at lib/refcount\.c:[0-9]+ refcount_warn_saturate\+.*)"));
  EXPECT_THAT(reports[0].text, HasSubstr("refcount_t: underflow; use-after-free."));
  EXPECT_THAT(reports[0].text, ContainsRegex(module_frame("provium_refcount_underflow")));
}

TEST_F(debug, AHungTaskIsReportedAsAHang) {
  // The detector reports a task blocked for longer than its timeout, checked every timeout; once
  // here. The blocked task's stack comes at KERN_INFO, below the console's level (writing-tests.md,
  // "Kernel reports fail tests"): the console shows it at level 7.
  ASSERT_THAT(vm.exec("echo 1 > /proc/sys/kernel/hung_task_warnings && echo 7 > /proc/sys/kernel/printk && "
                      "echo 1 > /proc/sys/kernel/hung_task_timeout_secs"),
              ::provium::ExecSucceeds());
  const auto reports = reports_of(
      vm, "hung-task",
      "for i in $(seq 60); do dmesg | grep -q 'blocked for more than' && sleep 1 && exit 0; sleep 1; done; exit 1");
  ASSERT_THAT(reports, SizeIs(1));
  EXPECT_THAT(reports[0].title, MatchesRegex(R"(INFO: task provium_hang:[0-9]+ blocked for more than [0-9]+ seconds\.)"));
  EXPECT_THAT(reports[0].text, ContainsRegex(module_frame("provium_hang")));
}

TEST_F(debug, ANullDereferenceIsAnOops) {
  const auto reports = reports_of(vm, "null-dereference");
  ASSERT_THAT(reports, SizeIs(1));
  EXPECT_EQ(reports[0].title, "BUG: kernel NULL pointer dereference, address: 0000000000000000");
  EXPECT_THAT(reports[0].text, HasSubstr("Oops: 0002"));
  EXPECT_THAT(reports[0].text, ContainsRegex(module_frame("provium_null_dereference")));
}

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  // The kernel, built once and cached (minutes the first time; tools/build-kernel.sh).
  const fs::path tree = provium_test::build_own_kernel("debug", {std::getenv("PROVIUM_DEBUG_FRAGMENT")});
  if (tree.empty()) return 1;
  // The module, built against the tree the way out-of-tree modules are.
  fs::remove_all(module_dir());
  fs::create_directories(module_dir().parent_path());
  fs::copy(std::getenv("PROVIUM_BUGS_MODULE"), module_dir(), fs::copy_options::recursive);
  const auto module = provium_test::ChildProcess({"/bin/sh", "-c", "exec make \"$@\"", "make", "-C", tree.string(),
                                                  "M=" + module_dir().string(), "modules"},
                                                 {})
                          .wait();
  if (module.exit_code != 0) {
    std::cerr << "the test module could not be built:\n" << module.output;
    return 1;
  }
  const fs::path config = module_dir().parent_path() / "provium.toml";
  std::ofstream(config) << "[profile.debug]\nkernel = \"" << tree.string() << "\"\n";
  ::setenv("PROVIUM_CONFIG", config.c_str(), 1);
  provium::testing::Init(&argc, argv);
  return provium::testing::ExitCode(RUN_ALL_TESTS());
}
