#include "qemu/qmp.h"

#include <fmt/format.h>

#include <provium/error.h>

namespace provium::qemu {

void QmpClient::connect(const transport::SocketAddress& socket, Reply ready) {
  greeting_ = std::move(ready);
  std::weak_ptr<QmpClient> weak = weak_from_this();
  stream_->connect(socket, {
      .connected = {},
      .data = [weak](std::string_view bytes) {
        auto self = weak.lock();
        if (!self) return;
        self->partial_line_.append(bytes);
        std::size_t newline;
        while ((newline = self->partial_line_.find('\n')) != std::string::npos) {
          std::string line = self->partial_line_.substr(0, newline);
          self->partial_line_.erase(0, newline + 1);
          self->on_line(line);
        }
      },
      .closed = [weak](std::string reason) {
        if (auto self = weak.lock()) self->fail("QMP connection ended: " + reason);
      },
  }, {});
}

void QmpClient::on_line(const std::string& line) {
  auto message = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded() || !message.is_object()) {
    fail(fmt::format("QMP sent something that is not a JSON object: {}", line));
    return;
  }
  if (message.contains("QMP")) {
    // The greeting: capabilities must be negotiated before any command.
    if (greeting_) execute("qmp_capabilities", nlohmann::json::object(), *std::exchange(greeting_, std::nullopt));
    return;
  }
  if (message.contains("event")) {
    on_event(message);
    return;
  }
  if (pending_.empty()) {
    fail(fmt::format("QMP answered no command: {}", line));
    return;
  }
  Pending head = std::move(pending_.front());
  pending_.pop_front();
  if (message.contains("return")) {
    head.reply.resolve(message["return"]);
  } else if (message.contains("error")) {
    const auto& error = message["error"];
    const bool described = error.is_object() && error.contains("desc") && error["desc"].is_string();
    head.reply.fail(Error(fmt::format("QMP {} failed: {}", head.command,
                                      described ? error["desc"].get<std::string>() : line)));
  } else {
    head.reply.fail(Error(fmt::format("QMP {}: unexpected answer {}", head.command, line)));
  }
}

void QmpClient::on_event(const nlohmann::json& message) {
  if (!message["event"].is_string()) {
    fail(fmt::format("QMP sent an event without a name: {}", message.dump()));
    return;
  }
  const std::string name = message["event"].get<std::string>();
  const auto data = message.contains("data") ? message["data"] : nlohmann::json::object();
  std::erase_if(expected_, [&](const Expected& expected) {
    if (expected.name != name || (expected.matches && !expected.matches(data))) return false;
    expected.event.resolve(data);
    return true;
  });
}

void QmpClient::expect_event(std::string name, EventFilter matches, Reply event) {
  if (failure_) {
    event.fail(Error(*failure_));
    return;
  }
  expected_.push_back({std::move(name), std::move(matches), std::move(event)});
}

void QmpClient::execute(const std::string& command, nlohmann::json arguments, Reply reply) {
  if (failure_) {
    reply.fail(Error(*failure_));
    return;
  }
  nlohmann::json request = {{"execute", command}};
  if (!arguments.empty()) request["arguments"] = std::move(arguments);
  pending_.push_back({command, std::move(reply)});
  // A path that is not UTF-8 must not throw on the loop thread: replace what JSON cannot carry.
  stream_->write(request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void QmpClient::fail(const std::string& reason) {
  if (!failure_) failure_ = reason;
  stream_->close();
  if (greeting_) std::exchange(greeting_, std::nullopt)->fail(Error(*failure_));
  while (!pending_.empty()) {
    pending_.front().reply.fail(Error(*failure_));
    pending_.pop_front();
  }
  for (auto& expected : std::exchange(expected_, {}))
    expected.event.fail(Error(fmt::format("waiting for QMP event {}: {}", expected.name, *failure_)));
}

}  // namespace provium::qemu
