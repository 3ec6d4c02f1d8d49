// A byte stream over a unix socket that QEMU serves (its QMP monitor, a virtio-serial port),
// on the loop thread. QEMU creates its sockets a few milliseconds after it starts, so connect()
// retries until the socket accepts or the stream is closed.
#pragma once

#include <uv.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "loop/loop.h"
#include "loop/handle.h"

namespace provium::transport {

class UnixStream : public std::enable_shared_from_this<UnixStream> {
 public:
  struct Callbacks {
    std::function<void()> connected;
    std::function<void(std::string_view)> data;
    std::function<void(std::string reason)> closed;  // the peer went away or an I/O error
  };

  // Deleted on the loop thread (loop::DeleteOnLoop), whoever holds it last.
  static std::shared_ptr<UnixStream> create() {
    return std::shared_ptr<UnixStream>(new UnixStream(), loop::DeleteOnLoop{});
  }
  ~UnixStream();

  // Loop thread only, for every member below.
  void connect(const std::filesystem::path& path, Callbacks callbacks);
  void write(std::string bytes);
  void close();
  bool connected() const { return connected_; }

 private:
  UnixStream() = default;
  void attempt();
  void start_reading();
  void report_closed(std::string reason);

  std::filesystem::path path_;
  Callbacks callbacks_;
  loop::UvHandle<uv_pipe_t> pipe_;
  loop::UvHandle<uv_timer_t> retry_timer_;
  bool connected_ = false;
  bool closed_ = false;
};

}  // namespace provium::transport
