// TAP output turned into subtests (include/provium/tap.h), leniently: a selftest's output is
// mixed with whatever else the guest printed, so a line that is not TAP is output, never an
// error.
#include <provium/tap.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <utility>

namespace provium {

namespace {

// KSFT_SKIP, the exit code of a kselftest that skipped.
constexpr int kKselftestSkip = 4;

// A larger number is taken for a line that only looks like TAP: a plan's missing numbers are
// listed one by one, and kernel selftests have at most a few thousand subtests.
constexpr int kLargestNumber = 1'000'000;

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

// The number that `text` starts with, removed from it; nullopt when it starts with no digit or
// the number is too large.
std::optional<int> take_number(std::string_view& text) {
  int number = 0;
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text.front()))) return std::nullopt;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || number > kLargestNumber) return std::nullopt;
  text.remove_prefix(end - text.data());
  return number;
}

// N of "1..N", which may be followed by a comment ("1..0 # SKIP why").
std::optional<int> parse_plan(std::string_view line) {
  if (!line.starts_with("1..")) return std::nullopt;
  line.remove_prefix(3);
  const auto planned = take_number(line);
  if (!planned || !(line.empty() || is_space(line.front()))) return std::nullopt;
  return planned;
}

struct ResultLine {
  std::optional<int> number;
  TapTest test;  // its number not yet set
};

// "ok 3 - name # SKIP why", "not ok 3 name", "ok": nullopt for any other line.
std::optional<ResultLine> parse_result_line(std::string_view line) {
  const bool failed = line.starts_with("not ok");
  if (!failed && !line.starts_with("ok")) return std::nullopt;
  std::string_view rest = line.substr(failed ? 6 : 2);
  if (!rest.empty() && !is_space(rest.front())) return std::nullopt;  // "okay"
  rest = trim(rest);
  ResultLine result;
  if (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front()))) {
    result.number = take_number(rest);
    if (!result.number) return std::nullopt;
    rest = trim(rest);
  }
  if (rest == "-" || rest.starts_with("- ")) rest = trim(rest.substr(1));
  TapTest& test = result.test;
  test.outcome = failed ? TapTest::Outcome::fail : TapTest::Outcome::pass;
  // A directive starts at a '#' that starts a word: "a#b" is a name.
  for (std::size_t hash = rest.find('#'); hash != std::string_view::npos; hash = rest.find('#', hash + 1)) {
    if (hash > 0 && !is_space(rest[hash - 1])) continue;
    const std::string_view directive = trim(rest.substr(hash + 1));
    // "SKIP", and the "skipped:" or "Skipping" some producers print.
    const std::string_view keyword = directive.substr(0, directive.find_first_of(" \t"));
    if (starts_with_ignoring_case(keyword, "skip"))
      test.outcome = TapTest::Outcome::skip;
    else if (starts_with_ignoring_case(keyword, "todo"))
      test.outcome = TapTest::Outcome::todo;
    else
      continue;
    test.reason = trim(directive.substr(keyword.size()));
    rest = trim(rest.substr(0, hash));
    break;
  }
  test.name = rest;
  return result;
}

}  // namespace

bool TapResult::all_skipped() const {
  // Empty output that exits 0 skipped nothing: it passed.
  const bool something_skipped = !tests.empty() || planned == 0 || exit_code == kKselftestSkip;
  return something_skipped &&
         std::ranges::all_of(tests, [](const TapTest& test) { return test.outcome == TapTest::Outcome::skip; }) &&
         missing.empty() && !bail_out && (exit_code == 0 || exit_code == kKselftestSkip);
}

bool TapResult::passed() const {
  const bool failed =
      std::ranges::any_of(tests, [](const TapTest& test) { return test.outcome == TapTest::Outcome::fail; });
  return !failed && missing.empty() && !bail_out &&
         (exit_code == 0 || (exit_code == kKselftestSkip && all_skipped()));
}

TapResult parse_tap(std::string_view output, int exit_code) {
  TapResult result;
  result.exit_code = exit_code;
  result.output = output;
  std::map<int, TapTest> tests;
  std::string pending_output;  // since the previous result line
  int previous_number = 0;
  while (!output.empty()) {
    const std::size_t end = std::min(output.find('\n'), output.size());
    std::string_view line = output.substr(0, end);
    output.remove_prefix(std::min(end + 1, output.size()));
    if (line.ends_with('\r')) line.remove_suffix(1);  // a serial console's line end
    if (line.starts_with("TAP version ")) continue;
    if (line.starts_with("Bail out!")) {
      if (!result.bail_out) result.bail_out = std::string(trim(line.substr(9)));
      continue;
    }
    if (const auto planned = parse_plan(line)) {
      if (!result.planned) result.planned = planned;
      continue;
    }
    auto parsed = parse_result_line(line);
    if (!parsed) {
      pending_output.append(line).append("\n");
      continue;
    }
    TapTest& test = parsed->test;
    test.number = parsed->number.value_or(previous_number + 1);
    previous_number = test.number;
    test.output = std::exchange(pending_output, {});
    // try_emplace leaves `test` whole when the number is there already.
    const auto [existing, inserted] = tests.try_emplace(test.number, std::move(test));
    if (!inserted && test.outcome == TapTest::Outcome::fail && existing->second.outcome != TapTest::Outcome::fail)
      existing->second = std::move(test);
  }
  result.trailing = std::move(pending_output);
  for (auto& [number, test] : tests) result.tests.push_back(std::move(test));
  for (int number = 1; number <= result.planned.value_or(0); ++number)
    if (!tests.contains(number)) result.missing.push_back(number);
  return result;
}

}  // namespace provium
