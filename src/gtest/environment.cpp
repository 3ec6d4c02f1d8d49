// The GoogleTest side of Provium: --provium_* flags, the global environment that checks the
// host's prerequisites, and the exit code convention for "everything skipped".
#include <provium/gtest.h>


#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <iostream>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>
#include <string_view>

#include "base/settings.h"
#include "base/text.h"
#include "gtest/lua_tests.h"
#include "transport/selection.h"
#include "vm/guest_access.h"
#include "vm/handoff.h"
#include "vm/machine.h"
#include "vm/vm_access.h"
#include "vm/terminal.h"

namespace provium::testing {

namespace {

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    // An override to vsock on a host without it skips, whatever PROVIUM_REQUIRE says: it asks
    // for an optional transport (a CI matrix runs a suite once per transport, and the vsock run
    // skips where the host has no vhost-vsock). A profile's transport = "vsock" is checked
    // below, as a prerequisite.
    if (auto unavailable = transport::override_unavailable()) GTEST_SKIP() << *unavailable;
    try {
      check_prerequisites("default");
    } catch (const PrerequisiteError& missing) {
      if (base::settings()->require_prerequisites)
        GTEST_FAIL() << missing.what() << "\n(PROVIUM_REQUIRE=1 turns this skip into a failure)";
      GTEST_SKIP() << missing.what();
    } catch (const Error& error) {
      GTEST_FAIL() << error.what();  // a malformed provium.toml, say
    }
  }
};

// Ends every VM and Provium's loop thread once all tests ran (after every --gtest_repeat),
// before RUN_ALL_TESTS returns: a program with its own main() gets a clean exit too.
class EndOfProgram : public ::testing::EmptyTestEventListener {
  void OnTestProgramEnd(const ::testing::UnitTest&) override { shutdown_all(); }
};

// Where GoogleTest says a kernel report failure comes from: the guest's console, not a line of
// the test (it printed "environment.cpp:161: Failure").
constexpr const char* kKernelConsole = "the guest kernel's console";

// The names PROVIUM_FIXTURE registered at static initialisation, and those registered twice.
std::set<std::string>& registered_fixtures() {
  static std::set<std::string> names;
  return names;
}
std::vector<std::string>& duplicate_fixtures() {
  static std::vector<std::string> names;
  return names;
}

constexpr std::string_view kUsage = R"(Provium flags:
  --provium_config=FILE  use this provium.toml (default: $PROVIUM_CONFIG, else the first
                         provium.toml found from the working directory upward)
  --provium_accel=ACCEL  auto, kvm or tcg for every profile (also $PROVIUM_ACCEL)
  --provium_transport=T  auto, vsock or virtio-serial for every profile (also
                         $PROVIUM_TRANSPORT); vsock on a host without /dev/vhost-vsock skips
                         every test with the reason, even with PROVIUM_REQUIRE=1
  --provium_pool_mem=SIZE
                         memory budget of the resource pool for all VMs at once, shared with
                         every process of this user (also $PROVIUM_POOL_MEM; 512M, 2G, ...)
  --provium_pool_cpus=N  CPU budget of the resource pool (also $PROVIUM_POOL_CPUS); with neither,
                         VMs wait for free memory and at most half the CPUs' number run at once
  --provium_lua=DIR      run every *.lua below DIR (but not under fixtures/) as a test,
                         lua/LuaFile.<path> (also $PROVIUM_LUA; docs/lua.md)
  --provium_lua_root=DIR where the scripts' relative paths (dofile, boot files) start: the
                         project's root (also $PROVIUM_LUA_ROOT; default: the working directory)
  --provium_stream=1     show every exec's output live, line by line (also $PROVIUM_STREAM)
  --provium_kernel_reports=ignore
                         a kernel report (WARNING, BUG, KASAN, ...) during a test does not fail
                         it; the reports are named on stderr (also $PROVIUM_KERNEL_REPORTS;
                         default: check)
  --provium_shell=NAME   instead of the tests, a login shell in a fresh VM of this program's
                         fixture NAME (built first where it is not cached); exits with the
                         shell's status
  --provium_keep_failed  a failed TEST_F's VM is kept, not killed: the program prints the
                         command that opens a shell in it (provium shell --attach NAME) and
                         waits for that shell to end, 10 minutes at most (also
                         $PROVIUM_KEEP_FAILED=1; for debugging, never for CI)
  --provium_gdb          every VM gets QEMU's gdbstub and boots with nokaslr; a TEST_F's VM
                         waits for a debugger before the test body: the program prints the
                         gdb command to paste (also $PROVIUM_GDB=1; for debugging, never for CI)
  --provium_help         this text
Environment: PROVIUM_REQUIRE=1 fails instead of skipping when QEMU or a kernel is missing.
)";

