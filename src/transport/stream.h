// A byte stream on the loop thread: to a unix socket that QEMU serves (its QMP monitor, a
// virtio-serial port), or to any other socket address, such as the guest agent's AF_VSOCK
// listener. Whoever listens may not be there yet (QEMU creates its sockets a few milliseconds
// after it starts; a guest listens seconds after), so connect() retries until a connection is
// made or the stream is closed: the owner bounds the wait with its own deadline.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "loop/loop.h"
#include "loop/handle.h"

namespace provium::transport {

// A socket address of any family, with its text for messages ("vsock 12:5123").
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string text;

  // (CID, port) of AF_VSOCK.
  static SocketAddress vsock(uint32_t cid, uint32_t port);
  // A unix socket's path (QEMU's QMP monitor, a virtio-serial port); Error when the path is
  // longer than a unix socket address holds.
  static SocketAddress unix_socket(const std::filesystem::path& path);
  // Any address, copied (length at most sizeof(sockaddr_storage)).
  static SocketAddress from(const sockaddr* address, socklen_t length, std::string text);
  int family() const { return storage.ss_family; }
};

class Stream : public std::enable_shared_from_this<Stream> {
 public:
  struct Callbacks {
    std::function<void()> connected;
    std::function<void(std::string_view)> data;
    std::function<void(std::string reason)> closed;  // the peer went away or an I/O error
  };

  struct SocketOptions {
    // Pause between two attempts.
    std::chrono::milliseconds retry_interval{2};
    // A connection that ends before its first byte arrived is treated like a refused one and
    // made again. For peers that always speak first (the agent greets with READY): a guest
    // resumed from a snapshot resets the connections it had, and one made in that instant may
    // be reset right after it was accepted.
    bool until_first_byte = false;
  };

  // Deleted on the loop thread (loop::DeleteOnLoop), whoever holds it last.
  static std::shared_ptr<Stream> create() {
    return std::shared_ptr<Stream>(new Stream(), loop::DeleteOnLoop{});
  }
  ~Stream();

  // Loop thread only, for every member below.

  // Any socket address, unix or vsock. libuv knows no AF_VSOCK, so the socket is created and
  // connected here (non-blocking, completion watched with uv_poll) and handed to libuv once
  // connected, whatever its family. Retried on the errors that mean "nobody there yet" (see
  // retryable_connect_error).
  void connect(const SocketAddress& address, Callbacks callbacks, SocketOptions options);
  void write(std::string bytes);
  void close();
  bool connected() const { return connected_; }

 private:
  Stream() = default;
  void attempt();
  void socket_connected(int fd);
  void retry_later();
  void start_reading();
  void report_closed(std::string reason);

  SocketAddress address_;
  SocketOptions socket_options_;
  bool received_ = false;    // a byte arrived on this connection
  Callbacks callbacks_;
  loop::UvHandle<uv_pipe_t> pipe_;
  loop::UvHandle<uv_poll_t> connecting_;  // watches a socket connect() in progress
  int connecting_fd_ = -1;                // that socket, owned until handed to pipe_
  loop::UvHandle<uv_timer_t> retry_timer_;
  bool connected_ = false;
  bool closed_ = false;
};

// Whether a failed connect (its errno) means that the peer is not listening yet, rather than
// that it never can be: refused or reset (nobody listens on the port yet), timed out (a guest
// whose vsock driver is not up yet does not answer), no such device or host (a CID that QEMU
// has not registered yet), a unix socket that does not exist yet, a full backlog.
bool retryable_connect_error(int error);

}  // namespace provium::transport
