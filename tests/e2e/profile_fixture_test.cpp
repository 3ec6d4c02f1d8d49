// PROVIUM_FIXTURE(name, "profile"): the two-argument form of fixtures.md, compiled and run on a
// second profile of a provium.toml this program writes before Provium reads its configuration.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <provium/gtest.h>

#include "support/kernel.h"

using ::testing::HasSubstr;
using ::testing::Not;

namespace {
// A kernel command line word that only the second profile adds (a dotted word, so the kernel
// keeps it as a parameter and init does not get it as an argument).
constexpr const char* kMarker = "provium_test.second_profile=1";
}  // namespace

PROVIUM_FIXTURE(on_second, "second") { vm.exec("echo prepared > /tmp/prepared"); }
PROVIUM_FIXTURE(on_default) {}

TEST_F(on_second, RunsOnTheNamedProfile) {
  EXPECT_THAT(vm.read_file("/proc/cmdline"), HasSubstr(kMarker));
  EXPECT_EQ(vm.read_file("/tmp/prepared"), "prepared\n");
}

TEST_F(on_default, RunsOnTheDefaultProfile) { EXPECT_THAT(vm.read_file("/proc/cmdline"), Not(HasSubstr(kMarker))); }

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  const auto dir = std::filesystem::path(std::getenv("PROVIUM_RUN_DIR")) / "profile-fixture";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "provium.toml") << "[profile.second]\nkernel = \"" << provium_test::newest_kernel().string()
                                      << "\"\nappend = \"" << kMarker << "\"\n";
  ::setenv("PROVIUM_CONFIG", (dir / "provium.toml").c_str(), 1);
  provium::testing::Init(&argc, argv);
  return provium::testing::ExitCode(RUN_ALL_TESTS());
}
