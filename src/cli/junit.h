// `provium test --junit FILE`: the run's results as JUnit XML, the format GitLab, Jenkins and
// GitHub's test reporters read.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lua/runner.h"

namespace provium::cli {

// One file of the run as the report shows it.
struct JunitFile {
  std::string name;                         // as printed (relative to PATH): the classname
  lua::FileResult result;                   // its blocks, error and time
  std::optional<std::filesystem::path> log;  // the kept log (failed files), with every console
};

// One <testsuite> per file and one <testcase> per test() block, its file the classname: a failed
// block has a <failure> with its message, a todo block a <skipped> with its reason. A file's
// error outside any block is one more testcase, "(file)", with an <error>. A kept log's path is
// the suite's property `provium.log`. Text that XML cannot hold (control characters) becomes
// U+FFFD.
std::string junit_xml(const std::vector<JunitFile>& files);

}  // namespace provium::cli
