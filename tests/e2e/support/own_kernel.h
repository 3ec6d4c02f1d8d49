// Kernels built from Debian's linux-source-6.1 for the e2e tests, through tools/build-kernel.sh
// (PROVIUM_BUILD_KERNEL, with the provium command of PROVIUM_CLI): minutes the first time, then
// taken from the cache outside the repository while their inputs are unchanged.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/lines.h"

namespace provium_test {

// The build tree of kernel `name` configured by `provium kconfig --minimal` and `fragments`;
// empty, with the build's output on stderr, when it could not be built.
inline std::filesystem::path build_own_kernel(const std::string& name, const std::vector<std::string>& fragments = {}) {
  std::vector<std::string> argv = {std::getenv("PROVIUM_BUILD_KERNEL"), std::getenv("PROVIUM_CLI"), name};
  argv.insert(argv.end(), fragments.begin(), fragments.end());
  const auto build = ChildProcess(argv, {}).wait();
  const auto lines = lines_of(build.output);
  if (build.exit_code != 0 || lines.empty()) {
    std::cerr << "the test kernel " << name << " could not be built:\n" << build.output;
    return {};
  }
  return lines.back();
}

}  // namespace provium_test
