#include "qemu/process.h"

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <set>

#include <provium/error.h>

#include "loop/completion.h"
#include "loop/loop.h"

namespace provium::qemu {

namespace {
constexpr std::size_t kOutputTailBytes = 16 * 1024;

void keep_tail(std::string& tail, std::string_view bytes) {
  tail.append(bytes);
  if (tail.size() > kOutputTailBytes) tail.erase(0, tail.size() - kOutputTailBytes);
}

// Loop thread only: the processes started and not yet finished (reaped, output drained), and
// who waits for there to be none. Leaked, as the loop is: no static destructor may empty it.
struct Unfinished {
  std::set<Process*> processes;
  std::vector<loop::Completion<bool>> waiting_for_none;
};
Unfinished& unfinished() {
  static auto* instance = new Unfinished;
  return *instance;
}

void forget(Process* process) {
  auto& all = unfinished();
  if (all.processes.erase(process) == 0 || !all.processes.empty()) return;
  for (auto& waiter : all.waiting_for_none) waiter.resolve(true);
  all.waiting_for_none.clear();
}

// The loop's stop step: SIGKILL to every QEMU, then wait until libuv has reaped each, so that
// none outlives the test process as a zombie or an orphan.
void end_all_processes() {
  loop::Completion<bool> none_left;
  loop::Loop::instance().post([none_left] {
    auto& all = unfinished();
    for (Process* process : all.processes) process->kill(SIGKILL);
    if (all.processes.empty()) none_left.resolve(true);
    else all.waiting_for_none.push_back(none_left);
  });
  // SIGKILL leaves no say; only a process stuck in the kernel takes longer.
  if (!none_left.wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(30)))
    std::fputs("provium: a QEMU process did not end within 30 s of SIGKILL\n", stderr);
}

}  // namespace

std::string ProcessExit::describe() const {
  if (signal != 0) return fmt::format("was killed by signal {} ({})", signal, strsignal(signal));
  return fmt::format("exited with status {}", status);
}

Process::~Process() {
  if (running()) kill(SIGKILL);
  forget(this);
}

void Process::start(const std::vector<std::string>& argv,
                    std::function<void(ProcessExit)> on_exit) {
  uv_loop_t* loop = loop::Loop::instance().uv();
  on_exit_ = std::move(on_exit);

  std::vector<std::string> full = {"setpriv", "--pdeathsig", "KILL", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  std::vector<char*> args;
  for (auto& arg : full) args.push_back(arg.data());
  args.push_back(nullptr);

  for (auto* pipe : {&stdout_, &stderr_}) {
    uv_pipe_init(loop, pipe->get(), 0);
    pipe->mark_initialized();
    pipe->get()->data = this;
  }
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(stdout_.get());
  stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[2].data.stream = reinterpret_cast<uv_stream_t*>(stderr_.get());

  uv_process_options_t options{};
  options.file = args[0];
  options.args = args.data();
  options.stdio = stdio;
  options.stdio_count = 3;
  options.exit_cb = [](uv_process_t* handle, int64_t status, int signal) {
    auto* self = static_cast<Process*>(handle->data);
    if (!self) return;
    self->exited_ = true;
    self->exit_.status = status;
    self->exit_.signal = signal;
    self->maybe_finish();
  };
  process_.get()->data = this;
  int rc = uv_spawn(loop, process_.get(), &options);
  process_.mark_initialized();  // even a failed uv_spawn leaves a handle that must be closed
  if (rc != 0) {
    process_->data = nullptr;
    throw Error(fmt::format("cannot start {}: {}", argv[0], uv_strerror(rc)));
  }
  started_ = true;
  pid_ = process_->pid;
  static std::once_flag registered;
  std::call_once(registered, [] { loop::Loop::instance().at_stop(end_all_processes); });
  unfinished().processes.insert(this);
  read_output(stdout_);
  read_output(stderr_);
}

void Process::read_output(loop::UvHandle<uv_pipe_t>& pipe) {
  ++open_pipes_;
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(pipe.get()),
      [](uv_handle_t*, size_t suggested, uv_buf_t* buf) {
        buf->base = new char[suggested];
        buf->len = suggested;
      },
      [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
        auto* self = static_cast<Process*>(stream->data);
        if (self && nread > 0) keep_tail(self->exit_.stderr_tail, {buf->base, size_t(nread)});
        delete[] buf->base;
        if (self && nread < 0) {
          uv_read_stop(stream);
          --self->open_pipes_;
          self->maybe_finish();
        }
      });
}

void Process::maybe_finish() {
  if (finished_ || !exited_ || open_pipes_ > 0) return;
  finished_ = true;
  forget(this);
  if (on_exit_) on_exit_(exit_);
}

void Process::kill(int signal) {
  if (running()) uv_process_kill(process_.get(), signal);
}

}  // namespace provium::qemu
