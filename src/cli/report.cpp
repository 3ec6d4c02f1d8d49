#include "cli/report.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/text.h"

namespace provium::cli {

namespace {

using Status = lua::BlockResult::Status;

std::size_t todo_blocks(const lua::FileResult& result) {
  return std::count_if(result.blocks.begin(), result.blocks.end(),
                       [](const auto& block) { return block.status == Status::todo; });
}

// "first line\n" then the other lines indented under it: messages and errors can span lines
// (an operation failure carries console lines).
std::string first_line_then_indented(std::string_view text, std::string_view prefix) {
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  const auto newline = text.find('\n');
  if (newline == std::string_view::npos) return std::string(text) + "\n";
  return std::string(text.substr(0, newline)) + "\n" + indent(text.substr(newline + 1), prefix);
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    lines.push_back(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
  }
  return lines;
}

}  // namespace

std::string indent(std::string_view text, std::string_view prefix) {
  std::string out;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // serial consoles' CRLF
    if (!line.empty()) out.append(prefix).append(line);
    out += '\n';
  }
  return out;
}

std::string_view without_traceback(std::string_view error) {
  const auto at = error.find("\nstack traceback:");
  return at == std::string_view::npos ? error : error.substr(0, at);
}

std::string status_text(const FileOutcome& outcome) {
  const auto& result = outcome.result;
  const std::string seconds = fmt::format("{:.1f}s", result.seconds);
  const std::size_t blocks = result.blocks.size();
  if (!outcome.passed()) {
    std::string what;
    if (result.error) what = "error, ";
    if (const auto failed = result.failed_blocks(); failed > 0)
      what += fmt::format("{} of {} failed, ", failed, base::plural(blocks, "test", "tests"));
    return fmt::format("FAIL ({}{})", what, seconds);
  }
  if (outcome.skipped()) return fmt::format("skipped ({} todo, {})", blocks, seconds);
  if (blocks == 0) return fmt::format("ok ({})", seconds);
  const std::size_t todo = todo_blocks(result);
  return fmt::format("ok ({}{}, {})", base::plural(blocks, "test", "tests"),
                     todo ? fmt::format(", {} todo", todo) : "", seconds);
}

std::string format_outcome(const FileOutcome& outcome, bool verbose) {
  const auto& result = outcome.result;
  std::string out = fmt::format("  {} ... {}\n", outcome.name, status_text(outcome));
  for (const auto& block : result.blocks) {
    out += fmt::format("    · {} ... ", block.name);
    switch (block.status) {
      case Status::passed: out += "ok\n"; break;
      case Status::failed:
        out += "FAIL: " + first_line_then_indented(without_traceback(block.message), "        ");
        break;
      case Status::todo:
        out += block.message.empty() ? "todo\n" : "todo: " + first_line_then_indented(block.message, "        ");
        break;
    }
  }
  if (!outcome.passed()) {
    if (result.error)
      out += "    error: " + first_line_then_indented(without_traceback(*result.error), "      ");
    // console_tail heads each VM's lines with "--- console of LABEL (last 20 lines) ---".
    const std::string tail = result.console_tail(20);
    for (const auto& line : lines_of(tail))
      out += indent(line, line.rfind("--- ", 0) == 0 ? "    " : "      ");
    if (outcome.result_missing && !verbose)
      out += outcome.output.empty()
                 ? "    its process wrote nothing\n"
                 : "    its output (last 20 lines):\n" + indent(base::last_lines(outcome.output, 20), "      ");
  }
  if (verbose && !outcome.output.empty()) out += "    output:\n" + indent(outcome.output, "      ");
  return out;
}

std::string format_summary(const Summary& summary) {
  std::string out = "\n";
  if (!summary.kept_logs.empty()) {
    out += "Failed test logs:\n";
    for (const auto& [name, log] : summary.kept_logs) out += fmt::format("  {} → {}\n", name, log.string());
    out += "\n";
  }
  std::string extra;
  if (summary.skipped) extra += fmt::format(", {} skipped", summary.skipped);
  if (summary.not_run) extra += fmt::format(", {} not run", summary.not_run);
  if (summary.failed == 0 && summary.not_run == 0)
    out += fmt::format("ok: {} passed{}\n", summary.passed, extra);
  else
    out += fmt::format("FAIL: {} passed, {} failed{}\n", summary.passed, summary.failed, extra);
  return out;
}

}  // namespace provium::cli
