// provium::parse_tap (src/tap) on crafted TAP and on what kernel selftests print, and the
// TapPasses matcher and PROVIUM_EXPECT_TAP (include/provium/gtest.h) on its results.
#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include <provium/gtest.h>
#include <provium/tap.h>

namespace {

using provium::parse_tap;
using provium::TapResult;
using provium::TapTest;
using provium::TapPasses;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// seccomp_bpf's output (kselftest_harness.h), cut down to three tests: one passes, one fails an
// assertion, one skips. It exits 1 (KSFT_FAIL).
constexpr std::string_view kSeccompBpf = R"(TAP version 13
1..3
# Starting 3 tests from 1 test cases.
#  RUN           global.mode_strict_support ...
#            OK  global.mode_strict_support
ok 1 global.mode_strict_support
#  RUN           global.mode_strict_cannot_call_prctl ...
# seccomp_bpf.c:357:mode_strict_cannot_call_prctl:Expected 0 (0) == res (-1)
# mode_strict_cannot_call_prctl: Test terminated by assertion
#          FAIL  global.mode_strict_cannot_call_prctl
not ok 2 global.mode_strict_cannot_call_prctl
#  RUN           global.user_notification_basic ...
#      SKIP      Kernel does not support SECCOMP_RET_USER_NOTIF
#            OK  global.user_notification_basic
ok 3 global.user_notification_basic # SKIP Kernel does not support SECCOMP_RET_USER_NOTIF
# FAILED: 1 / 3 tests passed.
# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0
)";

std::string outcome_name(TapTest::Outcome outcome) {
  switch (outcome) {
    case TapTest::Outcome::pass: return "pass";
    case TapTest::Outcome::fail: return "fail";
    case TapTest::Outcome::skip: return "skip";
    case TapTest::Outcome::todo: return "todo";
  }
  return "?";
}

// One line per test, "2 fail 'name'" or "3 skip 'name' (reason)", so that a mismatch reads.
std::vector<std::string> summary(const TapResult& result) {
  std::vector<std::string> lines;
  for (const auto& test : result.tests)
    lines.push_back(std::to_string(test.number) + " " + outcome_name(test.outcome) + " '" + test.name + "'" +
                    (test.reason.empty() ? "" : " (" + test.reason + ")"));
  return lines;
}

std::vector<std::string> outputs(const TapResult& result) {
  std::vector<std::string> texts;
  for (const auto& test : result.tests) texts.push_back(test.output);
  return texts;
}

struct Explained {
  bool matched;
  std::string explanation;
};

Explained explain(const TapResult& result) {
  ::testing::StringMatchResultListener listener;
  const bool matched = ::testing::ExplainMatchResult(TapPasses(), result, &listener);
  return {matched, listener.str()};
}

TEST(Tap, APlanFirstAndNumberedResults) {
  constexpr std::string_view output = "TAP version 13\n1..3\nok 1 - first\nok 2 second\nok 3\n";
  const TapResult result = parse_tap(output, 0);
  EXPECT_EQ(result.planned, 3);
  EXPECT_THAT(summary(result), ElementsAre("1 pass 'first'", "2 pass 'second'", "3 pass ''"));
  EXPECT_THAT(outputs(result), ElementsAre("", "", ""));
  EXPECT_THAT(result.missing, IsEmpty());
  EXPECT_EQ(result.bail_out, std::nullopt);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.output, output);
  EXPECT_TRUE(result.passed());
  EXPECT_FALSE(result.all_skipped());
}

TEST(Tap, APlanAtTheEnd) {
  const TapResult result = parse_tap("TAP version 14\nok 1 a\nnot ok 2 b\n1..2\n", 1);
  EXPECT_EQ(result.planned, 2);
  EXPECT_THAT(summary(result), ElementsAre("1 pass 'a'", "2 fail 'b'"));
  EXPECT_THAT(result.missing, IsEmpty());
  EXPECT_FALSE(result.passed());
}

TEST(Tap, SkipAndTodoDirectives) {
  const TapResult result = parse_tap(
      "1..7\n"
      "ok 1 # SKIP no /dev/kvm\n"
      "ok 2 - b # skip\n"
      "not ok 3 c # Skipped: an old kernel\n"  // kselftest prints ok, yet some print not ok
      "not ok 4 d # TODO not written yet\n"
      "ok 5 e # todo\n"
      "ok 6 a#b\n"                             // a '#' inside a word starts no directive
      "ok 7 size # 3\n",                       // nor does a '#' before another word
      0);
  EXPECT_THAT(summary(result), ElementsAre("1 skip '' (no /dev/kvm)", "2 skip 'b'", "3 skip 'c' (an old kernel)",
                                           "4 todo 'd' (not written yet)", "5 todo 'e'", "6 pass 'a#b'",
                                           "7 pass 'size # 3'"));
  EXPECT_TRUE(result.passed());
  EXPECT_FALSE(result.all_skipped());
}

