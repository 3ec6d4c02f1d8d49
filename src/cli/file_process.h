// One script file running in a process of its own (`provium __run-file`), so that whatever the
// file does to its process (a crash in a binding, os.exit, a signal) ends only that file. The
// parent reads two pipes: the result (JSON, see result_json.h) and everything the process
// writes to stdout and stderr, which goes into the file's log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/text.h"
#include "cli/file_outcome.h"

namespace provium::cli {

class FileProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts this executable again as `provium __run-file --result-fd 3 FILE`, with
  // stdin from /dev/null and the parent's environment and working directory. The child gets
  // SIGKILL if the parent dies, so that no file runs on unwatched. With a `live_label`, each
  // line the child writes is also printed on stdout as it comes, after that label (streamed
  // output). Throws provium::Error.
  explicit FileProcess(std::filesystem::path file, std::string live_label = {});
  ~FileProcess();  // kills and reaps a child still running
  FileProcess(const FileProcess&) = delete;
  FileProcess& operator=(const FileProcess&) = delete;

  // The pipes still open (-1 once closed), for poll().
  int result_fd() const { return result_fd_; }
  int output_fd() const { return output_fd_; }
  // Reads what `fd` (one of the two) has; closes it at end of file.
  void read_from(int fd);

  // Reaps the child when it has exited; true once it has and its pipes are drained (or a
  // grace period has passed: a process the child started may still hold them open).
  bool finished();

  // What became of the file; call once, after finished().
  FileOutcome outcome(std::string name);

 private:
  void close_fd(int& fd);

  // Prints `lines` (whole lines of the child's output) after live_label_.
  void show_live(const std::vector<std::string>& lines);

  std::filesystem::path file_;
  std::string live_label_;
  base::LineBuffer live_lines_;
  pid_t pid_ = -1;
  int result_fd_ = -1;
  int output_fd_ = -1;
  std::string result_text_;
  std::string output_;
  std::size_t output_dropped_ = 0;
  Clock::time_point started_;
  std::optional<Clock::time_point> exited_at_;
  int wait_status_ = 0;
};

}  // namespace provium::cli
