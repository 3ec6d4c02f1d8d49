#include "cli/junit.h"

#include <fmt/format.h>

namespace provium::cli {

namespace {
using Status = lua::BlockResult::Status;

// Escaped for an attribute or element text; the control characters XML 1.0 forbids become
// U+FFFD (a console's noise must not make the report unreadable).
std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r')
          out += "\xEF\xBF\xBD";
        else
          out += c;
    }
  }
  return out;
}

std::string first_line(std::string_view text) { return std::string(text.substr(0, text.find('\n'))); }

struct Counts {
  std::size_t tests = 0, failures = 0, errors = 0, skipped = 0;
  double seconds = 0;
};

Counts count(const lua::FileResult& result) {
  Counts counts;
  for (const auto& block : result.blocks) {
    ++counts.tests;
    if (block.status == Status::failed) ++counts.failures;
    if (block.status == Status::todo) ++counts.skipped;
  }
  if (result.error) ++counts.tests, ++counts.errors;
  counts.seconds = result.seconds;
  return counts;
}

std::string attributes(const Counts& counts) {
  return fmt::format("tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3f}\"", counts.tests,
                     counts.failures, counts.errors, counts.skipped, counts.seconds);
}
}  // namespace

std::string junit_xml(const std::vector<JunitFile>& files) {
  Counts total;
  std::string suites;
  for (const auto& file : files) {
    const Counts counts = count(file.result);
    total.tests += counts.tests;
    total.failures += counts.failures;
    total.errors += counts.errors;
    total.skipped += counts.skipped;
    total.seconds += counts.seconds;
    const std::string classname = escape(file.name);
    suites += fmt::format("  <testsuite name=\"{}\" {}>\n", classname, attributes(counts));
    if (file.log)
      suites += fmt::format("    <properties>\n      <property name=\"provium.log\" value=\"{}\"/>\n    </properties>\n",
                            escape(file.log->string()));
    for (const auto& block : file.result.blocks) {
      suites += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"", classname, escape(block.name),
                            block.seconds);
      switch (block.status) {
        case Status::passed:
          suites += "/>\n";
          break;
        case Status::failed:
          suites += fmt::format(">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                                escape(first_line(block.message)), escape(block.message));
          break;
        case Status::todo:
          suites += fmt::format(">\n      <skipped message=\"{}\"/>\n    </testcase>\n", escape(block.message));
          break;
      }
    }
    if (file.result.error)
      suites += fmt::format(
          "    <testcase classname=\"{}\" name=\"(file)\" time=\"0.000\">\n      <error message=\"{}\">{}</error>\n"
          "    </testcase>\n",
          classname, escape(first_line(*file.result.error)), escape(*file.result.error));
    suites += "  </testsuite>\n";
  }
  return fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"provium test\" {}>\n{}</testsuites>\n",
                     attributes(total), suites);
}

}  // namespace provium::cli
