#include "vm/console.h"

#include <algorithm>
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
