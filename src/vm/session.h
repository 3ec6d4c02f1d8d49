// The caller's side of one agent connection: a request, its answer, and a deadline. Requests
// on one connection are serialized; a missed deadline retires the connection, since its next
// frame could be the late answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "protocol/frame.h"
#include "transport/channel.h"

namespace provium::detail {

class Session {
 public:
  // `context` describes the VM for error messages (accelerator, console tail).
  Session(std::shared_ptr<transport::Channel> channel, std::function<std::string()> context)
      : channel_(std::move(channel)), context_(std::move(context)) {}

  // Sends a request and returns the answer. Throws Error when the agent answers ERROR, when the
  // deadline passes, or when the connection or the VM is gone; `operation` names the request
  // in the message ("exec(\"ls /\")").
  protocol::Frame call(uint8_t type, std::string_view payload, std::string_view operation,
                       std::chrono::milliseconds timeout);

  // Closes the connection from the caller's side (fails waiting requests with `reason`).
  void close(std::string reason);

 private:
  std::mutex mutex_;
  std::shared_ptr<transport::Channel> channel_;
  std::function<std::string()> context_;
};

// "exec(\"ls /\")": an operation and its argument, shortened for messages.
std::string describe_operation(std::string_view name, std::string_view argument);

}  // namespace provium::detail
