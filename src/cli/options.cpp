// Parses `provium test`'s options. Both "-p 4" and "-p4", "--mem 2G" and "--mem=2G" are taken;
// options may come before or after PATH; "--" ends the options.
#include "cli/options.h"

#include <fmt/format.h>

#include <charconv>
#include <system_error>

#include <provium/error.h>

#include "base/settings.h"

namespace provium::cli {

const std::string_view kTestUsage = R"(usage: provium test [OPTIONS] PATH

Runs Provium Lua test scripts. PATH is a script, or a directory searched recursively for *.lua
files in name order (scripts under a directory named fixtures/ are fixtures, not tests). Each file
runs in its own process, so a crash ends only that file; a line per file is printed as it ends.

options:
  -p, --parallel N        run N files at once (default: half the CPUs, at least 2; with a
                          fixed pool, --mem or --cpus, every file at once); the resource
                          pool still decides how many of their VMs run at once
  -f, --filter PATTERN    run only the files whose name (their path below PATH) contains
                          PATTERN; repeat it to run the files that match any of them
      --fail-fast         after the first failed file start no more files (the running ones
                          finish and are reported)
      --shard K/N         run the K-th of N disjoint slices of the files (1 <= K <= N): what N
                          machines of a CI job matrix run, one slice each; without it,
                          GTEST_TOTAL_SHARDS and GTEST_SHARD_INDEX (0-based) say the same
      --rerun-failed      run only those of PATH's files that failed the last time they ran
      --junit FILE        also write the results as JUnit XML to FILE (one testcase per
                          test() block, its file the classname), for CI dashboards
      --mem SIZE          a fixed memory budget for all VMs at once, shared with every Provium
                          process of this user (512M, 2G, ...; sets PROVIUM_POOL_MEM)
      --cpus N            a fixed CPU budget for all VMs at once (sets PROVIUM_POOL_CPUS);
                          without --mem and --cpus, VMs wait for free memory instead
      --config FILE       use this provium.toml (sets PROVIUM_CONFIG; default: the first
                          provium.toml found from the working directory upward)
      --accel ACCEL       auto, kvm or tcg for every VM (sets PROVIUM_ACCEL)
      --kernel-reports ignore
                          a kernel report (WARNING, BUG, KASAN, ...) fails no block; the
                          reports are named in the logs (sets PROVIUM_KERNEL_REPORTS;
                          default: check)
  -v, --verbose           also print what each file's process wrote (print(), Provium's notes)
      --stream            print what each file's process writes as it comes, line by line,
                          after the file's name, and every exec's output live (sets
                          PROVIUM_STREAM=1, which does the same)
  -h, --help              this text

A failed file shows its error and the last 20 lines of each VM's console, and keeps a log with
everything (full messages, traceback, every console); the logs' paths are listed at the end.
Exit status: 0 when every file passed or was skipped; 1 when a file failed or no file matched;
2 for a bad command line or a PATH that does not exist.

where things go:
  kept logs      run-DATE-TIME-PID/ in $PROVIUM_LOG_DIR, else in logs/ of the run directory
                 ($PROVIUM_RUN_DIR, else $XDG_RUNTIME_DIR/provium, else /tmp/provium-UID)
  rerun record   last-failed.json in the fixture cache ($PROVIUM_CACHE_DIR, else
                 $XDG_CACHE_HOME/provium, else ~/.cache/provium)

examples:
  provium test tests/lua                     every script below tests/lua
  provium test -p 4 -f exec -f ioctl tests/lua
  provium test --rerun-failed tests/lua      only what failed last time
  provium test --mem 4G tests/lua/boot.lua   one file, VMs limited to 4 GiB in all

More: docs/cli.md.
)";

int parse_number(std::string_view option, std::string_view text, int min, int max) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min || value > max)
    throw UsageError(fmt::format("{} wants a whole number from {} to {}, not '{}'", option, min, max, text));
  return value;
}

namespace {

int parse_count(std::string_view option, std::string_view text, int max) {
  return parse_number(option, text, 1, max);
}

constexpr int kMaxShards = 100000;

// --shard K/N.
Shard parse_shard(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos)
    throw UsageError(fmt::format("--shard wants K/N (the K-th of N slices, 1 <= K <= N), not '{}'", text));
  const int total = parse_number("--shard's N", text.substr(slash + 1), 1, kMaxShards);
  const int number = parse_number("--shard's K", text.substr(0, slash), 1, total);
  return {number - 1, total};
}

// `value` when the run's settings take it for `variable` (one parse for the option and the
// variable), else UsageError.
std::string checked_setting(std::string_view variable, std::string_view option, const std::string& value) {
  if (value.empty()) throw UsageError(fmt::format("{} wants a value", option));
  try {
    base::Settings().set(variable, value, option);
  } catch (const Error& error) {
    throw UsageError(error.what());
  }
  return value;
}