TEST(Tap, ResultsWithoutANumberTakeTheNextOne) {
  const TapResult result = parse_tap("1..6\nok first\nnot ok - second\nok 5 fifth\nok\n", 1);
  EXPECT_THAT(summary(result), ElementsAre("1 pass 'first'", "2 fail 'second'", "5 pass 'fifth'", "6 pass ''"));
  EXPECT_THAT(result.missing, ElementsAre(3, 4));
}

TEST(Tap, ABailOutKeepsItsReasonAndLeavesTheRestMissing) {
  const TapResult result = parse_tap("TAP version 13\n1..4\nok 1 a\nBail out! no memory\n", 1);
  EXPECT_EQ(result.bail_out, "no memory");
  EXPECT_THAT(summary(result), ElementsAre("1 pass 'a'"));
  EXPECT_THAT(result.missing, ElementsAre(2, 3, 4));
  EXPECT_FALSE(result.passed());
  EXPECT_EQ(parse_tap("Bail out!\n", 1).bail_out, "");
}

TEST(Tap, APlannedNumberWithoutAResultIsMissing) {
  const TapResult result = parse_tap("1..5\nok 1 a\nok 3 c\n", 0);
  EXPECT_THAT(result.missing, ElementsAre(2, 4, 5));
  EXPECT_FALSE(result.passed());
  EXPECT_FALSE(result.all_skipped());
}

// A guest's stdout is a pipe, fully buffered: each child a selftest forks inherits the lines
// its parent has not flushed yet and prints them again when it exits.
TEST(Tap, RepeatsFromForkedChildrenAreOneTest) {
  const TapResult result = parse_tap(
      "TAP version 13\n1..3\n# parent\nok 1 a\n"
      "TAP version 13\n1..3\n# parent\nok 1 a\n# child\nok 2 b\n"
      "TAP version 13\n1..3\n# parent\nok 1 a\n# child\nok 2 b\nok 3 c\n",
      0);
  EXPECT_EQ(result.planned, 3);
  EXPECT_THAT(summary(result), ElementsAre("1 pass 'a'", "2 pass 'b'", "3 pass 'c'"));
  EXPECT_THAT(outputs(result), ElementsAre("# parent\n", "# child\n", ""));
  EXPECT_TRUE(result.passed());
}

TEST(Tap, ARepeatedNotOkWinsOverOk) {
  const TapResult result = parse_tap(
      "ok 1 a\n# first run of b\nok 2 b\n# the child saw it fail\nnot ok 2 b\n# again\nok 2 b\n"
      "# c failed\nnot ok 3 c\n# a later ok\nok 3 c\n",
      1);
  EXPECT_THAT(summary(result), ElementsAre("1 pass 'a'", "2 fail 'b'", "3 fail 'c'"));
  EXPECT_THAT(outputs(result), ElementsAre("", "# the child saw it fail\n", "# c failed\n"));
}

TEST(Tap, KselftestNestedSubtestsAreOutputOfTheirParent) {
  // run_kselftest.sh runs each program and prefixes its TAP with "# ".
  const TapResult result = parse_tap(
      "TAP version 13\n"
      "1..2\n"
      "# selftests: seccomp: seccomp_bpf\n"
      "# TAP version 13\n"
      "# 1..2\n"
      "# ok 1 global.a\n"
      "# not ok 2 global.b\n"
      "# Bail out! inner\n"
      "not ok 1 selftests: seccomp: seccomp_bpf # exit=1\n"
      "# selftests: seccomp: seccomp_benchmark\n"
      "ok 2 selftests: seccomp: seccomp_benchmark\n",
      1);
  EXPECT_EQ(result.planned, 2);
  EXPECT_EQ(result.bail_out, std::nullopt);
  EXPECT_THAT(summary(result), ElementsAre("1 fail 'selftests: seccomp: seccomp_bpf # exit=1'",
                                           "2 pass 'selftests: seccomp: seccomp_benchmark'"));
  EXPECT_THAT(outputs(result),
              ElementsAre("# selftests: seccomp: seccomp_bpf\n# TAP version 13\n# 1..2\n# ok 1 global.a\n"
                          "# not ok 2 global.b\n# Bail out! inner\n",
                          "# selftests: seccomp: seccomp_benchmark\n"));
}

