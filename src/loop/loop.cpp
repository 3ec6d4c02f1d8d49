#include "loop/loop.h"

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
