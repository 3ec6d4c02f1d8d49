#include "loop/loop.h"

#include <pthread.h>
#include <signal.h>

#include <future>
#include <stdexcept>

namespace provium::loop {

Loop& Loop::instance() {
  static Loop* loop = new Loop();  // intentionally leaked, see the header
  return *loop;
}

Loop::Loop() {
  uv_loop_init(&loop_);
  wakeup_.data = this;
  uv_async_init(&loop_, &wakeup_, [](uv_async_t* handle) {
    static_cast<Loop*>(handle->data)->run_posted();
  });
  std::promise<std::thread::id> started;
  auto started_id = started.get_future();
  std::thread([this, &started] {
    // A write to the socket of a QEMU that just died raises SIGPIPE in the writing thread,
    // whose default action ends the whole test process. Every socket write happens on this
    // thread: blocked here, the write fails with EPIPE and the VM's death is reported as such.
    // The process's own signal handling stays untouched (libuv's children start unblocked).
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
    started.set_value(std::this_thread::get_id());
    uv_run(&loop_, UV_RUN_DEFAULT);  // never returns: wakeup_ stays open
  }).detach();
  thread_id_ = started_id.get();
}

void Loop::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    posted_.push_back(std::move(task));
  }
  uv_async_send(&wakeup_);
}

void Loop::run_posted() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(mutex_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) task();
}

}  // namespace provium::loop
