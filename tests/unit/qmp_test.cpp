// The QMP client against a scripted peer in place of QEMU: the greeting and capabilities,
// replies and errors, the events a caller waits for, and what the end of the connection does to
// every wait.
#include "qemu/qmp.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <provium/error.h>

#include "loop/loop.h"
#include "support/temp_dir.h"
#include "support/unix_listener.h"

namespace {

using namespace provium;
using namespace std::chrono_literals;
using provium::testing::TempDir;
using qemu::QmpClient;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

// QEMU's side of one QMP connection, played line by line from the test's thread.
class ScriptedQemu {
 public:
  explicit ScriptedQemu(const std::filesystem::path& socket) : listener_(provium::testing::unix_listener(socket, 1)) {}
  ~ScriptedQemu() {
    if (peer_ >= 0) ::close(peer_);
    ::close(listener_);
  }

  void accept() { peer_ = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC); }
  void send(const std::string& line) { ASSERT_EQ(::write(peer_, (line + "\n").data(), line.size() + 1), ssize_t(line.size() + 1)); }
  // The next line the client sent.
  std::string receive() {
    std::string line;
    char c;
    while (::read(peer_, &c, 1) == 1 && c != '\n') line += c;
    return line;
  }
  void hang_up() {
    ::close(peer_);
    peer_ = -1;
  }

 private:
  int listener_;
  int peer_ = -1;
};

template <class T>
T wait(loop::Completion<T> completion) {
  auto value = completion.wait_until(std::chrono::steady_clock::now() + 10s);
  if (!value) throw std::runtime_error("no answer within 10 s");
  return *value;
}

class QmpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    QmpClient::Reply ready;
    loop::Loop::instance().post([client = client_, socket = transport::SocketAddress::unix_socket(dir_.path() / "qmp.sock"), ready] {
      client->connect(socket, ready);
    });
    qemu_.accept();
    qemu_.send(R"({"QMP": {"version": {}, "capabilities": []}})");
    EXPECT_THAT(qemu_.receive(), HasSubstr(R"("execute":"qmp_capabilities")"));
    qemu_.send(R"({"return": {}})");
    wait(ready);
  }

  QmpClient::Reply execute(const std::string& command) {
    QmpClient::Reply reply;
    loop::Loop::instance().post([client = client_, command, reply] { client->execute(command, {}, reply); });
    return reply;
  }

  QmpClient::Reply expect_migration_end() {
    QmpClient::Reply event;
    loop::Loop::instance().post([client = client_, event] {
      client->expect_event("MIGRATION", [](const nlohmann::json& data) { return data.value("status", "") == "completed"; }, event);
    });
    return event;
  }

  TempDir dir_;
  ScriptedQemu qemu_{dir_.path() / "qmp.sock"};
  std::shared_ptr<QmpClient> client_ = QmpClient::create();
};

TEST_F(QmpTest, ACommandGetsItsReturnValue) {
  auto reply = execute("query-status");
  EXPECT_THAT(qemu_.receive(), HasSubstr(R"("execute":"query-status")"));
  qemu_.send(R"({"return": {"status": "running"}})");
  EXPECT_EQ(wait(reply).value("status", ""), "running");
}

TEST_F(QmpTest, ACommandsErrorFailsItWithQemusDescription) {
  auto reply = execute("cont");
  qemu_.receive();
  qemu_.send(R"({"error": {"class": "GenericError", "desc": "not now"}})");
  EXPECT_THAT([&] { wait(reply); }, ThrowsMessage<Error>(HasSubstr("QMP cont failed: not now")));
}

TEST_F(QmpTest, AnErrorWithoutADescriptionFailsWithTheWholeAnswer) {
  auto reply = execute("stop");
  qemu_.receive();
  qemu_.send(R"({"error": "no object"})");
  EXPECT_THAT([&] { wait(reply); }, ThrowsMessage<Error>(HasSubstr(R"(QMP stop failed: {"error": "no object"})")));
}

TEST_F(QmpTest, AnEventResolvesOnlyTheWaitWhoseFilterItMatches) {
  auto ended = expect_migration_end();
  auto reply = execute("migrate-incoming");
  qemu_.receive();
  qemu_.send(R"({"return": {}})");
  wait(reply);
  qemu_.send(R"({"event": "MIGRATION", "data": {"status": "setup"}})");
  qemu_.send(R"({"event": "RESUME"})");
  EXPECT_FALSE(ended.wait_until(std::chrono::steady_clock::now() + 100ms));
  qemu_.send(R"({"event": "MIGRATION", "data": {"status": "completed"}})");
  EXPECT_EQ(wait(ended).value("status", ""), "completed");
}

TEST_F(QmpTest, TheEndOfTheConnectionFailsEveryWait) {
  auto ended = expect_migration_end();
  auto reply = execute("migrate");
  qemu_.receive();
  qemu_.hang_up();
  EXPECT_THAT([&] { wait(ended); }, ThrowsMessage<Error>(HasSubstr("waiting for QMP event MIGRATION")));
  EXPECT_THROW(wait(reply), Error);
  // And a wait armed afterwards fails at once.
  EXPECT_THAT([&] { wait(expect_migration_end()); }, ThrowsMessage<Error>(HasSubstr("QMP connection ended")));
}

TEST_F(QmpTest, AnEventWithoutANameEndsTheConnection) {
  auto ended = expect_migration_end();
  qemu_.send(R"({"event": 7})");
  EXPECT_THAT([&] { wait(ended); }, ThrowsMessage<Error>(HasSubstr("an event without a name")));
}

}  // namespace