TEST(Tap, IndentedTap14SubtestsAreOutputOfTheirParent) {
  const TapResult result = parse_tap(
      "TAP version 14\n"
      "1..2\n"
      "# Subtest: first\n"
      "    1..5\n"
      "    ok 1 - inner a\n"
      "    not ok 2 - inner b\n"
      "not ok 1 - first\n"
      "ok 2 - second\n",
      1);
  EXPECT_EQ(result.planned, 2);
  EXPECT_THAT(summary(result), ElementsAre("1 fail 'first'", "2 pass 'second'"));
  EXPECT_THAT(outputs(result),
              ElementsAre("# Subtest: first\n    1..5\n    ok 1 - inner a\n    not ok 2 - inner b\n", ""));
  EXPECT_THAT(result.missing, IsEmpty());
}

TEST(Tap, LinesThatAreNotTapAreOutputOfTheNextTest) {
  const TapResult result = parse_tap(
      "[    1.234] random: crng init done\n"
      "okay then\n"
      "not okay\n"
      "1..x\n"
      "1..2trailing\n"
      "\n"
      "ok 99999999999 too large\n"
      "ok 1 a\r\n"  // a serial console's line end
      "notok\n"
      "ok 2 b\n"
      "after the last result",
      0);
  EXPECT_EQ(result.planned, std::nullopt);
  EXPECT_THAT(summary(result), ElementsAre("1 pass 'a'", "2 pass 'b'"));
  EXPECT_THAT(outputs(result), ElementsAre("[    1.234] random: crng init done\nokay then\nnot okay\n1..x\n"
                                           "1..2trailing\n\nok 99999999999 too large\n",
                                           "notok\n"));
  EXPECT_TRUE(result.passed());
}

TEST(Tap, EmptyOutputWithExitCode4IsAllSkipped) {
  const TapResult result = parse_tap("", 4);
  EXPECT_THAT(result.tests, IsEmpty());
  EXPECT_TRUE(result.all_skipped());
  EXPECT_TRUE(result.passed());
}

TEST(Tap, EmptyOutputWithExitCode1Failed) {
  const TapResult result = parse_tap("", 1);
  EXPECT_FALSE(result.all_skipped());
  EXPECT_FALSE(result.passed());
}

TEST(Tap, APlanOfZeroIsAllSkipped) {
  // kselftest's ksft_exit_skip before any test.
  const TapResult result = parse_tap("TAP version 13\n1..0 # SKIP no seccomp\n", 4);
  EXPECT_EQ(result.planned, 0);
  EXPECT_THAT(result.tests, IsEmpty());
  EXPECT_TRUE(result.all_skipped());
  EXPECT_TRUE(result.passed());
}

TEST(Tap, EverySubtestSkippedIsAllSkippedWithExitCode0Or4) {
  constexpr std::string_view output = "1..2\nok 1 a # SKIP\nok 2 b # SKIP\n";
  EXPECT_TRUE(parse_tap(output, 0).all_skipped());
  EXPECT_TRUE(parse_tap(output, 4).all_skipped());
  EXPECT_TRUE(parse_tap(output, 4).passed());
  EXPECT_FALSE(parse_tap(output, 1).all_skipped());
  EXPECT_FALSE(parse_tap("1..3\nok 1 a # SKIP\nok 2 b # SKIP\n", 4).all_skipped());  // 3 is missing
}

TEST(Tap, AllOkPassesOnlyWithExitCode0) {
  constexpr std::string_view output = "1..2\nok 1 a\nok 2 b\n";
  EXPECT_TRUE(parse_tap(output, 0).passed());
  EXPECT_FALSE(parse_tap(output, 1).passed());
  EXPECT_FALSE(parse_tap(output, 4).passed());  // a skip, yet not every subtest skipped
  EXPECT_FALSE(parse_tap(output, 4).all_skipped());
}

