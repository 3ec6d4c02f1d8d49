#include "cli/file_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <vector>

#include <provium/error.h>

#include "base/settings.h"
#include "base/text.h"
#include "cli/report.h"
#include "cli/result_json.h"

namespace provium::cli {

namespace {

// The child's end of the result pipe; `provium __run-file --result-fd 3` writes there.
constexpr int kResultFd = 3;
// Output kept in memory (and in the log): a file that prints without end keeps its last part.
constexpr std::size_t kOutputKeep = 4u << 20;
// How long after the child's exit its pipes may stay open (held by a process it started that
// has not died yet) before the parent stops reading them.
constexpr auto kDrainGrace = std::chrono::seconds(2);

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    return fmt::format("its process was killed by signal {} ({})", signal, ::strsignal(signal));
  }
  if (WIFEXITED(status))
    return fmt::format("its process exited with status {} without a result", WEXITSTATUS(status));
  return "its process ended without a result";
}

// The executable to run the file with: this one. Its path when that still names this very
// file, so that ps and pgrep show "provium"; else (rebuilt or removed meanwhile) /proc/self/exe,
// which always names the running binary, so that parent and child never differ in version.
const std::string& own_executable() {
  static const std::string path = [] {
    std::error_code error;
    const auto resolved = std::filesystem::read_symlink("/proc/self/exe", error);
    struct stat self {}, named {};
    if (!error && ::stat("/proc/self/exe", &self) == 0 && ::stat(resolved.c_str(), &named) == 0 &&
        self.st_dev == named.st_dev && self.st_ino == named.st_ino)
      return resolved.string();
    return std::string("/proc/self/exe");
  }();
  return path;
}

}  // namespace

FileProcess::FileProcess(std::filesystem::path file, std::string live_label)
    : file_(std::move(file)), live_label_(std::move(live_label)) {
  int result_pipe[2], output_pipe[2];
  if (::pipe2(result_pipe, O_CLOEXEC) != 0)
    throw Error(fmt::format("cannot create a pipe: {}", std::strerror(errno)));
  if (::pipe2(output_pipe, O_CLOEXEC) != 0) {
    ::close(result_pipe[0]);
    ::close(result_pipe[1]);
    throw Error(fmt::format("cannot create a pipe: {}", std::strerror(errno)));
  }
  // Everything the child needs is made before fork: between fork and exec only
  // async-signal-safe calls.
  const std::string fd_text = std::to_string(kResultFd), file_text = file_.string();
  std::vector<char*> argv = {const_cast<char*>("provium"), const_cast<char*>("__run-file"),
                             const_cast<char*>("--result-fd"), const_cast<char*>(fd_text.c_str()),
                             const_cast<char*>(file_text.c_str()), nullptr};
  const std::string& executable = own_executable();
  const std::vector<std::string> environment = base::settings()->environment(environ);
  std::vector<char*> envp;
  for (const auto& variable : environment) envp.push_back(const_cast<char*>(variable.c_str()));
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();
  started_ = Clock::now();
  pid_ = ::fork();
  if (pid_ == 0) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(127);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null < 0 || ::dup2(null, 0) < 0) ::_exit(127);
    // Output first: the result pipe may itself be fd 3 (then dup2 is a no-op and only the
    // close-on-exec flag must go).
    if (::dup2(output_pipe[1], 1) < 0 || ::dup2(output_pipe[1], 2) < 0) ::_exit(127);
    if (result_pipe[1] == kResultFd) {
      if (::fcntl(kResultFd, F_SETFD, 0) != 0) ::_exit(127);
    } else if (::dup2(result_pipe[1], kResultFd) < 0) {
      ::_exit(127);
    }
    ::execve(executable.c_str(), argv.data(), envp.data());
    static constexpr char kMessage[] = "provium: cannot run itself for the file\n";
    [[maybe_unused]] auto ignored = ::write(2, kMessage, sizeof kMessage - 1);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(result_pipe[1]);
  ::close(output_pipe[1]);
  if (pid_ < 0) {
    ::close(result_pipe[0]);
    ::close(output_pipe[0]);
    throw Error(fmt::format("cannot start a process for {}: {}", file_.string(), std::strerror(fork_errno)));
  }
  result_fd_ = result_pipe[0];
  output_fd_ = output_pipe[0];
}

FileProcess::~FileProcess() {
  close_fd(result_fd_);
  close_fd(output_fd_);
  if (pid_ > 0 && !exited_at_) {
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

void FileProcess::close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

void FileProcess::read_from(int fd) {
  char buffer[65536];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    if (fd == output_fd_ && !live_label_.empty()) {
      if (auto last = live_lines_.rest(); !last.empty()) show_live({std::move(last)});  // a last line without its end
    }
    close_fd(fd == result_fd_ ? result_fd_ : output_fd_);
    return;
  }
  if (fd == result_fd_) {
    result_text_.append(buffer, n);
    return;
  }
  output_.append(buffer, n);
  if (!live_label_.empty()) show_live(live_lines_.feed(std::string_view(buffer, n)));
  if (output_.size() > 2 * kOutputKeep) {
    const std::size_t drop = output_.size() - kOutputKeep;
    output_.erase(0, drop);
    output_dropped_ += drop;
  }
}

void FileProcess::show_live(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += fmt::format("  {} | {}\n", live_label_, line);
  std::cout << text << std::flush;  // whole lines at once: parallel files do not mix within one
}

bool FileProcess::finished() {
  if (!exited_at_) {
    int status = 0;
    const pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
    if (reaped != pid_) return false;
    wait_status_ = status;
    exited_at_ = Clock::now();
  }
  if (result_fd_ < 0 && output_fd_ < 0) return true;
  if (Clock::now() - *exited_at_ < kDrainGrace) return false;
  close_fd(result_fd_);
  close_fd(output_fd_);
  return true;
}

FileOutcome FileProcess::outcome(std::string name) {
  FileOutcome outcome;
  outcome.file = file_;
  outcome.name = std::move(name);
  outcome.output = output_dropped_
                       ? fmt::format("[... {} bytes of earlier output dropped]\n", output_dropped_) + output_
                       : std::move(output_);
  const bool exited_normally = WIFEXITED(wait_status_) && WEXITSTATUS(wait_status_) <= 1;
  if (auto result = result_from_json(result_text_)) {
    outcome.result = std::move(*result);
    outcome.result.file = file_;
    // A report that came before a crash (in the cleanup, say) is kept, and the crash fails it.
    if (!exited_normally) {
      const std::string what = WIFSIGNALED(wait_status_)
                                   ? fmt::format("its process was killed by signal {} ({}) after reporting",
                                                 WTERMSIG(wait_status_), ::strsignal(WTERMSIG(wait_status_)))
                                   : fmt::format("its process exited with status {} after reporting",
                                                 WEXITSTATUS(wait_status_));
      outcome.result.error = outcome.result.error ? *outcome.result.error + "\n" + what : what;
      outcome.result_missing = true;  // so that the report shows its last output
    }
    return outcome;
  }
  outcome.result_missing = true;
  outcome.result.file = file_;
  outcome.result.seconds = std::chrono::duration<double>(
                               exited_at_.value_or(Clock::now()) - started_).count();
  outcome.result.error = describe_exit(wait_status_);
  return outcome;
}

}  // namespace provium::cli
