#include "loop/loop.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

namespace provium::loop {

namespace {
std::atomic<Loop*> started_loop{nullptr};
}  // namespace

Loop& Loop::instance() {
  static Loop* loop = [] {
    auto* made = new Loop();  // intentionally leaked, see the header
    started_loop = made;
    // Runs before the destructors of every static made before the loop, and before the
    // libraries' own finalizers (libuv's closes its signal pipe, after which closing a process
    // handle aborts).
    std::atexit(stop_at_exit);
    return made;
  }();
  return *loop;
}

Loop::Loop() : owner_(::getpid()) {
  uv_loop_init(&loop_);
  wakeup_.data = this;
  uv_async_init(&loop_, &wakeup_, [](uv_async_t* handle) {
    static_cast<Loop*>(handle->data)->run_posted();
  });
  std::lock_guard lock(mutex_);
  start_thread();
}

void Loop::start_thread() {
  if (thread_.joinable()) thread_.join();  // a previous thread that already returned
  thread_running_ = true;
  thread_ = std::thread(&Loop::run, this);
  uv_async_send(&wakeup_);  // its first turn runs what is posted already
}

void Loop::run() {
  thread_id_ = std::this_thread::get_id();
  // A write to the socket of a QEMU that just died raises SIGPIPE in the writing thread,
  // whose default action ends the whole test process. Every socket write happens on this
  // thread: blocked here, the write fails with EPIPE and the VM's death is reported as such.
  // The process's own signal handling stays untouched (libuv's children start unblocked).
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
  for (;;) {
    uv_run(&loop_, UV_RUN_ONCE);  // wakeup_ stays open: this waits for work
    std::lock_guard lock(mutex_);
    if (stop_requested_ && posted_.empty()) {
      thread_running_ = false;
      // A later thread (or a user's thread reusing this id) is not this one.
      thread_id_ = std::thread::id();
      return;
    }
  }
}

void Loop::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    posted_.push_back(std::move(task));
    if (!thread_running_) {
      // Stopped: a stop in progress starts the thread again itself; after the atexit handler
      // the task is kept, never run.
      if (!stop_requested_ && !exited_) start_thread();
      return;
    }
  }
  uv_async_send(&wakeup_);  // the thread runs until nothing is posted, even when stopping
}

void Loop::run_posted() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(mutex_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) task();
}

void Loop::at_stop(std::function<void()> step) {
  std::lock_guard lock(mutex_);
  stop_steps_.push_back(std::move(step));
}

void Loop::stop() {
  if (Loop* loop = started_loop.load()) loop->stop_thread(false);
}

void Loop::stop_at_exit() {
  Loop* loop = started_loop.load();
  // exit() in a forked child: the child has no loop thread to stop.
  if (loop && ::getpid() == loop->owner_) loop->stop_thread(true);
}

void Loop::stop_thread(bool exiting) {
  if (on_loop_thread()) {  // exit() from a loop callback: the thread cannot join itself
    std::lock_guard lock(mutex_);
    exited_ = exited_ || exiting;
    return;
  }
  std::lock_guard stopping(stop_mutex_);
  std::vector<std::function<void()>> steps;
  {
    std::lock_guard lock(mutex_);
    if (!thread_running_) {
      exited_ = exited_ || exiting;
      return;
    }
    steps = stop_steps_;
  }
  for (auto& step : steps) step();
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
    exited_ = exited_ || exiting;
  }
  uv_async_send(&wakeup_);
  thread_.join();
  std::lock_guard lock(mutex_);
  stop_requested_ = false;
  // Posted between the thread's last look and now: run by a new thread, unless exiting.
  if (!exited_ && !posted_.empty()) start_thread();
}

}  // namespace provium::loop
