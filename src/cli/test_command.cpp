// `provium test`: picks the files (discovery, -f, --rerun-failed, --shard), runs up to -p of them at once,
// each in a child process (file_process.h), prints each file's lines as it ends, keeps the logs
// of failed files, records the outcomes for --rerun-failed and prints the summary.
#include <poll.h>
#include <stdlib.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <map>
#include <memory>

#include <provium/error.h>

#include "base/text.h"
#include "cli/commands.h"
#include "cli/file_process.h"
#include "cli/junit.h"
#include "cli/options.h"
#include "cli/report.h"
#include "cli/rerun_record.h"
#include "cli/run_logs.h"
#include "lua/runner.h"
#include "pool/pool.h"

namespace provium::cli {

namespace fs = std::filesystem;

namespace {

struct Job {
  fs::path file;      // as discovered
  std::string name;   // as printed and matched by -f
  fs::path log_name;  // the kept log's name in the run's log directory
};

struct Running {
  Job job;
  FileProcess process;
};

// The options that concern the VMs become the run's settings, which each file's process gets
// as its environment (FileProcess).
void apply_settings(const TestOptions& options) {
  base::Settings settings = *base::settings();
  if (options.mem) settings.set("PROVIUM_POOL_MEM", *options.mem, "--mem");
  if (options.cpus) settings.set("PROVIUM_POOL_CPUS", *options.cpus, "--cpus");
  if (options.config) settings.set("PROVIUM_CONFIG", *options.config, "--config");
  if (options.accel) settings.set("PROVIUM_ACCEL", *options.accel, "--accel");
  if (options.stream) settings.set("PROVIUM_STREAM", "1", "--stream");
  if (options.kernel_reports) settings.set("PROVIUM_KERNEL_REPORTS", *options.kernel_reports, "--kernel-reports");
  base::replace_settings(std::move(settings));
}

// "resource pool: 4096M memory, 8 CPUs\n" for a fixed budget (--mem, --cpus, their variables
// or provium.toml's [pool]); nothing in the auto mode, or when provium.toml cannot be read
// (each file's process says why).
std::optional<std::string> fixed_pool() {
  pool::Budget budget;
  try {
    budget = pool::Budget::of(config::current().pool, *base::settings());
  } catch (const Error&) {
    return std::nullopt;
  }
  if (!budget.fixed()) return std::nullopt;
  std::vector<std::string> parts;
  if (budget.memory) parts.push_back(fmt::format("{}M memory", *budget.memory >> 20));
  if (budget.cpus) parts.push_back(base::plural(*budget.cpus, "CPU", "CPUs"));
  return fmt::format("resource pool: {}\n", fmt::join(parts, ", "));
}

std::vector<Job> make_jobs(const TestOptions& options, const std::vector<fs::path>& files) {
  std::error_code error;
  const bool directory = fs::is_directory(options.path, error);
  std::vector<Job> jobs;
  for (const auto& file : files) {
    Job job{file, options.path.string(), file.filename()};
    if (directory) {
      job.name = file.lexically_relative(options.path).generic_string();
      job.log_name = job.name;
    }
    const bool wanted = options.patterns.empty() ||
                        std::any_of(options.patterns.begin(), options.patterns.end(), [&](const auto& pattern) {
                          return job.name.find(pattern) != std::string::npos;
                        });
    if (wanted) jobs.push_back(std::move(job));
  }
  return jobs;
}

// Runs the jobs, up to `options.parallel` at once, and prints each as it ends.
class Run {
 public:
  Run(const TestOptions& options, std::vector<Job> jobs) : options_(options), jobs_(std::move(jobs)) {}

  int execute() {
    while (true) {
      start_more();
      if (running_.empty()) break;
      wait_for_events();
      for (auto it = running_.begin(); it != running_.end();) {
        if ((*it)->process.finished()) {
          finish((*it)->job, (*it)->process.outcome((*it)->job.name));
          it = running_.erase(it);
        } else {
          ++it;
        }
      }
    }
    summary_.not_run = jobs_.size() - next_;
    try {
      RerunRecord().update(outcomes_);
    } catch (const std::exception& error) {
      std::cerr << fmt::format("provium: cannot update the --rerun-failed record: {}\n", error.what());
    }
    std::cout << format_summary(summary_) << std::flush;
    const int status = summary_.failed == 0 && summary_.not_run == 0 ? 0 : 1;
    return write_junit() ? status : 1;
  }

 private:
  void start_more() {
    while (!stop_starting_ && next_ < jobs_.size() && running_.size() < static_cast<std::size_t>(options_.parallel)) {
      const Job& job = jobs_[next_++];
      try {
        running_.push_back(std::unique_ptr<Running>(new Running{job, FileProcess(job.file, base::settings()->stream_output ? job.name : std::string())}));
      } catch (const Error& error) {
        FileOutcome outcome{job.file, job.name, {}, true, {}};
        outcome.result.file = job.file;
        outcome.result.error = error.what();
        finish(job, std::move(outcome));
      }
    }
  }

  // Waits until a child writes or closes a pipe; the timeout lets finished() notice a child
  // whose pipes a straggler still holds open.
  void wait_for_events() {
    std::vector<pollfd> fds;
    std::vector<FileProcess*> owners;
    for (const auto& running : running_)
      for (int fd : {running->process.result_fd(), running->process.output_fd()})
        if (fd >= 0) {
          fds.push_back({fd, POLLIN, 0});
          owners.push_back(&running->process);
        }
    if (::poll(fds.data(), fds.size(), 200) <= 0) return;  // EINTR too: just look again
    for (std::size_t i = 0; i < fds.size(); ++i)
      if (fds[i].revents) owners[i]->read_from(fds[i].fd);
  }

