// The host's side of an agent connection (vm::Session) and the Guest operations on it, against a
// fake agent: a thread of this process that speaks the wire protocol on a unix socket and answers
// as each test tells it, or stays silent, or hangs up. The paths that with a real VM need a hung
// guest, a dead QEMU or a misbehaving agent (deadlines, deaths, ERROR answers, answers of the
// wrong type, malformed payloads) run here in milliseconds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <provium/error.h>
#include <provium/pack.h>
#include <provium/vm.h>

#include "loop/loop.h"
#include "protocol/frame.h"
#include "protocol/requests.h"
#include "support/temp_dir.h"
#include "support/unix_listener.h"
#include "transport/channel.h"
#include "vm/session.h"
#include "wire.h"

using namespace std::chrono_literals;
using provium::Error;
using provium::TimeoutError;
using provium::protocol::encode_frame;
using provium::protocol::Frame;
using provium::vm::Session;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::ThrowsMessage;

namespace {

// An agent on a unix socket: greets with READY, then hands each request to `reply`, which says
// what to send back (an empty string: nothing, the agent stays silent) or, with nullopt, hangs up.
class FakeAgent {
 public:
  using Reply = std::function<std::optional<std::string>(const Frame&)>;

  explicit FakeAgent(Reply reply) : reply_(std::move(reply)) {
    listener_ = provium::testing::unix_listener(socket_path(), 1);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeAgent() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }

  std::filesystem::path socket_path() const { return dir_.path() / "agent.sock"; }
  // How many requests it was sent.
  int requests() const { return requests_; }

 private:
  // Waits for `fd` to be readable, checking every 20 ms whether the test is over.
  bool readable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) == 1) return true;
    }
    return false;
  }

  void serve() {
    if (!readable(listener_)) return;
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    send_all(fd, encode_frame(PROVIUM_READY, ""));
    provium::protocol::FrameDecoder decoder;
    char buffer[65536];
    while (readable(fd)) {
      const ssize_t got = ::read(fd, buffer, sizeof buffer);
      if (got <= 0) break;
      decoder.feed(std::string_view(buffer, static_cast<std::size_t>(got)));
      while (auto frame = decoder.next()) {
        ++requests_;
        const auto answer = reply_(*frame);
        if (!answer) {
          ::close(fd);
          return;
        }
        send_all(fd, *answer);
      }
    }
    ::close(fd);
  }

  static void send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t sent = ::write(fd, bytes.data(), bytes.size());
      if (sent <= 0) return;
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
  }

  provium::testing::TempDir dir_;
  Reply reply_;
  int listener_ = -1;
  std::atomic<bool> stop_ = false;
  std::atomic<int> requests_ = 0;
  std::thread thread_;
};

// What a Session asks its VM, with a death the test sets.
struct FakeVm {
  std::optional<std::string> death;
  Session::Owner owner() {
    return {.context = [] { return std::string("[fake VM's context]"); },
            .death = [this](std::chrono::milliseconds) { return death; },
            .name = "vm-fake"};
  }
};

std::shared_ptr<Session> connect(const FakeAgent& agent, FakeVm& vm) {
  auto channel = provium::transport::Channel::create();
  provium::transport::Channel::Answer greeting;
  provium::loop::Loop::instance().post(
      [channel, greeting, address = provium::transport::SocketAddress::unix_socket(agent.socket_path())] {
        channel->connect(address, greeting);
      });
  const auto ready = greeting.wait_until(std::chrono::steady_clock::now() + 5s);
  if (!ready || ready->type != PROVIUM_READY) throw std::runtime_error("the fake agent did not greet");
  return std::make_shared<Session>(channel, vm.owner());
}

const provium::protocol::Request kPing{PROVIUM_EXEC, "ping"};

// A Guest on a session of the test's choosing (a Worker or a Vm gets its own from a machine).
class GuestOn : public provium::Guest {
 public:
  explicit GuestOn(std::shared_ptr<Session> session) { connect(std::move(session)); }
};

// EXEC_RESULT's payload: [exit_code i32][ending u32][stdout_len u32][stdout][stderr_len u32][stderr].
std::string exec_result(int32_t exit_code, uint32_t ending, std::string_view out, std::string_view err) {
  return provium::pack<int32_t, uint32_t, uint32_t>(exit_code, ending, static_cast<uint32_t>(out.size())) +
         std::string(out) + provium::pack<uint32_t>(static_cast<uint32_t>(err.size())) + std::string(err);
}

}  // namespace

TEST(Session, AnAnswerOfTheExpectedTypeIsReturned) {
  FakeAgent agent([](const Frame& frame) { return encode_frame(PROVIUM_EXEC_RESULT, "echo:" + frame.payload); });
  FakeVm vm;
  auto session = connect(agent, vm);
  const auto answer = session->call(kPing, PROVIUM_EXEC_RESULT, "ping()", 5s);
  EXPECT_EQ(answer.payload, "echo:ping");
}

TEST(Session, AMissedDeadlineIsATimeoutErrorThatRetiresTheConnection) {
  FakeAgent agent([](const Frame&) { return std::string(); });  // never answers
  FakeVm vm;
  auto session = connect(agent, vm);
  EXPECT_THAT([&] { session->call(kPing, PROVIUM_EXEC_RESULT, "ping()", 50ms); },
              ThrowsMessage<TimeoutError>(AllOf(HasSubstr("ping(): no answer within 0.05s"),
                                                HasSubstr("for the run PROVIUM_TIMEOUT"),
                                                HasSubstr("[fake VM's context]"))));
  // Its next frame could be the late answer: the next call fails at once, saying why.
  EXPECT_THAT([&] { session->call(kPing, PROVIUM_EXEC_RESULT, "ping()", 5s); },
              ThrowsMessage<Error>(HasSubstr("a previous request timed out: ping()")));
  EXPECT_EQ(agent.requests(), 1);
}

