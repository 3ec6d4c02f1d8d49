#include "vm/silence.h"

#include <fmt/format.h>

#include <algorithm>

#include "kernel/kconfig.h"
#include "kernel/report.h"

namespace provium::vm {

namespace {

// The line of `text` around offset `at`, without its CR.
std::string_view line_of(std::string_view text, std::size_t at) {
  const auto begin = text.rfind('\n', at);
  const auto start = begin == std::string_view::npos ? 0 : begin + 1;
  const auto end = text.find('\n', at);
  auto line = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

std::string why_silent(std::string_view console) {
  // What the kernel lacks, where the console says so (a kernel checked before its boot never
  // gets here for that).
  if (std::string lacks = kernel::diagnose_console(console); !lacks.empty()) return lacks;
  // agent/wrapper.c's watcher.
  if (const auto at = console.rfind("provium-wrapper: the agent ("); at != std::string_view::npos)
    return fmt::format("the agent died ({})", line_of(console, at));
  // The kernel's own reports of a CPU or task that makes no progress (its watchdogs and RCU).
  const auto reports = kernel::find_reports(console);
  const auto hang = std::find_if(reports.rbegin(), reports.rend(), [](const auto& report) { return report.is_hang(); });
  if (hang != reports.rend()) return fmt::format("the kernel is hung ({})", hang->title);
  return {};
}

}  // namespace provium::vm