TEST(Tap, KselftestHarnessOutput) {
  const TapResult result = parse_tap(kSeccompBpf, 1);
  EXPECT_EQ(result.planned, 3);
  EXPECT_THAT(summary(result),
              ElementsAre("1 pass 'global.mode_strict_support'", "2 fail 'global.mode_strict_cannot_call_prctl'",
                          "3 skip 'global.user_notification_basic' (Kernel does not support SECCOMP_RET_USER_NOTIF)"));
  EXPECT_THAT(outputs(result),
              ElementsAre("# Starting 3 tests from 1 test cases.\n"
                          "#  RUN           global.mode_strict_support ...\n"
                          "#            OK  global.mode_strict_support\n",
                          "#  RUN           global.mode_strict_cannot_call_prctl ...\n"
                          "# seccomp_bpf.c:357:mode_strict_cannot_call_prctl:Expected 0 (0) == res (-1)\n"
                          "# mode_strict_cannot_call_prctl: Test terminated by assertion\n"
                          "#          FAIL  global.mode_strict_cannot_call_prctl\n",
                          "#  RUN           global.user_notification_basic ...\n"
                          "#      SKIP      Kernel does not support SECCOMP_RET_USER_NOTIF\n"
                          "#            OK  global.user_notification_basic\n"));
  EXPECT_THAT(result.missing, IsEmpty());
  EXPECT_EQ(result.output, kSeccompBpf);
  EXPECT_FALSE(result.passed());
  EXPECT_FALSE(result.all_skipped());
}

TEST(TapPasses, AFailedSubtestIsShownWithTheOutputBeforeIt) {
  const auto [matched, explanation] = explain(parse_tap(kSeccompBpf, 1));
  EXPECT_FALSE(matched);
  EXPECT_EQ(explanation,
            "which has 2 problems:\n"
            "  not ok 2 global.mode_strict_cannot_call_prctl\n"
            "      #  RUN           global.mode_strict_cannot_call_prctl ...\n"
            "      # seccomp_bpf.c:357:mode_strict_cannot_call_prctl:Expected 0 (0) == res (-1)\n"
            "      # mode_strict_cannot_call_prctl: Test terminated by assertion\n"
            "      #          FAIL  global.mode_strict_cannot_call_prctl\n"
            "  exit code 1");
}

TEST(TapPasses, AFailedSubtestShowsTheLast20LinesOfItsOutput) {
  std::string output;
  for (int line = 1; line <= 25; ++line) output += "# line " + std::to_string(line) + "\n";
  std::string shown;
  for (int line = 6; line <= 25; ++line) shown += "\n      # line " + std::to_string(line);
  EXPECT_EQ(explain(parse_tap(output + "not ok 1\n", 0)).explanation, "which has 1 problem:\n  not ok 1" + shown);
}

TEST(TapPasses, MissingNumbersBailOutAndExitCodeAreOneLineEach) {
  const auto [matched, explanation] = explain(parse_tap("1..9\nok 1\nok 3\nBail out! no memory\n", 1));
  EXPECT_FALSE(matched);
  EXPECT_EQ(explanation,
            "which has 4 problems:\n"
            "  no result for test 2\n"
            "  no result for tests 4 to 9\n"
            "  Bail out! no memory\n"
            "  exit code 1");
}

// What a producer printed after its last result (the crash that cut it short) comes with the
// missing tests.
TEST(TapPasses, AProducerThatDiedShowsWhatItPrintedLast) {
  const auto result = parse_tap("1..3\nok 1 a\n# RUN b\nSegmentation fault\n", 139);
  EXPECT_EQ(result.trailing, "# RUN b\nSegmentation fault\n");
  EXPECT_EQ(explain(result).explanation,
            "which has 3 problems:\n"
            "  no result for tests 2 to 3\n"
            "  after the last result:\n"
            "      # RUN b\n"
            "      Segmentation fault\n"
            "  exit code 139 (killed by SIGSEGV)");
  // a run that completed its plan keeps its totals line out of the explanation
  EXPECT_EQ(explain(parse_tap("1..1\nnot ok 1 a\n# Totals: pass:0 fail:1\n", 1)).explanation,
            "which has 2 problems:\n  not ok 1 a\n  exit code 1");
}

// A producer that planned tests and printed no result line (kcmp prints "PASS: ..." lines) is
// told as such, not as "after the last result".
TEST(TapPasses, AProducerWithNoResultLineSaysSo) {
  const auto result = parse_tap("1..2\nPASS: kcmp of files\nPASS: kcmp of vm\n", 0);
  EXPECT_EQ(explain(result).explanation,
            "which has 2 problems:\n"
            "  no result for tests 1 to 2\n"
            "  no result line at all; after the plan:\n"
            "      PASS: kcmp of files\n"
            "      PASS: kcmp of vm");
}

TEST(TapPasses, TheExitCodeIsNamed) {
  EXPECT_EQ(explain(parse_tap("1..2\nok 1 a\nok 2 b # SKIP\n", 4)).explanation,
            "which has 1 problem:\n  exit code 4 (skip in kselftest), but not everything was skipped");
  EXPECT_EQ(explain(parse_tap("1..1\nok 1 a\n", 139)).explanation,
            "which has 1 problem:\n  exit code 139 (killed by SIGSEGV)");
}