// The value of "--name=value" when `arg` is that flag.
const char* flag_value(const char* arg, std::string_view name) {
  std::string_view text(arg);
  if (text.size() <= name.size() + 1 || text.substr(0, name.size()) != name ||
      text[name.size()] != '=')
    return nullptr;
  return arg + name.size() + 1;
}

}  // namespace

void Init(int* argc, char** argv) {
  // Each flag sets what its variable would; the variables themselves stay as they were.
  constexpr std::pair<std::string_view, std::string_view> kFlags[] = {
      {"--provium_config", "PROVIUM_CONFIG"},  {"--provium_accel", "PROVIUM_ACCEL"},
      {"--provium_transport", "PROVIUM_TRANSPORT"}, {"--provium_pool_mem", "PROVIUM_POOL_MEM"},
      {"--provium_pool_cpus", "PROVIUM_POOL_CPUS"}, {"--provium_lua", "PROVIUM_LUA"},
      {"--provium_lua_root", "PROVIUM_LUA_ROOT"}, {"--provium_stream", "PROVIUM_STREAM"},
      {"--provium_kernel_reports", "PROVIUM_KERNEL_REPORTS"}, {"--provium_keep_failed", "PROVIUM_KEEP_FAILED"},
  };
  int kept = 1;
  std::optional<std::string> shell_fixture;
  try {
    base::Settings settings = *base::settings();
    for (int i = 1; i < *argc; ++i) {
      const char* arg = argv[i];
      if (const char* name = flag_value(arg, "--provium_shell")) {
        shell_fixture = name;
        continue;
      }
      if (std::strcmp(arg, "--provium_keep_failed") == 0) {  // a switch: the flag alone says 1
        settings.set("PROVIUM_KEEP_FAILED", "1", "--provium_keep_failed");
        continue;
      }
      if (std::strcmp(arg, "--provium_gdb") == 0) {
        settings.set("PROVIUM_GDB", "1", "--provium_gdb");
        continue;
      }
      if (std::strcmp(arg, "--provium_help") == 0) {
        std::cout << kUsage;
        std::exit(0);
      }
      const auto flag = std::find_if(std::begin(kFlags), std::end(kFlags),
                                     [&](const auto& known) { return flag_value(arg, known.first); });
      if (flag != std::end(kFlags)) {
        settings.set(flag->second, flag_value(arg, flag->first), flag->first);
      } else if (std::strncmp(arg, "--provium_", 10) == 0) {
        std::cerr << "unknown flag " << arg << "\n" << kUsage;
        std::exit(2);
      } else {
        argv[kept++] = argv[i];
      }
    }
    base::replace_settings(std::move(settings));
  } catch (const Error& error) {
    std::cerr << error.what() << "\n";  // a malformed PROVIUM_* variable or flag
    std::exit(2);
  }
  for (const auto& name : duplicate_fixtures()) {
    std::cerr << "PROVIUM_FIXTURE(" << name << ") is defined twice in this program: a fixture's name is its "
              << "identity, so the second would replace the first; rename one of them\n";
    std::exit(2);
  }
  if (shell_fixture) {
    // A shell instead of the tests: the program's own fixtures are resumed only here.
    const int status = ShellInFixture(*shell_fixture);
    ::provium::shutdown_all();
    std::exit(status);
  }
  *argc = kept;
  argv[kept] = nullptr;
  // A VM that ends with kernel reports no check saw (a TEST that made its own) fails the
  // test during which it ended.
  set_kernel_report_handler([](const std::string& failure) {
    if (::testing::UnitTest::GetInstance()->current_test_info()) ADD_FAILURE_AT(kKernelConsole, -1) << failure;
    else std::cerr << "provium: " << failure;
  });
  ::testing::AddGlobalTestEnvironment(new Environment);
  ::testing::UnitTest::GetInstance()->listeners().Append(new EndOfProgram);
  if (const auto settings = base::settings(); settings->lua_directory) {
#ifdef PROVIUM_HAVE_LUA
    RegisterLuaScripts(*settings->lua_directory, settings->lua_root.value_or(std::filesystem::current_path()));
#else
    std::cerr << "--provium_lua: this Provium was built without Lua (meson -Dlua=disabled)\n";
    std::exit(2);
#endif
  }
}

void CheckKernelReports(::provium::Vm& vm) {
  const auto check = vm.check_kernel_reports();
  if (!check.ok()) ADD_FAILURE_AT(kKernelConsole, -1) << check.describe();
}

