// transport::Stream's own socket connect, the one the vsock transport uses (libuv has no
// AF_VSOCK): a socket made and connected by hand, retried while nobody listens, then handed to
// libuv. Exercised here over unix and TCP loopback sockets, which take the same code path;
// AF_VSOCK itself only as far as a host without a guest allows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "loop/completion.h"
#include "loop/loop.h"
#include "support/temp_dir.h"
#include "support/unix_listener.h"
#include "provium/error.h"
#include "transport/stream.h"

using namespace provium;
using namespace std::chrono_literals;
using provium::testing::TempDir;
using provium::testing::unix_listener;
using ::testing::HasSubstr;
using transport::SocketAddress;
using transport::Stream;

namespace {

// Runs `task` on the loop thread and waits for it.
template <class F>
void on_loop(F task) {
  loop::Completion<bool> done;
  loop::Loop::instance().post([&task, done] {
    task();
    done.resolve(true);
  });
  ASSERT_TRUE(done.wait_until(std::chrono::steady_clock::now() + 5s));
}

// accept() with a deadline; -1 when nothing came.
int accept_within(int listener, std::chrono::milliseconds timeout) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return -1;
  return ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
}

// What a stream reports, for the test thread.
struct Observed {
  loop::Completion<std::string> data;     // the first bytes that arrived
  loop::Completion<std::string> closed;   // why it ended
  Stream::Callbacks callbacks() {
    return {.connected = {},
            .data = [data = data](std::string_view bytes) { data.resolve(std::string(bytes)); },
            .closed = [closed = closed](std::string reason) { closed.resolve(std::move(reason)); }};
  }
};

TEST(StreamTest, SocketConnectRetriesUntilTheListenerAppears) {
  TempDir dir;
  const auto path = dir.path() / "agent.sock";
  auto stream = Stream::create();
  Observed observed;
  on_loop([&] { stream->connect(SocketAddress::unix_socket(path), observed.callbacks(), {.retry_interval = 5ms}); });
  std::this_thread::sleep_for(50ms);  // a few attempts fail: no such socket yet
  const int listener = unix_listener(path);
  const int peer = accept_within(listener, 5s);
  ASSERT_GE(peer, 0) << "the stream did not try again";
  ASSERT_EQ(::write(peer, "READY", 5), 5);
  auto data = observed.data.wait_until(std::chrono::steady_clock::now() + 5s);
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, "READY");
  EXPECT_FALSE(observed.closed.wait_until(std::chrono::steady_clock::now()));
  on_loop([&] { stream->close(); });
  ::close(peer);
  ::close(listener);
}

// TCP's non-blocking connect completes later (EINPROGRESS): the path where uv_poll watches the
// socket and SO_ERROR says how it went, refused first, then accepted.
TEST(StreamTest, ConnectInProgressIsWatchedUntilItSucceeds) {
  const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length), 0);
  ::close(probe);  // a free port that refuses for now

  auto stream = Stream::create();
  Observed observed;
  const auto target = SocketAddress::from(reinterpret_cast<const sockaddr*>(&address), sizeof address, "tcp");
  on_loop([&] { stream->connect(target, observed.callbacks(), {.retry_interval = 5ms}); });
  std::this_thread::sleep_for(50ms);
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int yes = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  const int peer = accept_within(listener, 5s);
  ASSERT_GE(peer, 0);
  ASSERT_EQ(::write(peer, "hello", 5), 5);
  auto data = observed.data.wait_until(std::chrono::steady_clock::now() + 5s);
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, "hello");
  // And the other way: the stream writes through libuv.
  on_loop([&] { stream->write("ping"); });
  char buffer[8] = {};
  pollfd p{peer, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  EXPECT_EQ(::read(peer, buffer, sizeof buffer), 4);
  EXPECT_EQ(std::string(buffer), "ping");
  on_loop([&] { stream->close(); });
  ::close(peer);
  ::close(listener);
}

// A guest resumed from a snapshot may reset a connection right after accepting it: with
// until_first_byte the stream connects again instead of reporting the end.
TEST(StreamTest, ConnectionEndedBeforeItsFirstByteIsMadeAgain) {
  TempDir dir;
  const auto path = dir.path() / "agent.sock";
  const int listener = unix_listener(path);
  auto stream = Stream::create();
  Observed observed;
  on_loop([&] {
    stream->connect(SocketAddress::unix_socket(path), observed.callbacks(), {.retry_interval = 5ms, .until_first_byte = true});
  });
  const int first = accept_within(listener, 5s);
  ASSERT_GE(first, 0);
  ::close(first);  // gone without a word
  const int second = accept_within(listener, 5s);
  ASSERT_GE(second, 0) << "the stream did not connect again";
  ASSERT_EQ(::write(second, "READY", 5), 5);
  auto data = observed.data.wait_until(std::chrono::steady_clock::now() + 5s);
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, "READY");
  EXPECT_FALSE(observed.closed.wait_until(std::chrono::steady_clock::now()));
  // Once the peer has spoken, its end is reported as usual.
  ::close(second);
  auto closed = observed.closed.wait_until(std::chrono::steady_clock::now() + 5s);
  ASSERT_TRUE(closed);
  EXPECT_THAT(*closed, HasSubstr("closed by the other end"));
  on_loop([&] { stream->close(); });
  ::close(listener);
}

