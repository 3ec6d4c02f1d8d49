// What a TAP run's problems are, in the words of its own output, so that a failed subtest reads
// as the selftest printed it: for TapPasses, PROVIUM_EXPECT_TAP and Lua's assert_tap.
#include <provium/tap.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <ostream>
#include <string_view>
#include <vector>

#include "base/text.h"

namespace provium {

void PrintTo(const TapResult& result, std::ostream* os) {
  *os << "TAP " << (result.planned ? "1.." + std::to_string(*result.planned) : "without a plan") << ", "
      << base::plural(static_cast<long long>(result.tests.size()), "result", "results") << ", exit code "
      << result.exit_code;
}


namespace {

// The tail of a test's output shown under it: a selftest's diagnostics of one failure.
constexpr std::size_t kOutputLines = 20;

// KSFT_SKIP, the exit code of a kselftest that skipped.
constexpr int kKselftestSkip = 4;

// The last kOutputLines lines of `output`, each on a line of its own after `indent`.
std::string tail_lines(std::string_view output, std::string_view indent) {
  const std::string tail = base::last_lines(output, kOutputLines);
  std::string text;
  for (std::size_t start = 0; start < tail.size();) {
    const std::size_t end = std::min(tail.find('\n', start), tail.size());
    text.append("\n").append(indent).append(tail, start, end - start);
    start = end + 1;
  }
  return text;
}

// "3 global.kill_after", or "3" for a test without a name.
std::string label(const TapTest& test) {
  return test.name.empty() ? std::to_string(test.number) : std::to_string(test.number) + " " + test.name;
}

// One line per run of consecutive missing numbers: a selftest that died early misses all the rest.
void add_missing(std::vector<std::string>& problems, const std::vector<int>& missing) {
  for (std::size_t first = 0; first < missing.size();) {
    std::size_t last = first;
    while (last + 1 < missing.size() && missing[last + 1] == missing[last] + 1) ++last;
    problems.push_back(first == last ? "no result for test " + std::to_string(missing[first])
                                     : "no result for tests " + std::to_string(missing[first]) + " to " +
                                           std::to_string(missing[last]));
    first = last + 1;
  }
}

std::string exit_code_problem(const TapResult& result) {
  const std::string code = "exit code " + std::to_string(result.exit_code);
  if (result.exit_code == kKselftestSkip) return code + " (skip in kselftest), but not everything was skipped";
  // A command killed by signal N exits 128 + N (ExecResult::exit_code).
  const int signal_number = result.exit_code - 128;
  if (signal_number > 0 && signal_number < NSIG && sigabbrev_np(signal_number))
    return code + " (killed by SIG" + sigabbrev_np(signal_number) + ")";
  return code;
}

}  // namespace

std::string explain_tap(const TapResult& result) {
  if (result.all_skipped() && result.tests.empty())
    return std::string("nothing ran (") +
           (result.planned == 0 ? "a 1..0 plan" : "exit code 4: skip in kselftest") + ")" +
           tail_lines(result.output, "  ");
  if (result.all_skipped()) {
    std::string text = "all " + base::plural(static_cast<long long>(result.tests.size()), "subtest", "subtests") +
                       " skipped:";
    for (const auto& test : result.tests)
      text += "\n  " + label(test) + (test.reason.empty() ? "" : ": " + test.reason);
    return text;
  }
  std::vector<std::string> problems;
  for (const auto& test : result.tests)
    if (test.outcome == TapTest::Outcome::fail)
      problems.push_back("not ok " + label(test) + tail_lines(test.output, "      "));
  add_missing(problems, result.missing);
  // A producer that died before its plan was done said why after its last result, if anywhere;
  // one that gave no result at all (kcmp plans 1..3 and prints PASS lines) said everything there.
  if (!result.missing.empty() && !result.trailing.empty())
    problems.push_back((result.tests.empty() ? "no result line at all; after the plan:" : "after the last result:") +
                       tail_lines(result.trailing, "      "));
  if (result.bail_out) problems.push_back(result.bail_out->empty() ? "Bail out!" : "Bail out! " + *result.bail_out);
  if (result.exit_code != 0) problems.push_back(exit_code_problem(result));
  if (problems.empty() && result.tests.empty()) return "no subtests, exit code 0";
  if (problems.empty()) {
    const auto skipped = std::ranges::count_if(
        result.tests, [](const TapTest& test) { return test.outcome == TapTest::Outcome::skip; });
    return "all " + base::plural(static_cast<long long>(result.tests.size()), "subtest", "subtests") + " passed" +
           (skipped ? " (" + std::to_string(skipped) + " of them skipped)" : "");
  }
  std::string text = "which has " + base::plural(static_cast<long long>(problems.size()), "problem", "problems") + ":";
  for (const auto& problem : problems) text += "\n  " + problem;
  return text;
}

}  // namespace provium