TEST(Session, ACallerOwnWordsForAMissedDeadlineReplaceTheHint) {
  FakeAgent agent([](const Frame&) { return std::string(); });
  FakeVm vm;
  auto session = connect(agent, vm);
  EXPECT_THAT([&] { session->call(kPing, PROVIUM_EXEC_RESULT, "ping()", 30ms, {.missed_deadline = "it is gone."}); },
              ThrowsMessage<TimeoutError>(AllOf(HasSubstr("ping(): it is gone."), Not(HasSubstr("PROVIUM_TIMEOUT")))));
}

TEST(Session, AConnectionThatEndsOnADeadVmSaysHowTheVmDied) {
  FakeAgent agent([](const Frame&) { return std::nullopt; });  // hangs up
  FakeVm vm{.death = "QEMU exited with status 1: the guest kernel crashed"};
  auto session = connect(agent, vm);
  EXPECT_THAT([&] { session->call(kPing, PROVIUM_EXEC_RESULT, "ping()", 5s); },
              ThrowsMessage<Error>(HasSubstr("ping(): the VM died: QEMU exited with status 1: the guest kernel crashed")));
}

TEST(Session, AConnectionThatEndsWhileTheVmRunsSaysSo) {
  FakeAgent agent([](const Frame&) { return std::nullopt; });
  FakeVm vm;  // no death: the agent itself went away
  auto session = connect(agent, vm);
  try {
    session->call(kPing, PROVIUM_EXEC_RESULT, "ping()", 5s);
    ADD_FAILURE() << "a call on a closed connection returned";
  } catch (const TimeoutError& error) {
    ADD_FAILURE() << "a closed connection is no timeout: " << error.what();
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "ping(): the agent's connection ended: the connection was closed by the other end");
  }
}

TEST(Session, AnErrorAnswerCarriesTheAgentsWords) {
  FakeAgent agent([](const Frame&) { return encode_frame(PROVIUM_ERROR, "fork: Resource temporarily unavailable"); });
  FakeVm vm;
  auto session = connect(agent, vm);
  EXPECT_THAT([&] { session->call(kPing, PROVIUM_EXEC_RESULT, "ping()", 5s); },
              ThrowsMessage<Error>("ping(): the agent answered: fork: Resource temporarily unavailable"));
}

TEST(Session, AnAnswerOfAnotherTypeIsAnErrorNamingBoth) {
  FakeAgent agent([](const Frame&) { return encode_frame(PROVIUM_READY, ""); });
  FakeVm vm;
  auto session = connect(agent, vm);
  EXPECT_THAT([&] { session->call(kPing, PROVIUM_EXEC_RESULT, "ping()", 5s); },
              ThrowsMessage<Error>("ping(): the agent answered READY instead of EXEC_RESULT"));
}

TEST(Guest, ExecReturnsTheAgentsResult) {
  FakeAgent agent([](const Frame&) { return encode_frame(PROVIUM_EXEC_RESULT, exec_result(3, PROVIUM_EXEC_ENDED, "out", "err")); });
  FakeVm vm;
  GuestOn guest(connect(agent, vm));
  const auto result = guest.exec("true");
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.out, "out");
  EXPECT_EQ(result.err, "err");
}

TEST(Guest, ACommandKilledAtItsDeadlineIsATimeoutErrorWithItsOutputSoFar) {
  FakeAgent agent([](const Frame&) { return encode_frame(PROVIUM_EXEC_RESULT, exec_result(137, PROVIUM_EXEC_KILLED, "half", "")); });
  FakeVm vm;
  GuestOn guest(connect(agent, vm));
  try {
    guest.exec("sleep 100", {.timeout = 2s});
    ADD_FAILURE() << "a killed command returned";
  } catch (const TimeoutError& error) {
    EXPECT_THAT(error.what(), HasSubstr("exec(\"sleep 100\"): not done within its deadline of 2s, killed with its process group"));
    EXPECT_THAT(error.what(), HasSubstr("half"));
    EXPECT_EQ(error.out(), "half");
  }
}

TEST(Guest, AMalformedExecResultIsAnErrorNotAResult) {
  // The guest is untrusted: a stdout length past the payload's end must not be read.
  FakeAgent agent([](const Frame&) {
    return encode_frame(PROVIUM_EXEC_RESULT, provium::pack<int32_t, uint32_t, uint32_t>(0, PROVIUM_EXEC_ENDED, 1000) + "short");
  });
  FakeVm vm;
  GuestOn guest(connect(agent, vm));
  EXPECT_THROW(guest.exec("true"), Error);
}

TEST(Guest, ASyscallsErrnoIsItsResultNotAnError) {
  // SYSCALL_RESULT: [ret i64], then the buffers the call returns (none here).
  FakeAgent agent([](const Frame&) { return encode_frame(PROVIUM_SYSCALL_RESULT, provium::pack<int64_t>(-9)); });
  FakeVm vm;
  GuestOn guest(connect(agent, vm));
  EXPECT_EQ(guest.syscall(3, -1), -9);
}

TEST(Guest, ASyscallResultWithBytesPastItsEndIsAnError) {
  FakeAgent agent([](const Frame&) { return encode_frame(PROVIUM_SYSCALL_RESULT, provium::pack<int64_t>(0) + "extra"); });
  FakeVm vm;
  GuestOn guest(connect(agent, vm));
  EXPECT_THROW(guest.syscall(3, -1), Error);
}
