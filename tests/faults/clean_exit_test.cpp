// A test process that passes exits cleanly: over a hundred short test processes, 8 at a time,
// each resuming a fixture VM (with a spare behind it) that runs two workers and a job, some
// returning normally and some calling exit() mid-test, through provium_gtest_main and through
// a main() of their own (clean_exit_child.cpp). None may die by a signal or fail, and none may
// leave a QEMU behind: this process is their subreaper, so a QEMU that outlives its test
// process becomes this process's child, and is counted.
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr int kRounds = 28;  // of the four kinds below: 112 processes
constexpr int kAtOnce = 8;

struct Kind {
  std::string program;
  std::string test;
};

struct Outcome {
  std::string what;
  fs::path log;
  int status = 0;
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string describe(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  return "exit status " + std::to_string(WEXITSTATUS(status));
}

class CleanExit : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    const char* run_dir = std::getenv("PROVIUM_RUN_DIR");
    ASSERT_NE(run_dir, nullptr) << "set by meson";
    logs_ = fs::path(run_dir) / "clean-exit-logs";
    fs::remove_all(logs_);
    fs::create_directories(logs_);
  }

  // Starts `kind` with its output in a log file of its own.
  void start(const Kind& kind, int number) {
    const fs::path log = logs_ / (std::to_string(number) + ".log");
    std::vector<std::string> args = {kind.program, "--gtest_also_run_disabled_tests",
                                     "--gtest_filter=exiting." + kind.test};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) ADD_FAILURE() << "cannot start " << kind.program << ": " << strerror(rc);
    running_[pid] = {fs::path(kind.program).filename().string() + " " + kind.test, log};
  }

  // Reaps one child: a test process (into done_) or anything else (an orphan: a leftover).
  void reap_one(int options) {
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOWAIT | options) != 0 || info.si_pid == 0) return;
    const pid_t pid = info.si_pid;
    // Still a zombie: its name is readable before it is reaped.
    std::string name = read_text("/proc/" + std::to_string(pid) + "/comm");
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (auto it = running_.find(pid); it != running_.end()) {
      it->second.status = status;
      done_.push_back(it->second);
      running_.erase(it);
    } else {
      while (!name.empty() && name.back() == '\n') name.pop_back();
      orphans_.push_back(std::to_string(pid) + " (" + name + ", " + describe(status) + ")");
    }
  }

  fs::path logs_;
  std::map<pid_t, Outcome> running_;
  std::vector<Outcome> done_;
  std::vector<std::string> orphans_;
};

TEST_F(CleanExit, TestProcessesEndWithoutSignalsThreadsOrQemuLeftBehind) {
  const char* programs = std::getenv("PROVIUM_CLEAN_EXIT_PROGRAMS");
  ASSERT_NE(programs, nullptr) << "set by meson: the two builds of clean_exit_child.cpp";
  std::vector<Kind> kinds;
  std::istringstream list(programs);
  for (std::string program; std::getline(list, program, ':');)
    for (const char* test : {"DISABLED_Returns", "DISABLED_CallsExitMidTest"}) kinds.push_back({program, test});
  ASSERT_EQ(kinds.size(), 4u);

  const auto started = std::chrono::steady_clock::now();
  // The first builds the fixture; the rest only resume it.
  start(kinds[0], 0);
  while (!running_.empty()) reap_one(0);
  int number = 1;
  const int total = kRounds * static_cast<int>(kinds.size());
  while (number < total || !running_.empty()) {
    while (number < total && static_cast<int>(running_.size()) < kAtOnce) {
      start(kinds[number % kinds.size()], number);
      ++number;
    }
    reap_one(0);
  }
  // A QEMU orphaned by the last processes reaches this process a moment after its parent ends.
  for (auto until = std::chrono::steady_clock::now() + 2s; std::chrono::steady_clock::now() < until;) {
    reap_one(WNOHANG);
    std::this_thread::sleep_for(50ms);
  }

  int signalled = 0, failed = 0;
  for (const auto& outcome : done_) {
    if (WIFEXITED(outcome.status) && WEXITSTATUS(outcome.status) == 0) continue;
    (WIFSIGNALED(outcome.status) ? signalled : failed) += 1;
    ADD_FAILURE() << outcome.what << ": " << describe(outcome.status) << "\n--- its output ("
                  << outcome.log.string() << ") ---\n" << read_text(outcome.log);
  }
  std::string orphans;
  for (const auto& orphan : orphans_) orphans += " " + orphan;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%zu test processes in %.0f s: %d died by a signal, %d failed, %zu processes left behind\n",
              done_.size(), seconds, signalled, failed, orphans_.size());
  EXPECT_EQ(done_.size(), static_cast<std::size_t>(total));
  EXPECT_EQ(signalled, 0);
  EXPECT_EQ(failed, 0);
  EXPECT_TRUE(orphans_.empty()) << "processes that outlived their test process:" << orphans;
}

}  // namespace
