// One QEMU child process, owned by the loop thread. QEMU is started through util-linux's
// setpriv with a parent-death signal, so it dies with the test process however that ends.
#pragma once

#include <uv.h>

#include <functional>
#include <string>
#include <vector>

#include "loop/handle.h"

namespace provium::qemu {

struct ProcessExit {
  int64_t status = 0;
  int signal = 0;
  std::string stderr_tail;  // the last bytes QEMU wrote to stderr (and stdout)
  std::string describe() const;  // "exited with status 1" / "was killed by signal 9"
};

class Process {
 public:
  Process() = default;
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Loop thread. Throws Error when the process cannot be started. `on_exit` runs once, on the
  // loop thread, after the process ended and its output pipes were drained.
  void start(const std::vector<std::string>& argv, std::function<void(ProcessExit)> on_exit);

  void kill(int signal);
  bool running() const { return started_ && !exited_; }
  int pid() const { return pid_; }

 private:
  void read_output(loop::UvHandle<uv_pipe_t>& pipe);
  void maybe_finish();

  loop::UvHandle<uv_process_t> process_;
  loop::UvHandle<uv_pipe_t> stdout_, stderr_;
  std::function<void(ProcessExit)> on_exit_;
  ProcessExit exit_;
  int open_pipes_ = 0;
  int pid_ = 0;
  bool started_ = false;
  bool exited_ = false;
  bool finished_ = false;
};

}  // namespace provium::qemu
