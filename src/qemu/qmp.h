// A client of QEMU's machine protocol (QMP): JSON lines over a unix socket, commands and the
// events QEMU sends (MIGRATION, STOP, RESUME, SHUTDOWN, ...). Loop thread only.
#pragma once

#include <deque>
#include <functional>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loop/loop.h"
#include "loop/completion.h"
#include "transport/stream.h"

namespace provium::qemu {

class QmpClient : public std::enable_shared_from_this<QmpClient> {
 public:
  using Reply = loop::Completion<nlohmann::json>;

  // Deleted on the loop thread (loop::DeleteOnLoop), whoever holds it last.
  static std::shared_ptr<QmpClient> create() {
    return std::shared_ptr<QmpClient>(new QmpClient(), loop::DeleteOnLoop{});
  }

  // Connects, reads the greeting and negotiates capabilities; `ready` resolves after that.
  void connect(const transport::SocketAddress& socket, Reply ready);

  // Runs a command; `reply` resolves with its "return" value or fails with its error.
  void execute(const std::string& command, nlohmann::json arguments, Reply reply);

  // Resolves `event` with the data of the first event `name` from now on whose data
  // `matches` (any, when empty), or fails it when the connection ends first. Arm it before
  // the command that causes the event.
  using EventFilter = std::function<bool(const nlohmann::json& data)>;
  void expect_event(std::string name, EventFilter matches, Reply event);

  // Fails every waiting command and closes the connection.
  void fail(const std::string& reason);

 private:
  QmpClient() = default;
  void on_line(const std::string& line);

  struct Pending {
    std::string command;
    Reply reply;
  };
  struct Expected {
    std::string name;
    EventFilter matches;
    Reply event;
  };
  void on_event(const nlohmann::json& message);
  std::shared_ptr<transport::Stream> stream_ = transport::Stream::create();
  std::string partial_line_;
  std::deque<Pending> pending_;
  std::vector<Expected> expected_;
  std::optional<Reply> greeting_;
  std::optional<std::string> failure_;
};

}  // namespace provium::qemu
