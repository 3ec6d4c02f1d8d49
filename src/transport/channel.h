// One connection to the agent (or a worker): frames over a stream, strictly request then
// answer. Loop thread only. Whatever ends the connection (the VM dies, a protocol violation,
// close) fails every waiting request with the reason.
#pragma once

#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "loop/loop.h"
#include "loop/completion.h"
#include "protocol/frame.h"
#include "transport/stream.h"

namespace provium::transport {

class Channel : public std::enable_shared_from_this<Channel> {
 public:
  using Answer = loop::Completion<protocol::Frame>;

  // Deleted on the loop thread (loop::DeleteOnLoop), whoever holds it last.
  static std::shared_ptr<Channel> create() {
    return std::shared_ptr<Channel>(new Channel(), loop::DeleteOnLoop{});
  }

  // Connects to the agent's or a worker's socket: a virtio-serial port's unix socket, or an
  // AF_VSOCK listener in the guest. `greeting` receives the first frame the agent sends on its
  // own (READY). The agent always speaks first, so a connection that ends before its first byte
  // is made again (Stream::SocketOptions::until_first_byte).
  void connect(const SocketAddress& address, Answer greeting);

  // Frames of `type` that arrive before a request's answer, each handed to `on_frame` on the
  // loop thread (a streamed EXEC's output).
  struct Interim {
    uint8_t type = 0;
    std::function<void(protocol::Frame)> on_frame;
  };

  // Sends a frame (already encoded) and queues `answer` for the next frame that arrives (the
  // next but `interim`'s).
  void request(std::string frame, Answer answer, std::optional<Interim> interim = std::nullopt);

  // Sends a frame (already encoded) that the agent does not answer (PTY_INPUT, PTY_RESIZE);
  // dropped once the connection has failed.
  void send(std::string frame);

  // Fails every waiting request with `reason` and closes the connection; later requests fail
  // at once with the same reason.
  void fail(const std::string& reason);

 private:
  Channel() = default;
  Stream::Callbacks callbacks();
  void on_data(std::string_view bytes);

  std::shared_ptr<Stream> stream_ = Stream::create();
  protocol::FrameDecoder decoder_;
  struct Waiting {
    Answer answer;
    std::optional<Interim> interim;
  };
  std::deque<Waiting> waiting_;
  std::optional<std::string> failure_;
};

}  // namespace provium::transport
