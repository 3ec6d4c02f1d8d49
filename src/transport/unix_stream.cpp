#include "transport/unix_stream.h"

#include <fmt/format.h>

#include "loop/loop.h"

namespace provium::transport {

namespace {
constexpr uint64_t kRetryMilliseconds = 2;
constexpr std::size_t kReadChunk = 256 * 1024;

// A request outlives nothing it points to: it holds a weak reference to its stream.
struct ConnectRequest {
  uv_connect_t req{};
  std::weak_ptr<UnixStream> stream;
};

struct WriteRequest {
  uv_write_t req{};
  std::string bytes;
};
}  // namespace

UnixStream::~UnixStream() { close(); }

void UnixStream::connect(const std::filesystem::path& path, Callbacks callbacks) {
  if (closed_) return;  // closed before it was connected: the owner has reported why
  path_ = path;
  callbacks_ = std::move(callbacks);
  uv_timer_init(loop::Loop::instance().uv(), retry_timer_.get());
  retry_timer_.mark_initialized();
  retry_timer_->data = this;
  attempt();
}

void UnixStream::attempt() {
  if (closed_) return;
  pipe_ = loop::UvHandle<uv_pipe_t>();
  uv_pipe_init(loop::Loop::instance().uv(), pipe_.get(), 0);
  pipe_.mark_initialized();
  pipe_->data = this;
  auto* request = new ConnectRequest{{}, weak_from_this()};
  uv_pipe_connect(&request->req, pipe_.get(), path_.c_str(), [](uv_connect_t* req, int status) {
    std::unique_ptr<ConnectRequest> request(reinterpret_cast<ConnectRequest*>(req));
    auto self = request->stream.lock();
    if (!self || self->closed_) return;
    if (status == 0) {
      self->connected_ = true;
      self->start_reading();
      if (self->callbacks_.connected) self->callbacks_.connected();
      return;
    }
    if (status == UV_ENOENT || status == UV_ECONNREFUSED) {
      // Not listening yet: QEMU is still starting.
      uv_timer_start(self->retry_timer_.get(),
                     [](uv_timer_t* timer) {
                       if (timer->data) static_cast<UnixStream*>(timer->data)->attempt();
                     },
                     kRetryMilliseconds, 0);
      return;
    }
    self->report_closed(fmt::format("cannot connect to {}: {}", self->path_.string(),
                                    uv_strerror(status)));
  });
}

void UnixStream::start_reading() {
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(pipe_.get()),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        buf->base = new char[kReadChunk];
        buf->len = kReadChunk;
      },
      [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
        std::unique_ptr<char[]> chunk(buf->base);
        auto* self = static_cast<UnixStream*>(stream->data);
        if (!self || nread == 0) return;
        if (nread < 0) {
          self->report_closed(nread == UV_EOF ? "the connection was closed by the other end"
                                              : fmt::format("read error: {}", uv_strerror(nread)));
          return;
        }
        // A callback may drop the last owner; one already dropped waits for its deletion.
        auto keep_alive = self->weak_from_this().lock();
        if (keep_alive && self->callbacks_.data) self->callbacks_.data({chunk.get(), size_t(nread)});
      });
}

void UnixStream::write(std::string bytes) {
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

void UnixStream::report_closed(std::string reason) {
  if (closed_) return;
  auto keep_alive = weak_from_this().lock();
  auto on_closed = std::move(callbacks_.closed);
  close();
  if (on_closed) on_closed(std::move(reason));
}

void UnixStream::close() {
  if (closed_) return;
  closed_ = true;
  connected_ = false;
  callbacks_ = {};
  pipe_.close();
  retry_timer_.close();
}

}  // namespace provium::transport
