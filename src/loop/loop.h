// The process's one libuv loop, on its own thread. It owns every child process, socket and
// timer; the synchronous public API posts work to it and waits for the result.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace provium::loop {

class Loop {
 public:
  // The process-wide loop, started on first use. The object is never destroyed (its handles
  // may outlive any static); its thread is ended by stop().
  static Loop& instance();

  // Ends the loop's work, if the loop was ever started, and joins its thread: runs the steps
  // registered with at_stop (every QEMU killed and reaped, the spare machine dropped) while
  // the loop still runs, then what was posted, then joins. A later post() starts the thread
  // again. Called by provium::shutdown() and, before static destruction, from an atexit
  // handler; after that handler, posted tasks are kept and never run, so that no code runs on
  // a loop thread while the process unloads its libraries (libuv's own among them).
  static void stop();

  // Registers a step of stop(), run on the stopping thread in the order of registration.
  void at_stop(std::function<void()> step);

  // Runs `task` on the loop thread, soon. Safe from any thread, including the loop's own.
  void post(std::function<void()> task);

  bool on_loop_thread() const { return std::this_thread::get_id() == thread_id_.load(); }
  uv_loop_t* uv() { return &loop_; }

 private:
  Loop();
  void start_thread();  // with mutex_ held
  void run();           // the thread's body
  void run_posted();
  void stop_thread(bool exiting);
  static void stop_at_exit();

  uv_loop_t loop_{};
  uv_async_t wakeup_{};
  std::mutex mutex_;  // guards everything below but thread_id_
  std::vector<std::function<void()>> posted_;
  std::vector<std::function<void()>> stop_steps_;
  std::thread thread_;
  bool thread_running_ = false;  // thread_ runs uv_run; false once it has decided to return
  bool stop_requested_ = false;  // the thread returns once nothing is posted
  bool exited_ = false;          // the atexit handler ran: the thread never starts again
  std::mutex stop_mutex_;        // one stop at a time
  std::atomic<std::thread::id> thread_id_;
  pid_t owner_ = 0;  // a forked child inherits the object, not the thread
};

// For shared_ptrs of objects that own libuv handles: whichever thread drops the last
// reference, the object is deleted on the loop thread, where its handles may be closed.
struct DeleteOnLoop {
  template <class T>
  void operator()(T* object) const {
    Loop& loop = Loop::instance();
    if (loop.on_loop_thread())
      delete object;
    else
      loop.post([object] { delete object; });
  }
};

}  // namespace provium::loop
