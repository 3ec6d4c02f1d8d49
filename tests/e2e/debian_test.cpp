// Debian's own material, as a kernel developer brings it: a Debian 12 root made with
// debootstrap (bash, glibc, systemd as init) booted from its disk image, and a second kernel,
// Debian's real-time one, unpacked from its package with `dpkg -x` (no modules.dep, never
// installed). Both are made once and kept in PROVIUM_TEST_MATERIAL between runs.
#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <provium/gtest.h>
#include <provium/provium.h>

#include "base/settings.h"
#include "support/child_process.h"
#include "support/kernel.h"
#include "../unit/support/prerequisite.h"

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace {

constexpr std::chrono::seconds kSystemdBoot{240};

provium_test::ChildRun run(const std::vector<std::string>& argv) { return provium_test::ChildProcess(argv, {}).wait(); }

fs::path material() { return std::getenv("PROVIUM_TEST_MATERIAL"); }

// The profile file of one test, over the host's newest kernel unless told otherwise.
class DebianTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PROVIUM_TEST_NEEDS(getuid() == 0, "root (debootstrap and apt-get download need it)");
    fs::create_directories(material());
  }

  void use_profile(const std::string& body) {
    const fs::path file = material() / (std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".toml");
    std::ofstream(file) << body;
    config_.emplace(std::initializer_list<std::pair<std::string_view, std::string_view>>{{"PROVIUM_CONFIG", file.string()}});
  }

  std::optional<provium::base::ScopedSettings> config_;
};

// Made once by tools/make-debian-root.sh and kept; made again when the script changed since.
fs::path debian_root() {
  const fs::path image = material() / "debian-12-root.ext4";
  const fs::path script = std::getenv("PROVIUM_MAKE_DEBIAN_ROOT");
  std::error_code none;
  if (fs::exists(image) && fs::last_write_time(image, none) > fs::last_write_time(script, none)) return image;
  const auto made = run({"/bin/bash", script.string(), image.string()});
  EXPECT_EQ(made.exit_code, 0) << made.output;
  return image;
}

class DebianRootTest : public DebianTest {
 protected:
  void SetUp() override {
    DebianTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    PROVIUM_TEST_NEEDS(fs::exists("/usr/sbin/debootstrap"), "debootstrap (Debian: debootstrap)");
    PROVIUM_TEST_NEEDS(fs::exists("/usr/sbin/e2fsck"), "e2fsck (Debian: e2fsprogs)");
    root_ = debian_root();
    ASSERT_TRUE(fs::exists(root_));
    use_profile("[profile.debian]\nkernel = \"" + provium_test::newest_kernel().string() + "\"\nrootfs = \"" +
                root_.string() + "\"\n");
  }

  // systemd's own verdict once its boot is over: "running" when no unit failed. Until systemd
  // has made its socket, systemctl only says "offline".
  static provium::ExecResult system_state(provium::Vm& vm) {
    return vm.exec("until [ -S /run/systemd/private ]; do sleep 0.1; done; systemctl is-system-running --wait",
                   {.timeout = kSystemdBoot});
  }

  fs::path root_;
};

TEST_F(DebianRootTest, SystemdBootsItAsInitWithNoUnitFailed) {
  const auto before = fs::last_write_time(root_);
  auto vm = provium::create("debian");
  vm.boot();
  EXPECT_THAT(vm.read_file("/etc/debian_version"), StartsWith("12."));
  EXPECT_EQ(vm.exec("readlink /proc/1/exe").out, "/usr/lib/systemd/systemd\n");
  const auto state = system_state(vm);
  EXPECT_EQ(state.out, "running\n") << state.err << vm.exec("systemctl --failed --no-pager").out;
  // glibc's bash, run by the agent as any program
  const auto shell = vm.exec("/bin/bash -c 'echo ${BASH_VERSINFO[0]} $(id -un)'");
  EXPECT_EQ(shell.out, "5 root\n") << shell.err;
  vm.shutdown();
  EXPECT_EQ(fs::last_write_time(root_), before) << "a plain boot wrote the profile's root image";
}

