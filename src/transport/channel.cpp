#include "transport/channel.h"

#include <sys/socket.h>

#include <fmt/format.h>

namespace provium::transport {

void Channel::connect(const SocketAddress& address, Answer greeting) {
  if (failure_) {
    greeting.fail(Error(*failure_));
    return;
  }
  waiting_.push_back({std::move(greeting), std::nullopt});
  // A unix socket appears within milliseconds of QEMU's start; a guest's vsock listener after
  // seconds of boot, which tighter attempts would only slow down (each one costs the guest).
  const auto retry_interval = address.family() == AF_VSOCK ? std::chrono::milliseconds(10) : std::chrono::milliseconds(2);
  stream_->connect(address, callbacks(), {.retry_interval = retry_interval, .until_first_byte = true});
}

Stream::Callbacks Channel::callbacks() {
  std::weak_ptr<Channel> weak = weak_from_this();
  return {
      .connected = {},
      .data = [weak](std::string_view bytes) {
        if (auto self = weak.lock()) self->on_data(bytes);
      },
      .closed = [weak](std::string reason) {
        if (auto self = weak.lock()) self->fail("the agent's connection ended: " + reason);
      },
  };
}

void Channel::request(std::string frame, Answer answer, std::optional<Interim> interim) {
  if (failure_) {
    answer.fail(Error(*failure_));
    return;
  }
  waiting_.push_back({std::move(answer), std::move(interim)});
  stream_->write(std::move(frame));
}

void Channel::send(std::string frame) {
  if (!failure_) stream_->write(std::move(frame));
}

void Channel::on_data(std::string_view bytes) {
  try {
    decoder_.feed(bytes);
    while (auto frame = decoder_.next()) {
      if (waiting_.empty())
        throw protocol::ProtocolError(fmt::format(
            "the agent sent an unrequested {} frame", protocol::message_name(frame->type)));
      if (const auto& interim = waiting_.front().interim; interim && frame->type == interim->type) {
        interim->on_frame(std::move(*frame));
        continue;
      }
      Answer answer = std::move(waiting_.front().answer);
      waiting_.pop_front();
      answer.resolve(std::move(*frame));
    }
  } catch (const protocol::ProtocolError& error) {
    fail(fmt::format("protocol violation: {}", error.what()));
  }
}

void Channel::fail(const std::string& reason) {
  if (!failure_) failure_ = reason;
  stream_->close();
  while (!waiting_.empty()) {
    waiting_.front().answer.fail(Error(*failure_));
    waiting_.pop_front();
  }
}

}  // namespace provium::transport
