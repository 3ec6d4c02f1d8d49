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

// One of N disjoint slices of a suite's files (a CI job matrix of N machines).
struct Shard {
  int index = 0;  // 0-based, as GTEST_SHARD_INDEX; --shard K/N gives K - 1
  int total = 1;
  // Whether the file at this position of the sorted list of files belongs to the slice.
  bool has(std::size_t position) const { return position % static_cast<std::size_t>(total) == static_cast<std::size_t>(index); }
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
  std::optional<Shard> shard;                 // --shard K/N
  std::optional<std::filesystem::path> junit;  // --junit FILE: the results as JUnit XML
};

extern const std::string_view kTestUsage;

// `text` as a whole number from min to max; UsageError naming `option` otherwise.
int parse_number(std::string_view option, std::string_view text, int min, int max);

// `args`: what follows "test". `default_parallel`: -p's value when it is not given.
// Throws UsageError.
TestOptions parse_test_options(const std::vector<std::string>& args, int default_parallel);

// GoogleTest's sharding variables, GTEST_TOTAL_SHARDS and GTEST_SHARD_INDEX (null when unset),
// read as GoogleTest reads them: both or neither. Throws UsageError for one without the other,
// or values that are not 0 <= index < total.
std::optional<Shard> shard_from_gtest_variables(const char* total, const char* index);

}  // namespace provium::cli
