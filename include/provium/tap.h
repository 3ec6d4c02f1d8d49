// The results of a TAP producer (Test Anything Protocol), such as a kernel selftest run in the
// guest: parse_tap turns its stdout into one result per subtest.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace provium {

struct TapTest {
  enum class Outcome { pass, fail, skip, todo };
  int number = 0;
  std::string name;  // the description: after the number, without a leading "- " and the directive
  Outcome outcome = Outcome::pass;
  std::string reason;  // the text of a "# SKIP ..." or "# TODO ..." directive, else empty
  std::string output;  // the lines printed since the previous top-level result line (diagnostics,
                       // nested subtests), each ending in a newline
};

struct TapResult {
  std::optional<int> planned;           // N of a "1..N" plan (at the start or at the end)
  std::vector<TapTest> tests;           // one per test number, in number order
  std::vector<int> missing;             // numbers 1..planned with no result line
  std::optional<std::string> bail_out;  // the reason of "Bail out!"
  std::string trailing;                 // the lines after the last result line (a crash's words
                                        // when the producer died before its plan was done)
  int exit_code = 0;                    // the command's
  std::string output;                   // the whole output as given

  // At least one test, a "1..0" plan or exit code 4 (kselftest's KSFT_SKIP); every test
  // skipped; nothing missing, no bail out, exit code 0 or 4.
  bool all_skipped() const;
  // No failed test, nothing missing, no bail out, and exit code 0 (or 4 when all_skipped()).
  bool passed() const;
};

// Parses `output`, the stdout of a TAP producer (TAP 13 or 14, as kselftest prints it). Only
// unindented lines are TAP: nested subtests, indented (TAP 14) or behind "# " (kselftest), are
// output of the test that encloses them, as is any line that is not TAP. A "# SKIP" directive
// makes a skip even on a "not ok" line. A result line without a number takes the number after
// the previous one. A number seen again (the children a selftest forks reprint their parent's
// buffered stdout) stays one test: a later "not ok" replaces an "ok", else the first line
// stays. Never throws on malformed input.
TapResult parse_tap(std::string_view output, int exit_code);

// What is wrong with a run, one line per problem (a failed subtest with the last 20 lines of
// its output, missing ones, a bail out, the exit code), or what passed or was skipped: what
// TapPasses, PROVIUM_EXPECT_TAP and Lua's assert_tap print.
std::string explain_tap(const TapResult& result);

// A TapResult in a failure message: "TAP 1..3, 3 results, exit code 1".
void PrintTo(const TapResult& result, std::ostream* os);

}  // namespace provium