TEST(TapPasses, APassingRunMatches) {
  const auto [matched, explanation] = explain(parse_tap("1..3\nok 1 a\nok 2 b # SKIP why\nnot ok 3 c # TODO\n", 0));
  EXPECT_TRUE(matched);
  EXPECT_EQ(explanation, "all 3 subtests passed (1 of them skipped)");
  EXPECT_EQ(explain(parse_tap("", 0)).explanation, "no subtests, exit code 0");
}

TEST(TapPasses, AnAllSkippedRunMatchesWithItsReasons) {
  const auto [matched, explanation] = explain(parse_tap("1..2\nok 1 a # SKIP no kvm\nok 2 # SKIP\n", 4));
  EXPECT_TRUE(matched);
  EXPECT_EQ(explanation, "all 2 subtests skipped:\n  1 a: no kvm\n  2");
}

TEST(TapPasses, ARunThatSkippedBeforeAnyTestShowsItsOutput) {
  const auto [matched, explanation] = explain(parse_tap("TAP version 13\n1..0 # SKIP no seccomp\n", 4));
  EXPECT_TRUE(matched);
  EXPECT_EQ(explanation, "nothing ran (a 1..0 plan)\n  TAP version 13\n  1..0 # SKIP no seccomp");
  EXPECT_EQ(explain(parse_tap("SKIP: bpftool is not installed\n", 4)).explanation,
            "nothing ran (exit code 4: skip in kselftest)\n  SKIP: bpftool is not installed");
  EXPECT_EQ(explain(parse_tap("", 4)).explanation, "nothing ran (exit code 4: skip in kselftest)");
}

TEST(TapPasses, DescriptionAndPrintedValue) {
  EXPECT_EQ(::testing::DescribeMatcher<TapResult>(TapPasses()),
            "passes: no TAP subtest failed or is missing, no bail out, exit code 0");
  EXPECT_EQ(::testing::PrintToString(parse_tap(kSeccompBpf, 1)), "TAP 1..3, 3 results, exit code 1");
  EXPECT_EQ(::testing::PrintToString(parse_tap("ok 1\n", 0)), "TAP without a plan, 1 result, exit code 0");
}

// What PROVIUM_EXPECT_TAP reported, captured instead of failing or skipping this test.
struct Reported {
  std::vector<std::string> failures;
  std::vector<std::string> skips;
  bool continued = false;  // the statement after the macro ran
};

void expect_tap(const TapResult& result, bool& continued) {
  PROVIUM_EXPECT_TAP(result);
  continued = true;
}

Reported report(const TapResult& result) {
  Reported reported;
  ::testing::TestPartResultArray parts;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &parts);
    expect_tap(result, reported.continued);
  }
  for (int i = 0; i < parts.size(); ++i) {
    const auto& part = parts.GetTestPartResult(i);
    (part.skipped() ? reported.skips : reported.failures).push_back(part.message());
  }
  return reported;
}

TEST(ProviumExpectTap, AFailingRunFailsWithTheExplanation) {
  const Reported reported = report(parse_tap("1..2\n# b's diagnostics\nnot ok 1 b\nok 2 c\n", 0));
  EXPECT_THAT(reported.failures, ElementsAre("Value of: provium_tap_result_\n"
                                             "Expected: passes: no TAP subtest failed or is missing, no bail out, "
                                             "exit code 0\n"
                                             "  Actual: TAP 1..2, 2 results, exit code 0 (of type provium::TapResult), "
                                             "which has 1 problem:\n"
                                             "  not ok 1 b\n"
                                             "      # b's diagnostics"));
  EXPECT_THAT(reported.skips, IsEmpty());
  EXPECT_TRUE(reported.continued);
}

TEST(ProviumExpectTap, AnAllSkippedRunSkipsTheTest) {
  const Reported reported = report(parse_tap("1..2\nok 1 a # SKIP no kvm\nok 2 b # SKIP no kvm\n", 4));
  EXPECT_THAT(reported.skips, ElementsAre("all 2 subtests skipped:\n  1 a: no kvm\n  2 b: no kvm"));
  EXPECT_THAT(reported.failures, IsEmpty());
  EXPECT_FALSE(reported.continued);
}

TEST(ProviumExpectTap, APassingRunReportsNothing) {
  const Reported reported = report(parse_tap("1..2\nok 1 a\nok 2 b # SKIP no kvm\n", 0));
  EXPECT_THAT(reported.failures, IsEmpty());
  EXPECT_THAT(reported.skips, IsEmpty());
  EXPECT_TRUE(reported.continued);
}

}  // namespace
