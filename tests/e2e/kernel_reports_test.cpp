// The kernel's reports fail the test during which they came, with their text: a program whose
// tests make the kernel warn (kernel_reports/splats.cpp) is run as a child, as a user runs it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "support/child_process.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

provium_test::ChildRun run_splats(std::vector<std::string> args) {
  args.insert(args.begin(), std::getenv("PROVIUM_SPLATS_PROGRAM"));
  return provium_test::ChildProcess(args, {}).wait();
}

// The output of one test: from its "[ RUN      ]" line to its result line.
std::string test_output(const std::string& output, const std::string& test) {
  const auto start = output.find("[ RUN      ] " + test + "\n");
  if (start == std::string::npos) return {};
  const auto ok = output.find("[       OK ] " + test + " (", start);
  const auto failed = output.find("[  FAILED  ] " + test + " (", start);
  const auto end = std::min(ok, failed);
  return output.substr(start, end == std::string::npos ? std::string::npos : output.find('\n', end) - start);
}

class KernelReports : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { run_ = new provium_test::ChildRun(run_splats({})); }
  static void TearDownTestSuite() { delete run_; }
  static std::string of(const std::string& test) { return test_output(run_->output, test); }
  static provium_test::ChildRun* run_;
};
provium_test::ChildRun* KernelReports::run_ = nullptr;

TEST_F(KernelReports, AWarningFailsTheTestWithItsText) {
  const auto warns = of("splats.Warns");
  EXPECT_THAT(warns, HasSubstr("[  FAILED  ] splats.Warns (")) << run_->output;
  EXPECT_THAT(warns, HasSubstr("the kernel reported a bug that no expect_kernel_report declared:\n"
                               "--- kernel report: WARNING: CPU: 0 PID: 1 at cpp/test.c:1 f+0x1/0x2 ---\n"));
  EXPECT_THAT(warns, testing::ContainsRegex(R"(\[ *[0-9]+\.[0-9]+\] WARNING: CPU: 0 PID: 1 at cpp/test\.c:1)"));
  // and the failed test's console follows, as for any failure
  EXPECT_THAT(warns, HasSubstr("--- console of this test's VM since it started"));
  EXPECT_EQ(run_->exit_code, 1);
}

TEST_F(KernelReports, TheNextTestPasses) {
  EXPECT_THAT(of("splats.PassesAfterTheTestThatWarned"), HasSubstr("[       OK ]")) << run_->output;
}

TEST_F(KernelReports, AnExpectedReportPassesAndOneThatNeverCameFails) {
  EXPECT_THAT(of("splats.ExpectsItsWarning"), HasSubstr("[       OK ]")) << run_->output;
  const auto missing = of("splats.ExpectsAReportThatNeverComes");
  EXPECT_THAT(missing, HasSubstr("[  FAILED  ]")) << run_->output;
  EXPECT_THAT(missing, HasSubstr("expect_kernel_report(\"BUG: KASAN\"): the kernel reported nothing that matches"));
}

TEST_F(KernelReports, AVmOfATestsOwnIsCheckedWhenItEnds) {
  const auto plain = of("plain.AVmOfItsOwnThatWarns");
  EXPECT_THAT(plain, HasSubstr("[  FAILED  ]")) << run_->output;
  EXPECT_THAT(plain, testing::ContainsRegex("vm-[A-Za-z0-9]+ ended: the kernel reported a bug"));
  EXPECT_THAT(plain, HasSubstr("--- kernel report: WARNING: CPU: 0 PID: 1 at cpp/plain.c:3 f+0x1/0x2 ---"));
}

TEST_F(KernelReports, AWarningInAFixturesBodyFailsItsBuild) {
  const auto never = of("warned_setup.NeverRuns");
  EXPECT_THAT(never, HasSubstr("[  FAILED  ]")) << run_->output;
  EXPECT_THAT(never, HasSubstr("building fixture 'warned_setup' failed: the setup's VM is not snapshotted: "
                               "the kernel reported a bug"));
  EXPECT_THAT(never, HasSubstr("--- kernel report: WARNING: CPU: 0 PID: 1 at cpp/setup.c:4 f+0x1/0x2 ---"));
  EXPECT_THAT(never, Not(HasSubstr("the body of a fixture whose setup warned ran")));
}

// --provium_kernel_reports=ignore (PROVIUM_KERNEL_REPORTS=ignore): the same tests pass, the
// run says once that reports are ignored and names each one.
TEST(KernelReportsIgnored, TheSwitchLetsReportsPassAndSaysSoOnce) {
  const auto run = run_splats({"--provium_kernel_reports=ignore", "--gtest_filter=splats.Warns:splats.ExpectsAReportThatNeverComes:plain.*"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  const std::string notice = "PROVIUM_KERNEL_REPORTS=ignore: the kernel's reports";
  const auto first = run.output.find(notice);
  ASSERT_NE(first, std::string::npos) << run.output;
  EXPECT_EQ(run.output.find(notice, first + 1), std::string::npos) << "said more than once:\n" << run.output;
  EXPECT_THAT(run.output, HasSubstr("provium: kernel report ignored: WARNING: CPU: 0 PID: 1 at cpp/test.c:1 f+0x1/0x2\n"));
  EXPECT_THAT(run.output, HasSubstr("provium: kernel report ignored: WARNING: CPU: 0 PID: 1 at cpp/plain.c:3 f+0x1/0x2\n"));
}

}  // namespace
