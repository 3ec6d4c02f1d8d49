// A kernel of the developer's own, built from source the way docs/kernels.md says: Debian's
// linux-source-6.1 configured by `provium kconfig --minimal` and built with make
// (tools/build-kernel.sh, cached outside the repository and the build directory). Its build
// tree is the profile's kernel: the image, its configuration and its modules come from there.
#include <sys/syscall.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include <provium/gtest.h>

#include "support/child_process.h"
#include "support/own_kernel.h"

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

namespace {
// Set by main: the build trees of the kernels built for this program (the minimal one; one with
// the virtio drivers as modules and debug info), and the module built against the second.
fs::path tree;
fs::path debug_tree;
fs::path warn_module;
fs::path config_dir;

provium_test::ChildRun provium_cli(std::vector<std::string> args) {
  args.insert(args.begin(), std::getenv("PROVIUM_CLI"));
  return provium_test::ChildProcess(args, {}).wait();
}
}  // namespace

PROVIUM_FIXTURE(own, "own") { vm.exec("echo prepared > /tmp/prepared"); }

TEST_F(own, BootsTheKernelOfTheTree) {
  EXPECT_THAT(vm.exec("uname -r"), ::provium::ExecOutputIs(StartsWith("6.1.")));
  std::string built;
  std::ifstream(tree / "include/config/kernel.release") >> built;
  EXPECT_EQ(vm.exec("uname -r").out, built + "\n");
  EXPECT_EQ(vm.read_file("/tmp/prepared"), "prepared\n");
}

TEST_F(own, RunsEveryAgentOperation) {
  EXPECT_THAT(vm.syscall(SYS_getpid), ::provium::SyscallSucceeds());
  EXPECT_THAT(vm.syscall(SYS_close, -1), ::provium::SyscallFailsWithErrno(EBADF));
  vm.write_file("/tmp/x", "written");
  EXPECT_EQ(vm.read_file("/tmp/x"), "written");
  auto worker = vm.spawn({.thread = true});
  EXPECT_THAT(worker.exec("echo from a worker"), ::provium::ExecOutputIs("from a worker\n"));
}

TEST_F(own, AWarningIsAKernelReportThatFailsTheTest) {
  vm.expect_kernel_report("WARNING: CPU: 0 PID: 1 at own/kernel.c:1");
  vm.exec("echo '<4>WARNING: CPU: 0 PID: 1 at own/kernel.c:1 probe+0x1/0x2' > /dev/kmsg");
}