// A distribution's own initramfs next to the root, as on the machine it came from: Provium's
// shim goes on top of it, and its wrapper still mounts the root and starts the agent.
TEST_F(DebianRootTest, BootsWithTheKernelsOwnInitrdNextToIt) {
  const fs::path kernel = provium_test::newest_kernel();
  const fs::path initrd = kernel.parent_path() / ("initrd.img-" + kernel.filename().string().substr(8));
  PROVIUM_TEST_NEEDS(fs::exists(initrd), initrd.string() + " (Debian: initramfs-tools)");
  use_profile("[profile.debian_initrd]\nkernel = \"" + kernel.string() + "\"\ninitrd = \"" + initrd.string() +
              "\"\nrootfs = \"" + root_.string() + "\"\n");
  auto vm = provium::create("debian_initrd");
  vm.boot();
  EXPECT_THAT(vm.read_file("/proc/mounts"), HasSubstr("/dev/vda / ext4"));
  const auto state = system_state(vm);
  EXPECT_EQ(state.out, "running\n") << state.err << vm.exec("systemctl --failed --no-pager").out;
}

// The fixture snapshots a fully booted system; each test resumes it with its services up, and
// its own copy of the root.
TEST_F(DebianRootTest, AFixtureResumesTheBootedSystemWithItsOwnCopyOfTheRoot) {
  const auto before = fs::last_write_time(root_);
  provium::define_fixture("debian_booted", {.profile = "debian"}, [](provium::Vm& vm) {
    ASSERT_EQ(system_state(vm).out, "running\n");
    ASSERT_THAT(vm.exec("useradd --create-home kdev && sync"), ::provium::ExecSucceeds());
  });
  for (const std::string test : {"one", "two"}) {
    auto vm = provium::fixture("debian_booted");
    EXPECT_EQ(vm.exec("systemctl is-system-running").out, "running\n");
    EXPECT_THAT(vm.exec("test -d /home/kdev"), ::provium::ExecSucceeds());
    EXPECT_THAT(vm.exec("test -e /home/kdev/one"), ::provium::ExecExitsWith(::testing::Ne(0))) << "test " << test << " sees another VM's writes";
    EXPECT_THAT(vm.exec("runuser -u kdev -- /bin/bash -c 'echo hi > ~/" + test + "'"), ::provium::ExecSucceeds());
    // the journal, a service of the resumed system, takes new entries
    ASSERT_THAT(vm.exec("logger provium-" + test + " && journalctl --sync"), ::provium::ExecSucceeds());
    EXPECT_THAT(vm.exec("journalctl -b --no-pager -o cat").out, HasSubstr("provium-" + test));
  }
  EXPECT_EQ(fs::last_write_time(root_), before) << "a fixture's VM wrote the profile's root image";
  const auto checked = run({"/usr/sbin/e2fsck", "-fn", root_.string()});
  EXPECT_EQ(checked.exit_code, 0) << checked.output;
}

// The .deb of `package` in the material directory: downloaded once and kept.
fs::path downloaded(const std::string& package) {
  if (package.empty()) return {};
  auto kept = [&]() -> fs::path {
    for (const auto& entry : fs::directory_iterator(material()))
      if (entry.path().filename().string().starts_with(package + "_") && entry.path().extension() == ".deb")
        return entry.path();
    return {};
  };
  if (auto deb = kept(); !deb.empty()) return deb;
  const auto fetched = run({"/bin/sh", "-c", "cd '" + material().string() +
                                                 "' && apt-get -q -o APT::Sandbox::User=root download " + package + " 2>&1"});
  EXPECT_EQ(fetched.exit_code, 0) << fetched.output;
  return kept();
}

