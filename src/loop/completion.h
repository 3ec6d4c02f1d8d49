// A result that the loop thread produces and a caller thread waits for with a deadline.
// It is settled once: by the operation, by the VM's death, or by the caller giving up;
// whichever comes first wins and the others are ignored.
#pragma once

#include <algorithm>
#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <optional>

namespace provium::loop {

template <class T>
class Completion {
 public:
  Completion() : state_(std::make_shared<State>()) {
    state_->future = state_->promise.get_future().share();
  }

  bool resolve(T value) const {
    std::lock_guard lock(state_->mutex);
    if (state_->settled) return false;
    state_->settled = true;
    state_->promise.set_value(std::move(value));
    return true;
  }

  bool fail(std::exception_ptr error) const {
    std::lock_guard lock(state_->mutex);
    if (state_->settled) return false;
    state_->settled = true;
    state_->promise.set_exception(std::move(error));
    return true;
  }

  template <class E>
  bool fail(E error) const { return fail(std::make_exception_ptr(std::move(error))); }

  // The value (or the error the completion failed with), or nullopt if the deadline passed
  // first. May be called again, from any thread.
  std::optional<T> wait_until(std::chrono::steady_clock::time_point deadline) {
    if (state_->future.wait_until(deadline) != std::future_status::ready) return std::nullopt;
    return state_->future.get();
  }

 private:
  struct State {
    std::mutex mutex;
    bool settled = false;
    std::promise<T> promise;
    std::shared_future<T> future;
  };
  std::shared_ptr<State> state_;  // copies (held by loop callbacks) share it
};

// The time left until `deadline`, never negative.
inline std::chrono::milliseconds remaining(std::chrono::steady_clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    deadline - std::chrono::steady_clock::now()));
}

}  // namespace provium::loop