// `provium run --kernel TREE` takes the tree as `kernel = TREE` does.
TEST(OwnKernel, ProviumRunTakesTheTree) {
  const auto run = provium_cli({"run", "--kernel", tree.string(), "--", "cat", "/proc/version"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("Linux version 6.1."));
}

// The configuration beside the image is read before the boot: a kernel without what the agent
// needs fails at once, naming the option, instead of timing out over an empty console. The
// tree is the built one with its .config lacking the virtio console (the image itself is
// never started).
TEST(OwnKernel, AKernelWithoutTheVirtioConsoleFailsNamingTheOption) {
  const fs::path lacking = config_dir / "lacking";
  fs::create_directories(lacking / "arch/x86/boot");
  fs::copy_file(tree / "arch/x86/boot/bzImage", lacking / "arch/x86/boot/bzImage", fs::copy_options::overwrite_existing);
  std::ifstream in(tree / ".config");
  std::ofstream out(lacking / ".config", std::ios::trunc);
  for (std::string line; std::getline(in, line);)
    out << (line == "CONFIG_VIRTIO_CONSOLE=y" ? "# CONFIG_VIRTIO_CONSOLE is not set" : line) << "\n";
  out.close();
  std::ofstream(lacking / "Makefile") << "# an O= directory's\n";
  const auto run = provium_cli({"run", "--kernel", lacking.string(), "--", "true"});
  EXPECT_EQ(run.exit_code, 125) << run.output;
  EXPECT_THAT(run.output, HasSubstr("a virtio console (the agent's channel over virtio-serial) (CONFIG_VIRTIO_CONSOLE)"));
  EXPECT_THAT(run.output, HasSubstr("provium kconfig " + lacking.string()));
}

// A fixture on the second kernel: its virtio drivers, modules loaded from the tree at boot, are
// in the snapshot that each test resumes.
PROVIUM_FIXTURE(debug_booted, "debug") {}

TEST_F(debug_booted, ResumesWithTheTreesModulesLoaded) {
  EXPECT_THAT(vm.read_file("/proc/modules"), HasSubstr("virtio_console"));
  EXPECT_THAT(vm.exec("uname -r"), ::provium::ExecOutputIs(StartsWith("6.1.")));
}

// The second kernel has its virtio drivers as modules: Provium loads them from the tree.
TEST(DebugKernel, LoadsItsVirtioDriversFromTheTree) {
  auto vm = provium::create("debug");
  vm.boot();
  EXPECT_THAT(vm.read_file("/proc/modules"), HasSubstr("virtio_console"));
  EXPECT_THAT(vm.read_file("/proc/modules"), HasSubstr("virtio_pci"));
}

// A WARN from a module built against the tree: its report's frames show the lines of the
// module's source (through its .ko) and of the kernel's (through the tree's vmlinux).
TEST(DebugKernel, AModulesWarnShowsItsFramesFileAndLine) {
  auto vm = provium::create("debug");
  vm.boot({.files = {{"/provium_warn.ko", warn_module.string()}}});
  ASSERT_THAT(vm.exec("insmod /provium_warn.ko"), ::provium::ExecSucceeds());
  const auto check = vm.check_kernel_reports();
  ASSERT_EQ(check.unexpected.size(), 1u) << check.describe();
  const std::string& report = check.unexpected[0].text;
  EXPECT_THAT(report, ::testing::ContainsRegex(R"(provium_warn_init\+0x[0-9a-f]+/0x[0-9a-f]+ \[provium_warn\] \(\S*provium_warn\.c:15\))"))
      << report;
  EXPECT_THAT(report, ::testing::ContainsRegex(R"(do_one_initcall\+0x[0-9a-f]+/0x[0-9a-f]+ \(init/main\.c:[0-9]+\))")) << report;
  EXPECT_THAT(check.describe(), HasSubstr("provium_warn.c:15)")) << "the failure message is the symbolized report";
}

// On the host's root, the guest kernel's modules are the profile's: an installed directory
// (`make modules_install`, depmod's modules.dep) is its /lib/modules/RELEASE, where the host's
// modprobe finds them; the host's own modules are out of sight.
TEST(DebugKernel, OnTheHostsRootModprobeLoadsTheProfilesInstalledModules) {
  const fs::path installed = config_dir / "modules-installed";
  fs::remove_all(installed);
  const auto install = provium_test::ChildProcess({"/bin/sh", "-c", "exec make \"$@\" >/dev/null", "make", "-C",
                                                   debug_tree.string(), "INSTALL_MOD_PATH=" + installed.string(),
                                                   "modules_install"},
                                                  {})
                           .wait();
  ASSERT_EQ(install.exit_code, 0) << install.output;
  const fs::path config = config_dir / "host-root.toml";
  std::ofstream(config) << "[profile.debug-host]\nkernel = \"" << debug_tree.string() << "\"\nmodules = \""
                        << installed.string() << "\"\nuserspace = \"host\"\n";
  const auto run = provium_cli({"run", "--config", config.string(), "--profile", "debug-host", "--",
                                "modprobe virtio_blk && grep -c '^virtio_blk ' /proc/modules && ls /lib/modules"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  std::string release;
  std::ifstream(debug_tree / "include/config/kernel.release") >> release;
  EXPECT_EQ(run.output, "1\n" + release + "\n") << "one module directory, the guest kernel's";
}

// gdb, driven in batch mode, attaches to a `provium run --gdb` VM through the socket the run
// prints, breaks on the syscall of the guest's command and shows a backtrace through the syscall
// entry; once gdb detaches, the command finishes with its output and status.
TEST(DebugKernel, GdbAttachesToProviumRunAndBreaksOnAGuestsSyscall) {
  const fs::path log = config_dir / "gdb-run.log";
  const std::string script = R"(
"$0" run --gdb --kernel "$1" -- uname -r > "$2" 2>&1 &
run=$!
for i in $(seq 600); do grep -q 'target remote' "$2" && break; sleep 0.1; done
socket=$(sed -n "s/.*-ex 'target remote \([^']*\)'.*/\1/p" "$2")
timeout 300 gdb -batch -nx -ex 'set pagination off' "$1/vmlinux" -ex "target remote $socket" \
  -ex 'break __x64_sys_newuname' -ex continue -ex bt
wait $run
echo "provium run exited $?"
cat "$2"
)";
  const auto run = provium_test::ChildProcess(
                       {"/bin/bash", "-c", script, std::getenv("PROVIUM_CLI"), debug_tree.string(), log.string()}, {})
                       .wait();
  EXPECT_THAT(run.output, HasSubstr("Breakpoint 1, __x64_sys_newuname")) << run.output;
  EXPECT_THAT(run.output, ::testing::ContainsRegex("#[0-9]+ .*do_syscall_64")) << run.output;
  EXPECT_THAT(run.output, ::testing::ContainsRegex("#[0-9]+ .*entry_SYSCALL_64")) << run.output;
  EXPECT_THAT(run.output, HasSubstr("provium run exited 0")) << run.output;
  EXPECT_THAT(run.output, ::testing::ContainsRegex("\n6\\.1\\.[0-9]+\n")) << run.output;
}

// --provium_gdb: a TEST_F's VM, resumed from its fixture's snapshot, waits for a debugger before
// the test body; gdb reads the kernel's memory there, and the test passes once gdb detaches.
// This program runs itself for it, one test of the fixture on the kernel with debug info.
TEST(OwnKernel, ProviumGdbStopsAResumedTestVmForTheDebugger) {
  const fs::path log = config_dir / "gdb-test.log";
  const std::string script = R"(
"$0" --gtest_filter=debug_booted.ResumesWithTheTreesModulesLoaded --provium_gdb > "$2" 2>&1 &
program=$!
for i in $(seq 1200); do grep -q 'target remote' "$2" && break; sleep 0.1; done
socket=$(sed -n "s/.*-ex 'target remote \([^']*\)'.*/\1/p" "$2")
timeout 300 gdb -batch -nx "$1/vmlinux" -ex "target remote $socket" -ex 'print init_uts_ns.name.release'
wait $program
echo "test program exited $?"
cat "$2"
)";
  const auto run = provium_test::ChildProcess(
                       {"/bin/bash", "-c", script, fs::read_symlink("/proc/self/exe").string(), debug_tree.string(),
                        log.string()},
                       {})
                       .wait();
  EXPECT_THAT(run.output, ::testing::ContainsRegex(R"(\$1 = "6\.1\.[0-9]+)")) << run.output;
  EXPECT_THAT(run.output, HasSubstr("test program exited 0")) << run.output;
  EXPECT_THAT(run.output, HasSubstr("[  PASSED  ] 1 test")) << run.output;
}

// A configuration the check cannot read is an error naming the file and the line, not a boot
// that goes ahead unchecked.
TEST(OwnKernel, AMalformedConfigurationIsAnErrorNamingTheLine) {
  const fs::path broken = config_dir / "broken";
  fs::create_directories(broken / "arch/x86/boot");
  fs::copy_file(tree / "arch/x86/boot/bzImage", broken / "arch/x86/boot/bzImage", fs::copy_options::overwrite_existing);
  std::ofstream(broken / ".config") << "CONFIG_64BIT=y\nVIRTIO=y\n";
  std::ofstream(broken / "Makefile") << "# an O= directory's\n";
  const auto run = provium_cli({"run", "--kernel", broken.string(), "--", "true"});
  EXPECT_EQ(run.exit_code, 125) << run.output;
  EXPECT_THAT(run.output, HasSubstr((broken / ".config").string() + ":2: not a kernel configuration line: VIRTIO=y"));
}

// `provium kconfig --minimal --source SRC DIR` on a new O= directory: tinyconfig, then Provium's
// options, each one printed that changed; run again, the configuration has all it needs.
TEST(OwnKernel, KconfigMakesANewBuildDirectorysConfigurationBootable) {
  const fs::path dir = config_dir / "kconfig-new";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto first = provium_cli({"kconfig", "--minimal", "--source", (tree / "source").string(), dir.string()});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_THAT(first.output, HasSubstr("starting from `make tinyconfig`"));
  EXPECT_THAT(first.output, ::testing::ContainsRegex("CONFIG_VIRTIO_CONSOLE +n -> y"));
  EXPECT_THAT(first.output, ::testing::ContainsRegex("CONFIG_64BIT +n -> y"));
  std::ifstream config(dir / ".config");
  const std::string text{std::istreambuf_iterator<char>(config), {}};
  EXPECT_THAT(text, HasSubstr("\nCONFIG_VIRTIO_CONSOLE=y\n"));
  EXPECT_TRUE(fs::exists(dir / ".config.old")) << "the configuration as it was, for scripts/diffconfig";

  const auto again = provium_cli({"kconfig", dir.string()});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, Not(HasSubstr(" -> ")));
  EXPECT_THAT(again.output, HasSubstr("and 0 options that followed"));
}

TEST(OwnKernel, KconfigRefusesBadCommandLinesAndDirectoriesThatAreNoTree) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"kconfig", "--nope"},
                                               {"kconfig", "one", "two"},
                                               {"kconfig", "--source"}}) {
    const auto run = provium_cli(args);
    EXPECT_EQ(run.exit_code, 2) << run.output;
    EXPECT_THAT(run.output, HasSubstr("usage: provium kconfig"));
  }
  const auto not_a_tree = provium_cli({"kconfig", config_dir.string()});
  EXPECT_EQ(not_a_tree.exit_code, 1) << not_a_tree.output;
  EXPECT_THAT(not_a_tree.output, HasSubstr("is not a kernel tree"));
}

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  // The kernels, built once and cached (minutes the first time; tools/build-kernel.sh).
  const fs::path data = std::getenv("PROVIUM_OWN_KERNEL_DATA");
  tree = provium_test::build_own_kernel("minimal");
  debug_tree = provium_test::build_own_kernel("modules-debug", {(data / "modules-debug.config").string()});
  if (tree.empty() || debug_tree.empty()) return 1;
  config_dir = fs::path(std::getenv("PROVIUM_RUN_DIR")) / "own-kernel";
  fs::create_directories(config_dir);
  // The module, built against the second tree the way out-of-tree modules are.
  const fs::path module_dir = config_dir / "warn";
  fs::remove_all(module_dir);
  fs::copy(data / "warn", module_dir, fs::copy_options::recursive);
  const auto module = provium_test::ChildProcess(
                          {"/bin/sh", "-c", "exec make \"$@\"", "make", "-C", debug_tree.string(),
                           "M=" + module_dir.string(), "modules"},
                          {})
                          .wait();
  if (module.exit_code != 0) {
    std::cerr << "the test module could not be built:\n" << module.output;
    return 1;
  }
  warn_module = module_dir / "provium_warn.ko";
  std::ofstream(config_dir / "provium.toml") << "[profile.own]\nkernel = \"" << tree.string() << "\"\n\n"
                                             << "[profile.debug]\nkernel = \"" << debug_tree.string() << "\"\n";
  ::setenv("PROVIUM_CONFIG", (config_dir / "provium.toml").c_str(), 1);
  provium::testing::Init(&argc, argv);
  return provium::testing::ExitCode(RUN_ALL_TESTS());
}