// The package that a metapackage names first (linux-image-rt-amd64: linux-image-6.1.0-N-rt-amd64).
std::string named_by(const std::string& metapackage) {
  const auto depends = run({"/usr/bin/apt-cache", "depends", "--important", metapackage});
  const auto at = depends.output.find("Depends: ");
  EXPECT_NE(at, std::string::npos) << "apt-cache knows no " << metapackage << " (apt-get update?): " << depends.output;
  if (at == std::string::npos) return {};
  return depends.output.substr(at + 9, depends.output.find('\n', at) - at - 9);
}

fs::path rt_kernel_package() { return downloaded(named_by("linux-image-rt-amd64")); }

// A module that calls WARN_ON(1) when it is loaded, built against Debian's linux-headers
// package of `release` (and the packages it needs), each unpacked with dpkg -x, never installed.
fs::path warn_on_module(const std::string& release) {
  const std::string headers = "linux-headers-" + release;
  const auto depends = run({"/usr/bin/apt-cache", "depends", "--important", headers});
  EXPECT_EQ(depends.exit_code, 0) << "apt-cache knows no " << headers << ": " << depends.output;
  const fs::path root = material() / "headers-unpacked";
  fs::remove_all(root);
  std::vector<std::string> packages = {headers};
  for (std::size_t at = depends.output.find("Depends: "); at != std::string::npos; at = depends.output.find("Depends: ", at + 1)) {
    const std::string name = depends.output.substr(at + 9, depends.output.find('\n', at) - at - 9);
    if (name.starts_with("linux-headers-") || name.starts_with("linux-kbuild-")) packages.push_back(name);
  }
  for (const auto& package : packages) {
    const auto deb = downloaded(package);
    if (deb.empty()) return {};
    const auto unpacked = run({"/usr/bin/dpkg", "-x", deb.string(), root.string()});
    EXPECT_EQ(unpacked.exit_code, 0) << unpacked.output;
  }
  // The flavour's Makefile includes the common tree by its installed path.
  const fs::path tree = root / "usr/src" / headers;
  const auto pointed = run({"/bin/sed", "-i", "s|include /usr/src/|include " + (root / "usr/src").string() + "/|",
                            (tree / "Makefile").string()});
  EXPECT_EQ(pointed.exit_code, 0) << pointed.output;
  const fs::path module = material() / "provium_warn";
  fs::remove_all(module);
  fs::create_directories(module);
  std::ofstream(module / "provium_warn.c") << "#include <linux/module.h>\n"
                                              "static int __init provium_warn_init(void) { WARN_ON(1); return 0; }\n"
                                              "static void __exit provium_warn_exit(void) {}\n"
                                              "module_init(provium_warn_init);\n"
                                              "module_exit(provium_warn_exit);\n"
                                              "MODULE_LICENSE(\"GPL\");\n";
  std::ofstream(module / "Kbuild") << "obj-m := provium_warn.o\n";
  const auto built = run({"/usr/bin/make", "-C", tree.string(), "M=" + module.string(), "modules"});
  EXPECT_EQ(built.exit_code, 0) << built.output;
  fs::remove_all(root);  // 100 MB; the packages are kept
  return module / "provium_warn.ko";
}