TEST(StreamTest, WithoutUntilFirstByteAnEarlyEndIsReported) {
  TempDir dir;
  const auto path = dir.path() / "qmp.sock";
  const int listener = unix_listener(path);
  auto stream = Stream::create();
  Observed observed;
  on_loop([&] { stream->connect(SocketAddress::unix_socket(path), observed.callbacks(), {}); });
  const int peer = accept_within(listener, 5s);
  ASSERT_GE(peer, 0);
  ::close(peer);
  auto closed = observed.closed.wait_until(std::chrono::steady_clock::now() + 5s);
  ASSERT_TRUE(closed);
  EXPECT_THAT(*closed, HasSubstr("closed by the other end"));
  ::close(listener);
}

TEST(StreamTest, ErrorThatRetryingCannotMendIsReported) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  // A length too short for AF_INET: connect() fails with EINVAL, not worth retrying.
  const auto bad = SocketAddress::from(reinterpret_cast<const sockaddr*>(&address), 4, "bad address");
  auto stream = Stream::create();
  Observed observed;
  on_loop([&] { stream->connect(bad, observed.callbacks(), {}); });
  auto closed = observed.closed.wait_until(std::chrono::steady_clock::now() + 5s);
  ASSERT_TRUE(closed);
  EXPECT_THAT(*closed, HasSubstr("cannot connect to bad address: Invalid argument"));
}

TEST(StreamTest, RetryableErrors) {
  for (int error : {ECONNREFUSED, ECONNRESET, ETIMEDOUT, ENODEV, ENOENT, EHOSTUNREACH})
    EXPECT_TRUE(transport::retryable_connect_error(error)) << error;
  for (int error : {EINVAL, EACCES, EAFNOSUPPORT, EPERM})
    EXPECT_FALSE(transport::retryable_connect_error(error)) << error;
}

TEST(StreamTest, VsockAddress) {
  const auto address = SocketAddress::vsock(12, 5123);
  EXPECT_EQ(address.text, "vsock CID 12 port 5123");
  EXPECT_EQ(address.family(), AF_VSOCK);
  ASSERT_EQ(address.length, sizeof(sockaddr_vm));
  const auto* vm = reinterpret_cast<const sockaddr_vm*>(&address.storage);
  EXPECT_EQ(vm->svm_cid, 12u);
  EXPECT_EQ(vm->svm_port, 5123u);
}

TEST(StreamTest, UnixSocketAddress) {
  const auto address = SocketAddress::unix_socket("/run/x/qmp.sock");
  EXPECT_EQ(address.text, "/run/x/qmp.sock");
  EXPECT_EQ(address.family(), AF_UNIX);
  EXPECT_STREQ(reinterpret_cast<const sockaddr_un*>(&address.storage)->sun_path, "/run/x/qmp.sock");
  // sun_path holds 107 characters and its NUL; a longer path must not be cut to another one.
  EXPECT_NO_THROW(SocketAddress::unix_socket("/" + std::string(106, 'a')));
  EXPECT_THAT([] { SocketAddress::unix_socket("/" + std::string(107, 'a')); },
              ::testing::ThrowsMessage<provium::Error>(HasSubstr("too long for a unix socket (107 bytes at most)")));
}

// A real AF_VSOCK connect to a CID where no guest listens: refused, reset, no such device or
// still pending, all mean "not there yet": nothing is reported, and closing mid-attempt is
// clean. (Where the host kernel has no AF_VSOCK at all there is nothing to try.)
TEST(StreamTest, VsockConnectToNobodyKeepsTryingAndClosesCleanly) {
  const int probe = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) GTEST_SKIP() << "this host kernel has no AF_VSOCK sockets";
  ::close(probe);
  auto stream = Stream::create();
  Observed observed;
  on_loop([&] {
    stream->connect(SocketAddress::vsock(0x7ffffff0u, 5123), observed.callbacks(), {.retry_interval = 5ms});
  });
  EXPECT_FALSE(observed.closed.wait_until(std::chrono::steady_clock::now() + 300ms))
      << "a retryable vsock failure was reported";
  on_loop([&] { stream->close(); });
  EXPECT_FALSE(observed.data.wait_until(std::chrono::steady_clock::now()));
}

}  // namespace
