// The process's one libuv loop, on its own thread. It owns every child process, socket and
// timer; the synchronous public API posts work to it and waits for the result.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace provium::loop {

class Loop {
 public:
  // The process-wide loop, started on first use. It is never destroyed: QEMU children are
  // spawned from its thread, so their parent-death signal fires only when the process ends.
  static Loop& instance();

  // Runs `task` on the loop thread, soon. Safe from any thread, including the loop's own.
  void post(std::function<void()> task);

  bool on_loop_thread() const { return std::this_thread::get_id() == thread_id_; }
  uv_loop_t* uv() { return &loop_; }

 private:
  Loop();
  void run_posted();

  uv_loop_t loop_{};
  uv_async_t wakeup_{};
  std::mutex mutex_;
  std::vector<std::function<void()>> posted_;
  std::thread::id thread_id_;
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
