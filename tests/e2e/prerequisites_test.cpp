// A host without QEMU: a Provium test program skips everything with the reason and exits 77
// (meson's "skipped"), or fails when PROVIUM_REQUIRE=1 (what CI sets).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "support/child_process.h"

using ::testing::HasSubstr;

namespace {

// Runs the example test program with PATH emptied, so that QEMU cannot be found.
provium_test::ChildRun run_example_without_qemu(bool require) {
  const char* program = std::getenv("PROVIUM_EXAMPLE_PROGRAM");
  EXPECT_NE(program, nullptr) << "meson passes PROVIUM_EXAMPLE_PROGRAM";
  return provium_test::ChildProcess({program}, {{"PATH", "/nonexistent"},
                                                {"PROVIUM_REQUIRE", require ? "1" : ""}})
      .wait();
}

TEST(PrerequisitesTest, MissingQemuSkipsEverythingWithTheReasonAndExits77) {
  auto run = run_example_without_qemu(false);
  EXPECT_EQ(run.exit_code, 77) << run.output;
  EXPECT_THAT(run.output, HasSubstr("QEMU not found"));
  EXPECT_THAT(run.output, HasSubstr("every test was skipped"));
}

TEST(PrerequisitesTest, RequireTurnsTheSkipIntoAFailure) {
  auto run = run_example_without_qemu(true);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("QEMU not found"));
  EXPECT_THAT(run.output, HasSubstr("PROVIUM_REQUIRE=1"));
}

TEST(CommandLineTest, UnknownProviumFlagIsRefusedWithTheUsage) {
  const char* program = std::getenv("PROVIUM_EXAMPLE_PROGRAM");
  ASSERT_NE(program, nullptr);
  auto run = provium_test::ChildProcess({program, "--provium_bogus=1"}, {}).wait();
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_THAT(run.output, HasSubstr("unknown flag --provium_bogus=1"));
  EXPECT_THAT(run.output, HasSubstr("--provium_config=FILE"));
}

// Settings are checked once, before any test runs, and name where the bad value came from.
TEST(CommandLineTest, AMalformedSettingEndsTheProgramNamingItsSource) {
  const char* program = std::getenv("PROVIUM_EXAMPLE_PROGRAM");
  ASSERT_NE(program, nullptr);
  auto from_variable = provium_test::ChildProcess({program}, {{"PROVIUM_POOL_CPUS", "two"}}).wait();
  EXPECT_EQ(from_variable.exit_code, 2) << from_variable.output;
  EXPECT_THAT(from_variable.output, HasSubstr("PROVIUM_POOL_CPUS is \"two\""));
  EXPECT_THAT(from_variable.output, ::testing::Not(HasSubstr("[ RUN      ]")));
  auto from_flag = provium_test::ChildProcess({program, "--provium_accel=xen"}, {}).wait();
  EXPECT_EQ(from_flag.exit_code, 2) << from_flag.output;
  EXPECT_THAT(from_flag.output, HasSubstr("--provium_accel is \"xen\"; it must be one of auto, kvm, tcg"));
}

// Two PROVIUM_FIXTUREs of one name in two source files: the program says so and runs nothing.
TEST(CommandLineTest, AFixtureNameDefinedTwiceEndsTheProgram) {
  const char* program = std::getenv("PROVIUM_DUPLICATE_FIXTURE_PROGRAM");
  ASSERT_NE(program, nullptr);
  auto run = provium_test::ChildProcess({program}, {}).wait();
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_THAT(run.output, HasSubstr("PROVIUM_FIXTURE(twice) is defined twice in this program"));
  EXPECT_THAT(run.output, ::testing::Not(HasSubstr("[ RUN      ]")));
}

}  // namespace
