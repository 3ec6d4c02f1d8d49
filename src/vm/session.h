// The caller's side of one agent connection: a request, its answer, and a deadline. Requests
// on one connection are serialized; a missed deadline retires the connection, since its next
// frame could be the late answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/frame.h"
#include "transport/channel.h"

namespace provium::vm {

// What a call expects besides its answer's type.
struct CallExpect {
  // Frames before the answer (a streamed EXEC's output).
  std::optional<transport::Channel::Interim> interim{};
  // What a missed deadline means, when not simply that the guest took too long: the message
  // then says this instead of how to raise the deadline.
  std::string missed_deadline{};
};

class Session {
 public:
  // What a session asks of its VM for error messages.
  struct Owner {
    // The accelerator and the console tail.
    std::function<std::string()> context;
    // Why the VM died, waiting up to `grace` for QEMU's exit; nullopt when it runs on. A
    // connection that ends usually means the VM is dying: its death is the better message.
    std::function<std::optional<std::string>(std::chrono::milliseconds grace)> death;
    // Names the connection where its output is shown: "vm-x1Yz2Q", "vm-x1Yz2Q worker 2".
    std::string name;
  };


  Session(std::shared_ptr<transport::Channel> channel, Owner owner)
      : channel_(std::move(channel)), owner_(std::move(owner)) {}

  // Sends a request and returns the answer, which must be of type `answer`. Throws Error when
  // the agent answers ERROR or another type, when the deadline passes, or when the connection
  // or the VM is gone; `operation` names the request in the message ("exec(\"ls /\")").
  protocol::Frame call(const protocol::Request& request, uint8_t answer, std::string_view operation,
                       std::chrono::milliseconds timeout, CallExpect expect = {});

  // The same with a frame already encoded: its bytes go out as they are (protocol tests send
  // malformed frames this way).
  protocol::Frame call_frame(std::string frame, std::string_view operation,
                             std::chrono::milliseconds timeout);

  // Sends a request that gets no answer (PTY_INPUT, PTY_RESIZE), also while a call waits: they
  // belong to the call in progress, a PTY session.
  void post(const protocol::Request& request);

  // Closes the connection from the caller's side (fails waiting requests with `reason`).
  void close(std::string reason);

  const std::string& name() const { return owner_.name; }
  // The VM's accelerator and console tail, for messages.
  std::string context() const { return owner_.context(); }

 private:
  protocol::Frame send(std::string frame, std::optional<uint8_t> answer_type,
                       std::string_view operation, std::chrono::milliseconds timeout, CallExpect expect);

  std::mutex mutex_;
  std::shared_ptr<transport::Channel> channel_;
  Owner owner_;
};

// Waits for the answer to a request (or for a greeting); the errors of Session::call, for
// answers awaited another way. With `answer_type`, an answer of another type is an Error.
protocol::Frame await_answer(transport::Channel::Answer& answer, std::string_view operation,
                             std::chrono::milliseconds timeout, const Session::Owner& owner,
                             std::optional<uint8_t> answer_type = std::nullopt,
                             std::string_view missed_deadline = {});

// "exec(\"ls /\")": an operation and its argument, shortened for messages.
std::string describe_operation(std::string_view name, std::string_view argument);

}  // namespace provium::vm
