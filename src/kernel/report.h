// The kernel's reports of its own bugs in its console output: a WARNING, a BUG, an Oops, a
// KASAN, KFENCE, UBSAN or lockdep report, a hung task, an RCU stall, a panic. Where each one
// starts, what it is called and where it ends, after syzkaller's report parser (pkg/report).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace provium::kernel {

struct Report {
  // Its headline in the kernel's words, without the timestamp:
  // "WARNING: CPU: 0 PID: 42 at mm/slub.c:4321 kfree+0x1c/0x80".
  std::string title;
  // Its lines up to and including the title, without timestamps: what the kernel printed
  // before the headline (a WARN's message, "refcount_t: underflow; use-after-free.") and the
  // title itself, one per line.
  std::string header;
  // The report as the console shows it (timestamps kept), at most kMaxReportLines lines.
  std::string text;
  std::size_t lines = 0;  // how many lines the report had, kept or not

  // A CPU or task that makes no progress (a soft or hard lockup, a hung task, an RCU stall).
  bool is_hang() const;
};

constexpr std::size_t kMaxReportLines = 400;

// The reports in `console`, in order. A report ends at its end marker ("---[ end trace",
// "---[ end Kernel panic", the closing rule of a KASAN or UBSAN report), where the next one
// starts, after a silence of more than 10 s between timestamped lines, or where the text ends.
// Lines without a timestamp inside a timestamped report (userspace writing to the console) are
// left out of it.
std::vector<Report> find_reports(std::string_view console);

// The reports for a message: each one's text, trimmed to `max_lines` lines, after a line that
// names it; reports past the first `max_reports` only by title.
std::string describe_reports(const std::vector<Report>& reports, std::size_t max_reports = 5,
                             std::size_t max_lines = 80);

}  // namespace provium::kernel