// Walks the arguments; an option's value is the rest of its own argument ("-p4", "--mem=2G")
// or the next argument.
class Arguments {
 public:
  explicit Arguments(const std::vector<std::string>& args) : args_(args) {}
  bool done() const { return index_ >= args_.size(); }
  std::string_view next() { return args_[index_++]; }

  // When `arg` is the option `short_name`/`long_name`, stores its value and returns true.
  bool value_of(std::string_view arg, std::string_view short_name, std::string_view long_name,
                std::string& value) {
    std::string_view name;
    if (!short_name.empty() && arg.substr(0, short_name.size()) == short_name) {
      name = short_name;
      if (arg.size() > short_name.size()) {
        value = arg.substr(short_name.size());
        return true;
      }
    } else if (arg == long_name) {
      name = long_name;
    } else if (arg.size() > long_name.size() && arg.substr(0, long_name.size()) == long_name &&
               arg[long_name.size()] == '=') {
      value = arg.substr(long_name.size() + 1);
      return true;
    } else {
      return false;
    }
    if (done()) throw UsageError(fmt::format("{} needs a value", name));
    value = next();
    return true;
  }

 private:
  const std::vector<std::string>& args_;
  std::size_t index_ = 0;
};

}  // namespace

TestOptions parse_test_options(const std::vector<std::string>& args, int default_parallel) {
  TestOptions options;
  options.parallel = default_parallel;
  // Whatever else is wrong, a reader who asks how it works gets the usage.
  for (const auto& arg : args) {
    if (arg == "--") break;
    if (arg == "-h" || arg == "--help") {
      options.help = true;
      return options;
    }
  }
  std::vector<std::string> paths;
  Arguments in(args);
  bool options_ended = false;
  std::string value;
  while (!in.done()) {
    const std::string_view arg = in.next();
    if (options_ended || arg.empty() || arg[0] != '-' || arg == "-") {
      paths.emplace_back(arg);
    } else if (arg == "--") {
      options_ended = true;
    } else if (arg == "-v" || arg == "--verbose") {
      options.verbose = true;
    } else if (arg == "--stream") {
      options.stream = true;
    } else if (arg == "--fail-fast") {
      options.fail_fast = true;
    } else if (arg == "--rerun-failed") {
      options.rerun_failed = true;
    } else if (in.value_of(arg, "-p", "--parallel", value)) {
      options.parallel = parse_count("-p", value, 1024);
      options.parallel_given = true;
    } else if (in.value_of(arg, "", "--junit", value)) {
      if (value.empty()) throw UsageError("--junit needs a file name");
      options.junit = std::filesystem::absolute(value);
    } else if (in.value_of(arg, "", "--shard", value)) {
      options.shard = parse_shard(value);
    } else if (in.value_of(arg, "-f", "--filter", value)) {
      options.patterns.push_back(value);
    } else if (in.value_of(arg, "", "--mem", value)) {
      options.mem = checked_setting("PROVIUM_POOL_MEM", "--mem", value);
    } else if (in.value_of(arg, "", "--cpus", value)) {
      options.cpus = checked_setting("PROVIUM_POOL_CPUS", "--cpus", value);
    } else if (in.value_of(arg, "", "--config", value)) {
      std::error_code error;
      if (!std::filesystem::is_regular_file(value, error))
        throw UsageError(fmt::format("--config: {} is not a file", value));
      // The children run in this directory too, but an absolute path reads better in errors.
      options.config = std::filesystem::absolute(value).lexically_normal().string();
    } else if (in.value_of(arg, "", "--accel", value)) {
      options.accel = checked_setting("PROVIUM_ACCEL", "--accel", value);
    } else if (in.value_of(arg, "", "--kernel-reports", value)) {
      options.kernel_reports = checked_setting("PROVIUM_KERNEL_REPORTS", "--kernel-reports", value);
    } else {
      throw UsageError(fmt::format("unknown option '{}'", arg));
    }
  }
  if (paths.empty()) throw UsageError("no PATH given: name a script or a directory of scripts");
  if (paths.size() > 1)
    throw UsageError(fmt::format("one PATH only, got {}: '{}' and '{}'", paths.size(), paths[0],
                                 paths[1]));
  options.path = paths[0];
  return options;
}

std::optional<Shard> shard_from_gtest_variables(const char* total, const char* index) {
  if (!total && !index) return std::nullopt;
  if (!total || !index)
    throw UsageError(fmt::format("{} is set but {} is not: set both to run one shard, or neither",
                                 total ? "GTEST_TOTAL_SHARDS" : "GTEST_SHARD_INDEX",
                                 total ? "GTEST_SHARD_INDEX" : "GTEST_TOTAL_SHARDS"));
  const int count = parse_number("GTEST_TOTAL_SHARDS", total, 1, kMaxShards);
  return Shard{parse_number("GTEST_SHARD_INDEX", index, 0, count - 1), count};
}

}  // namespace provium::cli
