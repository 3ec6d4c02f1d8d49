#include "base/capture_output.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <cstring>

#include <provium/error.h>

#include "base/text.h"

extern char** environ;

namespace provium::base {

namespace {
void close_if_open(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Waits for `pid`, retrying on signals; the raw wait status.
int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// Runs argv with its stdout (and, with `with_stderr`, its stderr) into a pipe, in `environment`;
// returns what came and its exit status.
ProgramOutput run(const std::vector<std::string>& argv, bool with_stderr, char** environment) {
  std::string command = fmt::format("{}", fmt::join(argv, " "));
  auto fail = [&](std::string_view what) { return Error(fmt::format("{}: {}", command, what)); };
  if (argv.empty()) throw Error("capture_output: empty command");

  // Close-on-exec, so that programs other threads start meanwhile do not hold the write end
  // open (the read would never see end of file); dup2 clears the flag on the child's stdout.
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw fail(std::strerror(errno));
  int read_end = pipe_fds[0], write_end = pipe_fds[1];

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end, STDOUT_FILENO);
  if (with_stderr) posix_spawn_file_actions_adddup2(&actions, write_end, STDERR_FILENO);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int spawn_error = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environment);
  posix_spawn_file_actions_destroy(&actions);
  close_if_open(write_end);
  if (spawn_error != 0) {
    close_if_open(read_end);
    throw fail(fmt::format("cannot start: {}", std::strerror(spawn_error)));
  }

  std::string output;
  char chunk[16 * 1024];
  int read_errno = 0;
  for (;;) {
    ssize_t got = ::read(read_end, chunk, sizeof chunk);
    if (got > 0) {
      output.append(chunk, static_cast<std::size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      read_errno = got < 0 ? errno : 0;
      break;
    }
  }
  close_if_open(read_end);
  int status = wait_for(pid);

  if (read_errno != 0) throw fail(fmt::format("reading its output: {}", std::strerror(read_errno)));
  if (WIFSIGNALED(status)) throw fail(fmt::format("killed by signal {}", WTERMSIG(status)));
  return {WEXITSTATUS(status), std::move(output)};
}

// run() that must exit with status 0.
std::string run_successfully(const std::vector<std::string>& argv, bool with_stderr) {
  auto [status, output] = run(argv, with_stderr, environ);
  if (status != 0) {
    std::string said = with_stderr && !output.empty() ? ": " + last_lines(output, 5) : "";
    throw Error(fmt::format("{}: exited with status {}{}", fmt::join(argv, " "), status, said));
  }
  return std::move(output);
}

}  // namespace

std::string capture_output(const std::vector<std::string>& argv) { return run_successfully(argv, false); }

void run_program(const std::vector<std::string>& argv) { run_successfully(argv, true); }

ProgramOutput run_for_output(const std::vector<std::string>& argv) {
  char* empty[] = {nullptr};
  return run(argv, true, empty);
}

}  // namespace provium::base
