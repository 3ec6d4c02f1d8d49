#include "vm/console.h"

#include <algorithm>
#include <array>
#include <fstream>

#include "base/text.h"

namespace provium::vm {

namespace {
constexpr std::streamoff kTailBytes = 256 * 1024;

std::string read_end(const std::filesystem::path& log) {
  std::ifstream in(log, std::ios::binary | std::ios::ate);
  if (!in) return {};
  const std::streamoff size = in.tellg();
  const std::streamoff start = std::max<std::streamoff>(0, size - kTailBytes);
  in.seekg(start);
  std::string text(static_cast<std::size_t>(size - start), '\0');
  in.read(text.data(), size - start);
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}
}  // namespace

std::string console_tail(const std::filesystem::path& log, std::size_t lines) {
  return base::last_lines(read_end(log), lines);
}

std::string crash_report(std::string_view console, std::size_t max_lines) {
  // The first marker of a kernel's death report; what comes before it is ordinary boot noise.
  static constexpr std::array markers = {
      "------------[ cut here ]------------", "BUG:", "Oops", "general protection fault",
      "Kernel panic - not syncing", "kernel BUG at", "Unable to handle kernel",
  };
  std::size_t first = std::string_view::npos;
  for (const char* marker : markers) first = std::min(first, console.find(marker));
  if (first == std::string_view::npos) return {};
  first = console.rfind('\n', first);
  first = first == std::string_view::npos ? 0 : first + 1;
  std::string_view report = console.substr(first);
  std::size_t end = 0;
  for (std::size_t n = 0; n < max_lines; ++n) {
    end = report.find('\n', end);
    if (end == std::string_view::npos) break;
    ++end;
  }
  if (end != std::string_view::npos) report = report.substr(0, end);
  return std::string(report);
}

std::string wrapper_complaints(std::string_view console) {
  // The wrapper's log_msg prefix (agent/wrapper.c); a line may start after other output.
  constexpr std::string_view kPrefix = "provium-wrapper: ";
  std::string lines;
  for (std::size_t at = console.find(kPrefix); at != std::string_view::npos; at = console.find(kPrefix, at + 1)) {
    std::size_t end = console.find('\n', at);
    std::string_view line = console.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines += std::string(line) + "\n";
  }
  return lines;
}

}  // namespace provium::vm
