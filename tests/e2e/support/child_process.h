// Runs a program as a child process with a chosen environment and captures its output
// (stdout and stderr together): for tests of what a whole test process does.
#pragma once

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace provium_test {

struct ChildRun {
  int exit_code = -1;  // -1 when it did not exit normally
  std::string output;
};

class ChildProcess {
 public:
  // `environment` overrides (or, with an empty value, removes) variables of this process's.
  ChildProcess(std::vector<std::string> argv, const std::map<std::string, std::string>& environment) {
    std::map<std::string, std::string> merged;
    for (char** var = environ; *var; ++var) {
      std::string entry = *var;
      auto eq = entry.find('=');
      if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    for (const auto& [name, value] : environment) {
      if (value.empty()) merged.erase(name);
      else merged[name] = value;
    }
    std::vector<std::string> env;
    for (const auto& [name, value] : merged) env.push_back(name + "=" + value);
    std::vector<char*> envp, args;
    for (auto& entry : env) envp.push_back(entry.data());
    envp.push_back(nullptr);
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);

    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      throw std::runtime_error("cannot start " + argv[0]);
    }
    output_fd_ = fds[0];
  }

  pid_t pid() const { return pid_; }

  // Reads its output to the end and reaps it.
  ChildRun wait() {
    ChildRun run;
    char buffer[4096];
    for (ssize_t n; (n = read(output_fd_, buffer, sizeof buffer)) > 0;) run.output.append(buffer, n);
    close(output_fd_);
    int status = 0;
    waitpid(pid_, &status, 0);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
  }

 private:
  pid_t pid_ = 0;
  int output_fd_ = -1;
};

}  // namespace provium_test
