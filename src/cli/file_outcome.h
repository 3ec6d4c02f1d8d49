// What became of one file of a `provium test` run: what its process reported, or what the
// parent saw when the process ended without a report.
#pragma once

#include <filesystem>
#include <string>

#include "lua/runner.h"

namespace provium::cli {

struct FileOutcome {
  std::filesystem::path file;   // as discovered: what the child ran and what errors name
  std::string name;             // as printed: relative to PATH when PATH is a directory
  lua::FileResult result;       // the child's; made up by the parent when none came
  bool result_missing = false;  // the process ended without a result (crash, exit, signal)
  std::string output;           // everything the process wrote to stdout and stderr

  bool passed() const { return result.passed(); }
  bool skipped() const { return result.skipped(); }
};

}  // namespace provium::cli
