// Reading a Lua script's dependencies for a fixture's cache key: a small scanner that knows
// Lua's comments, strings and long brackets, then a pattern per call.
#include "lua/dependencies.h"

#include <regex>

namespace provium::lua {

namespace {

// The length of the long bracket "[[", "[=[", ... at `at`, or 0.
std::size_t long_bracket(std::string_view text, std::size_t at) {
  if (at >= text.size() || text[at] != '[') return 0;
  std::size_t end = at + 1;
  while (end < text.size() && text[end] == '=') ++end;
  return end < text.size() && text[end] == '[' ? end - at + 1 : 0;
}

// The script without its comments, so that a call named in a comment is not taken for one.
// Strings are kept as they are (the calls' arguments are strings).
std::string without_comments(std::string_view text) {
  std::string code;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '-' && text.substr(i, 2) == "--") {
      const std::size_t open = long_bracket(text, i + 2);
      if (open) {
        const std::string close = "]" + std::string(open - 2, '=') + "]";
        const auto end = text.find(close, i + 2 + open);
        i = end == std::string_view::npos ? text.size() : end + close.size();
      } else {
        i = std::min(text.find('\n', i), text.size());
      }
      continue;
    }
    if (c == '"' || c == '\'') {
      std::size_t end = i + 1;
      while (end < text.size() && text[end] != c && text[end] != '\n') end += text[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, text.size());
      code.append(text.substr(i, end - i));
      i = end;
      continue;
    }
    if (const std::size_t open = long_bracket(text, i)) {
      const std::string close = "]" + std::string(open - 2, '=') + "]";
      const auto end = text.find(close, i + open);
      const std::size_t stop = end == std::string_view::npos ? text.size() : end + close.size();
      code.append(text.substr(i, stop - i));
      i = stop;
      continue;
    }
    code.push_back(c);
    ++i;
  }
  return code;
}

std::vector<std::string> literal_arguments(const std::string& text, const std::regex& call) {
  std::vector<std::string> found;
  for (std::sregex_iterator it(text.begin(), text.end(), call), end; it != end; ++it)
    found.push_back((*it)[1].str());
  return found;
}

const std::regex& dofile_call() {
  static const std::regex pattern(R"(dofile\s*\(?\s*["']([^"'\n]+)["'])");
  return pattern;
}

const std::regex& fixture_call() {
  static const std::regex pattern(R"(provium\s*\.\s*fixture\s*\(?\s*["']([^"'\n]+)["'])");
  return pattern;
}

}  // namespace

ScriptDependencies scan_dependencies(std::string_view script) {
  const std::string code = without_comments(script);
  return {literal_arguments(code, dofile_call()), literal_arguments(code, fixture_call())};
}

}  // namespace provium::lua
