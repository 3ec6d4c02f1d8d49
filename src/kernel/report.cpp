#include "kernel/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>

namespace provium::kernel {

namespace {

// What a console line is to the parser.
enum class Role {
  plain,
  headline,      // starts a report (WARNING:, BUG:, ...), or names the one a preamble opened
  continuation,  // part of an open report (the "Oops:" after "BUG: kernel NULL pointer ..."), else a headline
  preamble,      // printed before a headline: "cut here", a WARN's known messages
  rule,          // "=====...": opens a KASAN/UBSAN/lockdep report, and closes KASAN's and UBSAN's
  end,           // "---[ end trace ...": the last line of a report
};

struct Marker {
  std::string_view text;
  Role role;
};

// The lines that matter, as the 6.1 kernel prints them (and pkg/report/linux.go knows them).
// Each is matched at the start of a line, or after one pr_fmt prefix ("watchdog: BUG: soft
// lockup", "rcu: INFO: rcu_sched self-detected stall").
constexpr std::array kMarkers = {
    Marker{"WARNING:", Role::headline},
    Marker{"BUG:", Role::headline},  // KASAN, KFENCE, KMSAN, KCSAN, sleeping in atomic, lockups, NULL
    Marker{"kernel BUG at", Role::headline},
    Marker{"Kernel BUG", Role::headline},
    Marker{"general protection fault", Role::headline},
    Marker{"stack segment:", Role::headline},
    Marker{"Unable to handle kernel", Role::headline},
    Marker{"UBSAN:", Role::headline},
    Marker{"KASAN:", Role::headline},
    Marker{"KFENCE:", Role::headline},
    Marker{"KMSAN:", Role::headline},
    Marker{"INFO: task ", Role::headline},  // hung tasks
    Marker{"INFO: rcu_", Role::headline},   // RCU stalls
    Marker{"INFO: possible ", Role::headline},
    Marker{"INFO: inconsistent lock state", Role::headline},
    Marker{"INFO: suspicious RCU usage", Role::headline},
    Marker{"INFO: trying to register non-static key", Role::headline},
    Marker{"Watchdog detected hard LOCKUP", Role::headline},
    Marker{"PANIC: double fault", Role::headline},
    Marker{"Oops", Role::continuation},
    Marker{"invalid opcode:", Role::continuation},
    Marker{"divide error:", Role::continuation},
    Marker{"int3:", Role::continuation},
    Marker{"Kernel panic - not syncing", Role::continuation},
    Marker{"------------[ cut here ]------------", Role::preamble},
    Marker{"refcount_t:", Role::preamble},
    Marker{"list_add corruption", Role::preamble},
    Marker{"list_del corruption", Role::preamble},
    Marker{"---[ end trace", Role::end},
    Marker{"---[ end Kernel panic", Role::end},
};

constexpr std::size_t kPreambleLines = 8;  // from a preamble to its headline, at most
constexpr double kSilence = 10.0;           // seconds between two lines that ends a report

struct Line {
  std::string_view raw;   // as printed, without its CR
  std::string_view body;  // without the timestamp and the caller ("[    1.92] [  T1] ")
  std::optional<double> time;
};

std::string_view trim_leading_spaces(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  return text;
}

// "[ 1234.567890] " and, with CONFIG_PRINTK_CALLER, "[  T123] " or "[    C0] ".
Line split(std::string_view raw) {
  while (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
  Line line{raw, raw, std::nullopt};
  if (raw.size() < 4 || raw.front() != '[') return line;
  const auto close = raw.find(']');
  if (close == std::string_view::npos) return line;
  const std::string_view stamp = trim_leading_spaces(raw.substr(1, close - 1));
  double seconds = 0;
  const auto [end, error] = std::from_chars(stamp.data(), stamp.data() + stamp.size(), seconds);
  if (error != std::errc() || end != stamp.data() + stamp.size() || stamp.find('.') == std::string_view::npos)
    return line;
  line.time = seconds;
  std::string_view body = raw.substr(close + 1);
  if (body.size() > 2 && body[0] == '[') {
    const auto caller_end = body.find(']');
    const std::string_view caller = trim_leading_spaces(body.substr(1, caller_end == std::string_view::npos ? 0 : caller_end - 1));
    if (caller_end != std::string_view::npos && caller.size() > 1 && (caller[0] == 'T' || caller[0] == 'C') &&
        std::all_of(caller.begin() + 1, caller.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      body = body.substr(caller_end + 1);
  }
  if (!body.empty() && body.front() == ' ') body.remove_prefix(1);
  line.body = body;
  return line;
}

// The body after one pr_fmt prefix of at most two words ("watchdog: ", "NMI watchdog: "), or
// nothing when it has none.
std::optional<std::string_view> after_prefix(std::string_view body) {
  const auto colon = body.find(": ");
  if (colon == std::string_view::npos || colon == 0 || colon > 32) return std::nullopt;
  const std::string_view prefix = body.substr(0, colon);
  if (!std::isalpha(static_cast<unsigned char>(prefix[0])) || std::count(prefix.begin(), prefix.end(), ' ') > 1 ||
      !std::all_of(prefix.begin(), prefix.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == ' ';
      }))
    return std::nullopt;
  return body.substr(colon + 2);
}

bool is_rule(std::string_view body) {
  return body.size() >= 20 && body.find_first_not_of('=') == std::string_view::npos;
}

// SLUB's own reports: "BUG kmalloc-128 (Not tainted): Object already free".
bool is_slab_report(std::string_view body) {
  if (!body.starts_with("BUG ")) return false;
  const auto space = body.find(' ', 4);
  return space != std::string_view::npos &&
         (body.substr(space).starts_with(" (Not tainted)") || body.substr(space).starts_with(" (Tainted: "));
}

Role role_of(std::string_view body) {
  if (is_rule(body)) return Role::rule;
  if (is_slab_report(body)) return Role::headline;
  const auto prefixed = after_prefix(body);
  for (const auto& marker : kMarkers)
    if (body.starts_with(marker.text) || (prefixed && prefixed->starts_with(marker.text))) return marker.role;
  return Role::plain;
}

class Parser {
 public:
  void line(const Line& line) {
    const Role role = role_of(line.body);
    if (open_ && line.time && open_->last_time && *line.time - *open_->last_time > kSilence) close();
    const bool taken = open_ && take(line, role);
    if (!taken && (role == Role::headline || role == Role::continuation)) {
      start(line);
      if (previous_rule_) {
        add(*previous_rule_);
        open_->ruled = true;
      }
      add(line);
      title(line);
    } else if (!taken && role == Role::preamble) {
      start(line);
      add(line);
    }
    // A rule that no report took may open the next one.
    previous_rule_ = role == Role::rule && !taken ? std::optional<Line>(line) : std::nullopt;
  }

  std::vector<Report> finish() {
    close();
    return std::move(reports_);
  }

 private:
  struct Open {
    Report report;
    bool titled = false;
    bool ruled = false;   // began with a rule line: the next one closes it
    bool timed = false;   // its first line has a timestamp
    std::size_t untitled_lines = 0;
    std::optional<double> last_time;
    std::vector<std::string_view> bodies;  // the lines up to the title, for the header
  };

  // The open report's part of `line`: true when the line is consumed (added or left out).
  bool take(const Line& line, Role role) {
    switch (role) {
      case Role::end:
        add(line);
        close();
        return true;
      case Role::rule:
        if (open_->ruled && open_->titled) {
          add(line);
          close();
          return true;
        }
        break;
      case Role::headline:
        if (open_->titled) {
          close();
          return false;
        }
        add(line);
        title(line);
        return true;
      case Role::continuation:
        add(line);
        return true;
      case Role::preamble:
        if (open_->titled) {
          close();
          return false;
        }
        add(line);
        return true;
      case Role::plain:
        break;
    }
    if (open_->timed && !line.time) return true;  // userspace on the console, interleaved
    if (!open_->titled && ++open_->untitled_lines > kPreambleLines) {
      close();
      return false;
    }
    add(line);
    return true;
  }

  void start(const Line& line) {
    close();
    open_.emplace();
    open_->timed = line.time.has_value();
  }

  void add(const Line& line) {
    auto& report = open_->report;
    if (++report.lines <= kMaxReportLines) report.text.append(line.raw).push_back('\n');
    if (!open_->titled) open_->bodies.push_back(line.body);
    if (line.time) open_->last_time = line.time;
  }

  void title(const Line& line) {
    open_->titled = true;
    open_->report.title = std::string(line.body);
  }

  void close() {
    if (!open_) return;
    Report& report = open_->report;
    std::vector<std::string_view> header;
    for (auto body : open_->bodies)
      if (role_of(body) != Role::rule && !body.starts_with("------------[ cut here ]")) header.push_back(body);
    if (!open_->titled) {
      // A preamble whose headline never came: its first line that says something names it.
      report.title = std::string(header.empty() ? open_->bodies.front() : header.front());
    }
    report.header = fmt::format("{}", fmt::join(header, "\n"));
    if (report.header.empty()) report.header = report.title;
    reports_.push_back(std::move(report));
    open_.reset();
  }

  std::optional<Open> open_;
  std::optional<Line> previous_rule_;
  std::vector<Report> reports_;
};

}  // namespace

bool Report::is_hang() const {
  for (std::string_view hang : {"soft lockup", "hard LOCKUP", "blocked for more than", "detected stall",
                                "detected expedited stall", "workqueue lockup"})
    if (title.find(hang) != std::string::npos) return true;
  return false;
}

std::vector<Report> find_reports(std::string_view console) {
  Parser parser;
  while (!console.empty()) {
    const auto end = console.find('\n');
    parser.line(split(console.substr(0, end)));
    if (end == std::string_view::npos) break;
    console.remove_prefix(end + 1);
  }
  return parser.finish();
}

std::string describe_reports(const std::vector<Report>& reports, std::size_t max_reports, std::size_t max_lines) {
  std::string text;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const Report& report = reports[i];
    if (i >= max_reports) {
      text += fmt::format("--- {} more kernel reports ---\n", reports.size() - i);
      for (std::size_t j = i; j < reports.size(); ++j) text += fmt::format("{}\n", reports[j].title);
      break;
    }
    text += fmt::format("--- kernel report: {} ---\n", report.title);
    std::string_view body = report.text;
    std::size_t shown = 0, at = 0;
    while (shown < max_lines && at < body.size()) {
      at = body.find('\n', at);
      at = at == std::string_view::npos ? body.size() : at + 1;
      ++shown;
    }
    text += body.substr(0, at);
    if (report.lines > shown) text += fmt::format("... ({} more lines of this report in the console log)\n", report.lines - shown);
  }
  return text;
}

}  // namespace provium::kernel
