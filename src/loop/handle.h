// Ownership of libuv handles. A handle's memory may only be freed in its close callback, after
// the loop is done with it; UvHandle<T> allocates it on the heap and uv_close()s it on
// destruction, freeing it from the callback. Use on the loop thread only.
#pragma once

#include <uv.h>

#include <utility>

namespace provium::loop {

template <class T>
class UvHandle {
 public:
  UvHandle() : handle_(new T{}) {}
  ~UvHandle() { close(); }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;
  UvHandle(UvHandle&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)),
        initialized_(std::exchange(other.initialized_, false)) {}
  UvHandle& operator=(UvHandle&& other) noexcept {
    if (this != &other) {
      close();
      handle_ = std::exchange(other.handle_, nullptr);
      initialized_ = std::exchange(other.initialized_, false);
    }
    return *this;
  }

  T* get() const { return handle_; }
  T* operator->() const { return handle_; }
  uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(handle_); }

  // Call after a successful uv_*_init, so that close() knows to uv_close it.
  void mark_initialized() { initialized_ = true; }
  bool initialized() const { return initialized_; }

  void close() {
    if (!handle_) return;
    if (initialized_ && !uv_is_closing(base())) {
      base()->data = nullptr;  // no callback may reach its former owner any more
      uv_close(base(), [](uv_handle_t* h) { delete reinterpret_cast<T*>(h); });
    } else if (!initialized_) {
      delete handle_;
    }
    handle_ = nullptr;
    initialized_ = false;
  }

 private:
  T* handle_;
  bool initialized_ = false;
};

}  // namespace provium::loop
