#include "transport/stream.h"

#include <linux/vm_sockets.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <provium/error.h>

#include "loop/loop.h"

namespace provium::transport {

namespace {
constexpr std::size_t kReadChunk = 256 * 1024;

struct WriteRequest {
  uv_write_t req{};
  std::string bytes;
};
}  // namespace

SocketAddress SocketAddress::vsock(uint32_t cid, uint32_t port) {
  sockaddr_vm address{};
  address.svm_family = AF_VSOCK;
  address.svm_cid = cid;
  address.svm_port = port;
  return from(reinterpret_cast<const sockaddr*>(&address), sizeof address,
              fmt::format("vsock CID {} port {}", cid, port));
}

SocketAddress SocketAddress::unix_socket(const std::filesystem::path& path) {
  sockaddr_un address{};
  if (path.native().size() >= sizeof address.sun_path)
    throw Error(fmt::format("socket path {} is too long for a unix socket ({} bytes at most)", path.string(),
                            sizeof address.sun_path - 1));
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.native().size());
  return from(reinterpret_cast<const sockaddr*>(&address), sizeof address, path.string());
}

SocketAddress SocketAddress::from(const sockaddr* address, socklen_t length, std::string text) {
  if (length > sizeof(sockaddr_storage))
    throw Error(fmt::format("socket address {} is too long ({} bytes)", text, length));
  SocketAddress result;
  std::memcpy(&result.storage, address, length);
  result.length = length;
  result.text = std::move(text);
  return result;
}

bool retryable_connect_error(int error) {
  switch (error) {
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case ETIMEDOUT:
    case ENODEV:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENOENT:
    case EAGAIN:
      return true;
    default:
      return false;
  }
}

Stream::~Stream() { close(); }

void Stream::connect(const SocketAddress& address, Callbacks callbacks, SocketOptions options) {
  if (closed_) return;
  address_ = address;
  socket_options_ = options;
  callbacks_ = std::move(callbacks);
  uv_timer_init(loop::Loop::instance().uv(), retry_timer_.get());
  retry_timer_.mark_initialized();
  retry_timer_->data = this;
  attempt();
}

void Stream::retry_later() {
  const auto delay = static_cast<uint64_t>(socket_options_.retry_interval.count());
  uv_timer_start(retry_timer_.get(),
                 [](uv_timer_t* timer) {
                   if (timer->data) static_cast<Stream*>(timer->data)->attempt();
                 },
                 delay, 0);
}

void Stream::attempt() {
  if (closed_) return;
  const int fd = ::socket(address_.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    report_closed(fmt::format("cannot create a socket for {}: {}", address_.text, strerror(errno)));
    return;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address_.storage), address_.length) == 0) {
    socket_connected(fd);
    return;
  }
  const int error = errno;
  if (error == EINPROGRESS || error == EINTR) {
    // Completes later: the socket turns writable, with SO_ERROR saying how it went.
    connecting_ = loop::UvHandle<uv_poll_t>();
    if (int rc = uv_poll_init_socket(loop::Loop::instance().uv(), connecting_.get(), fd); rc != 0) {
      ::close(fd);
      report_closed(fmt::format("cannot watch the connection to {}: {}", address_.text, uv_strerror(rc)));
      return;
    }
    connecting_.mark_initialized();
    connecting_->data = this;
    connecting_fd_ = fd;
    uv_poll_start(connecting_.get(), UV_WRITABLE, [](uv_poll_t* handle, int status, int) {
      auto* self = static_cast<Stream*>(handle->data);
      if (!self) return;
      const int fd = std::exchange(self->connecting_fd_, -1);
      // Closed before the descriptor changes hands: libuv stops watching it right here, so
      // that the pipe below can watch the same descriptor.
      self->connecting_.close();
      // A failed connect shows as POLLERR, which libuv reports as UV_EBADF whatever the
      // cause: the socket's own error says what happened.
      int error = 0;
      socklen_t length = sizeof error;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
      if (error == 0 && status < 0) error = -status;  // libuv's codes are negated errno values
      sockaddr_storage peer{};
      socklen_t peer_length = sizeof peer;
      if (error == 0 && ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) != 0)
        error = ECONNRESET;  // writable, no error, yet not connected: ended at once
      if (error == 0) {
        self->socket_connected(fd);
        return;
      }
      ::close(fd);
      if (retryable_connect_error(error)) {
        self->retry_later();
        return;
      }
      self->report_closed(fmt::format("cannot connect to {}: {}", self->address_.text, strerror(error)));
    });
    return;
  }
  ::close(fd);
  if (retryable_connect_error(error)) {
    retry_later();
    return;
  }
  report_closed(fmt::format("cannot connect to {}: {}", address_.text, strerror(error)));
}

void Stream::socket_connected(int fd) {
  pipe_ = loop::UvHandle<uv_pipe_t>();
  uv_pipe_init(loop::Loop::instance().uv(), pipe_.get(), 0);
  pipe_.mark_initialized();
  pipe_->data = this;
  // A pipe handle reads and writes any stream socket with read() and writev().
  if (int rc = uv_pipe_open(pipe_.get(), fd); rc != 0) {
    ::close(fd);
    report_closed(fmt::format("cannot use the connection to {}: {}", address_.text, uv_strerror(rc)));
    return;
  }
  connected_ = true;
  received_ = false;
  start_reading();
  if (callbacks_.connected) callbacks_.connected();
}

void Stream::start_reading() {
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(pipe_.get()),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        buf->base = new char[kReadChunk];
        buf->len = kReadChunk;
      },
      [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
        std::unique_ptr<char[]> chunk(buf->base);
        auto* self = static_cast<Stream*>(stream->data);
        if (!self || nread == 0) return;
        if (nread < 0) {
          if (self->socket_options_.until_first_byte && !self->received_) {
            // Ended before the peer said anything: as if it had refused. Make a new one.
            self->connected_ = false;
            self->pipe_.close();
            self->retry_later();
            return;
          }
          self->report_closed(nread == UV_EOF ? "the connection was closed by the other end"
                                              : fmt::format("read error: {}", uv_strerror(nread)));
          return;
        }
        self->received_ = true;
        // A callback may drop the last owner; one already dropped waits for its deletion.
        auto keep_alive = self->weak_from_this().lock();
        if (keep_alive && self->callbacks_.data) self->callbacks_.data({chunk.get(), size_t(nread)});
      });
}

void Stream::write(std::string bytes) {
  if (closed_ || !connected_) return;
  auto* request = new WriteRequest{{}, std::move(bytes)};
  uv_buf_t buf = uv_buf_init(request->bytes.data(), static_cast<unsigned>(request->bytes.size()));
  int rc = uv_write(&request->req, reinterpret_cast<uv_stream_t*>(pipe_.get()), &buf, 1,
                    [](uv_write_t* req, int) { delete reinterpret_cast<WriteRequest*>(req); });
  if (rc != 0) {
    delete request;
    report_closed(fmt::format("write error: {}", uv_strerror(rc)));
  }
}

void Stream::report_closed(std::string reason) {
  if (closed_) return;
  auto keep_alive = weak_from_this().lock();
  auto on_closed = std::move(callbacks_.closed);
  close();
  if (on_closed) on_closed(std::move(reason));
}

void Stream::close() {
  if (closed_) return;
  closed_ = true;
  connected_ = false;
  callbacks_ = {};
  connecting_.close();  // before its descriptor is closed
  if (connecting_fd_ >= 0) ::close(std::exchange(connecting_fd_, -1));
  pipe_.close();
  retry_timer_.close();
}

}  // namespace provium::transport