  void finish(const Job& job, FileOutcome outcome) {
    const bool failed = !outcome.passed();
    RerunRecord::Outcome recorded = RerunRecord::Outcome::passed;
    if (failed) {
      ++summary_.failed;
      recorded = RerunRecord::Outcome::failed;
      if (options_.fail_fast) stop_starting_ = true;
    } else if (outcome.skipped()) {
      ++summary_.skipped;
      recorded = RerunRecord::Outcome::skipped;
    } else {
      ++summary_.passed;
    }
    outcomes_[RerunRecord::key(job.file)] = recorded;
    std::string text = format_outcome(outcome, options_.verbose);
    std::optional<fs::path> kept;
    if (failed) {
      try {
        kept = logs_.keep(outcome, job.log_name);
        summary_.kept_logs.emplace_back(job.name, *kept);
      } catch (const std::exception& error) {
        text += fmt::format("    (no log kept: {})\n", error.what());
      }
    }
    if (options_.junit) junit_.push_back({job.name, outcome.result, kept});
    std::cout << text << std::flush;  // one write per file: parallel files do not mix lines
  }

  const TestOptions& options_;
  std::vector<Job> jobs_;
  std::size_t next_ = 0;
  bool stop_starting_ = false;
  std::vector<std::unique_ptr<Running>> running_;
  // --junit: the files in name order, whatever order they ended in. A report that cannot be
  // written fails the run: a CI job must not pass with its report missing.
  bool write_junit() {
    if (!options_.junit) return true;
    std::sort(junit_.begin(), junit_.end(), [](const JunitFile& a, const JunitFile& b) { return a.name < b.name; });
    std::ofstream out(*options_.junit, std::ios::binary | std::ios::trunc);
    out << junit_xml(junit_);
    out.close();
    if (out) return true;
    std::cerr << fmt::format("provium test: cannot write the JUnit report {}: {}\n", options_.junit->string(),
                             std::strerror(errno));
    return false;
  }

  Summary summary_;
  RunLogs logs_;
  std::map<fs::path, RerunRecord::Outcome> outcomes_;
  std::vector<JunitFile> junit_;
};

}  // namespace

int test_command(const std::vector<std::string>& args) {
  TestOptions options;
  try {
    options = parse_test_options(args, pool::auto_vm_cap());
  } catch (const UsageError& error) {
    std::cerr << fmt::format("provium test: {}\n\n", error.what()) << kTestUsage;
    return 2;
  }
  if (options.help) {
    std::cout << kTestUsage;
    return 0;
  }
  std::vector<fs::path> files;
  try {
    files = lua::discover(options.path);
  } catch (const Error& error) {
    std::cerr << fmt::format("provium test: {}\n", error.what());
    return 2;
  }
  auto jobs = make_jobs(options, files);
  if (jobs.empty()) {
    // A wrong PATH or pattern must not pass silently.
    std::cerr << (files.empty() ? fmt::format("provium test: no *.lua test files under {}\n", options.path.string())
                                : fmt::format("provium test: none of the {} under {} matches -f {}\n",
                                              base::plural(files.size(), "file", "files"), options.path.string(),
                                              fmt::join(options.patterns, ", -f ")));
    return 1;
  }
  // The header, what is special about this run, a blank line, then the files.
  std::string notes;
  if (options.rerun_failed) {
    const RerunRecord record;
    const auto failed = record.failed();
    std::erase_if(jobs, [&](const Job& job) { return !failed.count(RerunRecord::key(job.file)); });
    if (jobs.empty()) {
      std::cout << fmt::format("none of the files of {} failed the last time it ran (record: {})\n",
                               options.path.string(), record.path().string());
      return 0;
    }
    notes += fmt::format("rerunning {} that failed last time\n", base::plural(jobs.size(), "file", "files"));
  }
  if (!options.shard) {
    try {
      options.shard = shard_from_gtest_variables(std::getenv("GTEST_TOTAL_SHARDS"), std::getenv("GTEST_SHARD_INDEX"));
    } catch (const UsageError& error) {
      std::cerr << fmt::format("provium test: {}\n", error.what());
      return 2;
    }
  }
  if (options.shard) {
    // Slices of the files in name order (discovery's): the same on every machine, whatever
    // else differs, and their union is every file.
    const std::size_t all = jobs.size();
    std::vector<Job> slice;
    for (std::size_t position = 0; position < all; ++position)
      if (options.shard->has(position)) slice.push_back(std::move(jobs[position]));
    jobs = std::move(slice);
    notes += fmt::format("shard {} of {}: {} of {}\n", options.shard->index + 1, options.shard->total, jobs.size(),
                         base::plural(all, "file", "files"));
    // GoogleTest's word to a runner that asked (GTEST_SHARD_STATUS_FILE) that sharding is done.
    if (const char* status = std::getenv("GTEST_SHARD_STATUS_FILE")) std::ofstream{status};
  }
  apply_settings(options);
  if (const auto pool = fixed_pool()) {
    // The pool gates the VMs: every file may start, and waits for its share.
    notes += *pool;
    if (!options.parallel_given) options.parallel = static_cast<int>(jobs.size());
  }
  if (!base::settings()->check_kernel_reports)
    notes += "kernel reports are ignored in this run (PROVIUM_KERNEL_REPORTS=ignore): a WARNING, BUG or KASAN "
             "report fails no block\n";
  if (options.verbose)
    notes += fmt::format("running {}, {} at a time; logs of failed files go to {}\n",
                         base::plural(jobs.size(), "file", "files"), options.parallel, RunLogs::base().string());
  std::cout << "provium test\n" << notes << "\n";
  std::cout << std::flush;
  return Run(options, std::move(jobs)).execute();
}

}  // namespace provium::cli
