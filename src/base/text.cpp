#include "base/text.h"

#include <fmt/format.h>

#include <utility>

namespace provium::base {

std::string last_lines(std::string_view text, std::size_t lines) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  std::size_t start = text.size();
  for (std::size_t seen = 0; start > 0; --start)
    if (text[start - 1] == '\n' && ++seen == lines) break;
  return std::string(text.substr(start));
}

std::string shell_quote(std::string_view text) {
  constexpr std::string_view kPlain =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-";
  if (!text.empty() && text.find_first_not_of(kPlain) == std::string_view::npos) return std::string(text);
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string plural(long long n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string size_text(unsigned long long bytes) {
  const double value = static_cast<double>(bytes);
  if (bytes >= (1ull << 30)) return fmt::format("{:.1f} GiB", value / (1ull << 30));
  if (bytes >= (1ull << 20)) return fmt::format("{:.1f} MiB", value / (1ull << 20));
  return fmt::format("{} KiB", bytes >> 10);
}

std::vector<std::string> LineBuffer::feed(std::string_view bytes) {
  pending_.append(bytes);
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t end; (end = pending_.find('\n', start)) != std::string::npos; start = end + 1)
    lines.emplace_back(pending_, start, end - start);
  pending_.erase(0, start);
  if (pending_.size() >= kLongest) lines.push_back(rest());
  return lines;
}

std::string LineBuffer::rest() { return std::exchange(pending_, {}); }

}  // namespace provium::base
