// A program's output as lines, for tests that compare it line by line.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace provium_test {

// The lines of `text`, without their newlines.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace provium_test
