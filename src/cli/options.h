// `provium test`'s command line: parsed and checked here, before anything runs, so that a typo
// costs a usage message instead of a run.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace provium::cli {

// A bad command line: the message says what is wrong; the caller prints it with the usage and
// exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TestOptions {
  std::filesystem::path path;         // a script, or a directory of scripts
  int parallel = 2;                   // -p: files run at once
  bool parallel_given = false;        // -p was on the command line (it then always wins)
  std::vector<std::string> patterns;  // -f: keep names that contain any of them
  bool fail_fast = false;
  bool rerun_failed = false;
  bool verbose = false;
  bool stream = false;  // --stream: PROVIUM_STREAM=1
  bool help = false;  // -h/--help was given: print the usage and nothing else
  // Exported to the processes that run the files, which read them like every Provium program.
  std::optional<std::string> mem;     // PROVIUM_POOL_MEM
  std::optional<std::string> cpus;    // PROVIUM_POOL_CPUS
  std::optional<std::string> config;  // PROVIUM_CONFIG (made absolute)
  std::optional<std::string> accel;   // PROVIUM_ACCEL
  std::optional<std::string> kernel_reports;  // PROVIUM_KERNEL_REPORTS
};

extern const std::string_view kTestUsage;

// `args`: what follows "test". `default_parallel`: -p's value when it is not given.
// Throws UsageError.
TestOptions parse_test_options(const std::vector<std::string>& args, int default_parallel);

}  // namespace provium::cli