// Two of the kernel's own selftests, built statically from Debian's linux-source package:
// pidfd_open_test (kselftest.h) and pidfd_getfd_test (kselftest_harness.h, forks per test).
// run_tap gives one result per subtest, numbered as the plan says.
TEST_F(DebianTest, KernelSelftestsFromLinuxSourceGiveOneResultPerSubtest) {
  PROVIUM_TEST_NEEDS(fs::exists("/usr/bin/gcc"), "gcc (Debian: gcc)");
  const fs::path package = downloaded(named_by("linux-source"));
  ASSERT_FALSE(package.empty());
  const fs::path tree = material() / "selftests";
  fs::remove_all(tree);
  fs::create_directories(tree);
  const std::string selftests = "tools/testing/selftests";
  const auto extracted = run({"/bin/sh", "-c",
                              "cd '" + tree.string() + "' && dpkg-deb --fsys-tarfile '" + package.string() +
                                  "' | tar -xO --wildcards './usr/src/linux-source-*.tar.xz' | tar -xJ --strip-components=1 "
                                  "--wildcards '*/" + selftests + "/kselftest.h' '*/" + selftests +
                                  "/kselftest_harness.h' '*/" + selftests + "/pidfd/*'"});
  ASSERT_EQ(extracted.exit_code, 0) << extracted.output;
  const fs::path pidfd = tree / selftests / "pidfd";
  for (const char* test : {"pidfd_open_test", "pidfd_getfd_test"}) {
    const auto built = run({"/usr/bin/gcc", "-static", "-O2", "-I" + (tree / selftests).string(), "-o",
                            (pidfd / test).string(), (pidfd / (std::string(test) + ".c")).string(), "-lpthread"});
    ASSERT_EQ(built.exit_code, 0) << built.output;
  }
  auto vm = provium::create();
  vm.boot({.files = {{"/opt/pidfd_open_test", (pidfd / "pidfd_open_test").string()},
                     {"/opt/pidfd_getfd_test", (pidfd / "pidfd_getfd_test").string()}}});
  vm.mount_vfs();
  for (const char* test : {"/opt/pidfd_open_test", "/opt/pidfd_getfd_test"}) {
    const auto tap = provium::run_tap(vm, test, {.timeout = std::chrono::minutes(3)});
    ASSERT_TRUE(tap.planned) << tap.output;
    EXPECT_GE(*tap.planned, 3) << tap.output;
    ASSERT_EQ(tap.tests.size(), static_cast<std::size_t>(*tap.planned)) << tap.output;
    for (std::size_t i = 0; i < tap.tests.size(); ++i) {
      EXPECT_EQ(tap.tests[i].number, static_cast<int>(i) + 1);
      EXPECT_FALSE(tap.tests[i].name.empty()) << tap.output;
    }
    EXPECT_THAT(tap, provium::TapPasses());
  }
  fs::remove_all(tree);
}

// A real in-kernel warning: the module's WARN_ON(1) prints the kernel's whole report (cut here,
// the WARNING line, registers, the call trace, the end marker), which the check finds and a
// test fails with; declared, it passes.
TEST_F(DebianTest, AModulesWarnOnIsAKernelReportThatFailsTheTest) {
  PROVIUM_TEST_NEEDS(fs::exists("/usr/bin/make"), "make (Debian: make)");
  PROVIUM_TEST_NEEDS(fs::exists("/usr/bin/apt-get"), "apt-get (Debian: apt)");
  const fs::path kernel = provium_test::newest_kernel();
  const std::string release = kernel.filename().string().substr(8);
  const fs::path module = warn_on_module(release);
  ASSERT_TRUE(fs::exists(module)) << "no module was built for " << release;
  use_profile("[profile.host]\nkernel = \"" + kernel.string() + "\"\n");
  auto vm = provium::create("host");
  vm.boot({.files = {{"/root/provium_warn.ko", module.string()}}});

  ASSERT_THAT(vm.exec("insmod /root/provium_warn.ko"), ::provium::ExecSucceeds());
  const auto check = vm.check_kernel_reports();
  ASSERT_EQ(check.unexpected.size(), 1u) << check.describe() << vm.console_tail(60);
  const auto& report = check.unexpected[0];
  EXPECT_THAT(report.title, ::testing::MatchesRegex("WARNING: CPU: [0-9]+ PID: [0-9]+ at .*provium_warn\\.c:2 "
                                                    "provium_warn_init\\+0x[0-9a-f]+/0x[0-9a-f]+ \\[provium_warn\\]"));
  EXPECT_THAT(report.text, HasSubstr("------------[ cut here ]------------"));
  EXPECT_THAT(report.text, HasSubstr("Call Trace:"));
  EXPECT_THAT(report.text, HasSubstr("---[ end trace"));
  EXPECT_FALSE(check.ok());

  // As a test meets it: the failure carries the report's title and text.
  ASSERT_THAT(vm.exec("rmmod provium_warn && insmod /root/provium_warn.ko"), ::provium::ExecSucceeds());
  static provium::Vm* checked;
  checked = &vm;
  EXPECT_NONFATAL_FAILURE(provium::testing::CheckKernelReports(*checked), "Call Trace:");

  // Declared, it passes.
  vm.expect_kernel_report("WARNING: .* at .*provium_warn\\.c");
  ASSERT_THAT(vm.exec("rmmod provium_warn && insmod /root/provium_warn.ko"), ::provium::ExecSucceeds());
  const auto expected = vm.check_kernel_reports();
  EXPECT_TRUE(expected.ok()) << expected.describe();
  EXPECT_EQ(expected.expected.size(), 1u);
  vm.kill();
}