void ShowGuestContext(const ::provium::Vm& vm) {
  constexpr std::size_t kShownLines = 40;
  if (!vm.running()) return;  // a VM that died said why in the failure itself
  const std::string console = vm.console_tail(std::numeric_limits<std::size_t>::max());
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string kept;
  try {
    const auto path = base::settings()->make_logs_root() / (std::string(test->test_suite_name()) + "." + test->name() + "-" +
                              std::to_string(::getpid()) + ".console.log");
    std::ofstream(path, std::ios::binary | std::ios::trunc) << console;
    kept = path.string();
    ::testing::Test::RecordProperty("console_log", kept);
  } catch (const std::exception& error) {
    kept = std::string("not kept: ") + error.what();
  }
  std::cout << "--- console of this test's VM since it started (last " << kShownLines << " lines; whole: " << kept
            << ") ---\n"
            << (console.empty() ? "(empty)" : base::last_lines(console, kShownLines)) << "\n--- end of console ---\n"
            << std::flush;
}

int ShellInFixture(const std::string& name) {
  try {
    Vm vm = ::provium::fixture(name);
    vm.mount_vfs();  // what a shell user expects to find, where the fixture did not mount it
    Worker worker = vm.spawn();
    vm::Terminal terminal(vm::GuestAccess::session(worker));
    std::cerr << "provium: a shell in a fresh VM of fixture '" << name << "'; exit or Ctrl-D ends it\r\n";
    const int status = vm::run_at_this_terminal(terminal, "");
    vm.kill();
    return status;
  } catch (const Error& error) {
    std::cerr << "provium: --provium_shell=" << name << ": " << error.what() << "\n";
    return 125;
  }
}

void WaitForDebugger(::provium::Vm& vm) {
  if (base::settings()->gdb) vm::VmAccess::machine(vm).wait_for_debugger();
}

void KeepFailedVm(::provium::Vm& vm) {
  if (!base::settings()->keep_failed || !vm.running()) return;
  // As long as a person may take to come and look; then the tests go on.
  constexpr auto kPatience = std::chrono::minutes(10);
  vm::HandOff handed;
  try {
    handed = vm::hand_off(vm);
  } catch (const Error& error) {
    std::cerr << "provium: cannot keep this test's VM for a look: " << error.what() << "\n";
    return;
  }
  std::string gdb;
  try {
    gdb = vm::VmAccess::machine(vm).start_gdbstub();
  } catch (const Error& error) {
    gdb = std::string("(no gdbstub: ") + error.what() + ")";
  }
  std::cerr << "provium: this test's VM is kept for a look (PROVIUM_KEEP_FAILED): open a shell in it with\n"
            << "    provium shell --attach " << handed.vm_name << "\n"
            << "  or attach a debugger to it with\n    " << gdb << "\n"
            << (base::settings()->gdb ? ""
                                      : "  (it booted without nokaslr: a kernel with KASLR is not at its vmlinux's "
                                        "addresses; --provium_gdb boots with nokaslr)\n")
            << "  (with this program's PROVIUM_RUN_DIR); the tests go on when that shell ends, or in "
            << std::chrono::duration_cast<std::chrono::minutes>(kPatience).count() << " minutes\n"
            << std::flush;
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  try {
    while (std::chrono::steady_clock::now() < deadline && !vm::hand_off_ended(vm, handed))
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
  } catch (const Error& error) {
    std::cerr << "provium: the kept VM went: " << error.what() << "\n";
  }
}

bool RegisterFixture(const char* name, ::provium::FixtureOptions options,
                     void (*setup)(::provium::Vm&)) {
  // Two PROVIUM_FIXTUREs of one name (in two source files) would be one fixture, the later
  // replacing the earlier: Init refuses the program instead.
  if (!registered_fixtures().insert(name).second) duplicate_fixtures().push_back(name);
  ::provium::define_fixture(name, std::move(options), [name, setup](::provium::Vm& vm) {
    // A failed ASSERT_* returns from the body early: that VM must not become the snapshot.
    const bool failed_before = ::testing::Test::HasFailure();
    setup(vm);
    if (!failed_before && ::testing::Test::HasFailure())
      throw ::provium::Error(std::string("the body of fixture '") + name +
                             "' failed an assertion; it is not snapshotted");
  });
  return true;
}

int ExitCode(int run_all_tests_result) {
  const auto& unit = *::testing::UnitTest::GetInstance();
  // A skip in the global environment runs no test at all, yet GoogleTest (1.12) counts the
  // tests as passed; the environment's own result says what happened.
  const bool environment_skipped = unit.ad_hoc_test_result().Skipped();
  const bool all_skipped = unit.test_to_run_count() > 0 &&
                           unit.skipped_test_count() == unit.test_to_run_count();
  if (run_all_tests_result != 0 || !(environment_skipped || all_skipped))
    return run_all_tests_result;
  std::cout << "provium: every test was skipped (exit code 77)\n";
  return 77;
}

}  // namespace provium::testing