// The whole package unpacked as `dpkg -x` leaves it: /boot/vmlinuz-* and /lib/modules/<release>
// without modules.dep (depmod writes it when the package is installed). The profile names the
// unpacked directory as its modules' INSTALL_MOD_PATH root.
TEST_F(DebianTest, AnRtKernelUnpackedFromItsPackageBootsWithItsOwnModules) {
  PROVIUM_TEST_NEEDS(fs::exists("/usr/bin/apt-get"), "apt-get (Debian: apt)");
  const fs::path package = rt_kernel_package();
  ASSERT_FALSE(package.empty());
  const fs::path unpacked = material() / "rt-unpacked";
  fs::remove_all(unpacked);
  const auto extracted = run({"/usr/bin/dpkg", "-x", package.string(), unpacked.string()});
  ASSERT_EQ(extracted.exit_code, 0) << extracted.output;
  fs::path kernel;
  for (const auto& entry : fs::directory_iterator(unpacked / "boot"))
    if (entry.path().filename().string().starts_with("vmlinuz-")) kernel = entry.path();
  ASSERT_FALSE(kernel.empty()) << "no vmlinuz in " << package;
  const std::string release = kernel.filename().string().substr(8);
  ASSERT_FALSE(fs::exists(unpacked / "lib/modules" / release / "modules.dep"));
  use_profile("[profile.rt]\nkernel = \"" + kernel.string() + "\"\nmodules = \"" + unpacked.string() + "\"\n");

  auto vm = provium::create("rt");
  vm.boot();
  EXPECT_EQ(vm.exec("uname -r").out, release + "\n");
  EXPECT_EQ(vm.read_file("/sys/kernel/realtime"), "1\n");
  EXPECT_THAT(vm.read_file("/proc/modules"), HasSubstr("virtio_console"));  // the transport's driver, from the package
  vm.shutdown();

  // Its 9p and overlayfs are modules too: Provium loads them for a share and for the host's root.
  const fs::path share = material() / "rt-share";
  fs::create_directories(share);
  std::ofstream(share / "f") << "shared\n";
  auto shared = provium::create("rt");
  shared.boot({.shares = {{share.string(), "/mnt/share"}}});
  EXPECT_EQ(shared.read_file("/mnt/share/f"), "shared\n");
  EXPECT_THAT(shared.read_file("/proc/modules"), HasSubstr("9pnet_virtio"));
  shared.shutdown();
  const fs::path config = material() / "rt-host-root.toml";
  std::ofstream(config) << "[profile.rt]\nkernel = \"" << kernel.string() << "\"\nmodules = \"" << unpacked.string()
                        << "\"\nuserspace = \"host\"\n";
  const auto host_root = run({std::getenv("PROVIUM_CLI"), "run", "--config", config.string(), "--profile", "rt", "--",
                              "python3 -c 'print(6 * 7)'"});
  EXPECT_EQ(host_root.exit_code, 0) << host_root.output;
  EXPECT_THAT(host_root.output, HasSubstr("42")) << host_root.output;
  fs::remove_all(unpacked);  // 400 MB; the package itself is kept
}

}  // namespace
