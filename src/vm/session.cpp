#include "vm/session.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "loop/loop.h"
#include "wire.h"

namespace provium::detail {

std::string describe_operation(std::string_view name, std::string_view argument) {
  constexpr std::size_t kMax = 80;
  std::string shown;
  for (char c : argument.substr(0, kMax)) {
    if (c == '"' || c == '\\') shown += '\\';
    if (c == '\n') shown += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20) shown += fmt::format("\\x{:02x}", c);
    else shown += c;
  }
  return fmt::format("{}(\"{}{}\")", name, shown, argument.size() > kMax ? "..." : "");
}

protocol::Frame Session::call(uint8_t type, std::string_view payload, std::string_view operation,
                              std::chrono::milliseconds timeout) {
  std::lock_guard lock(mutex_);
  std::string frame;
  try {
    frame = protocol::encode_frame(type, payload);
  } catch (const protocol::ProtocolError& error) {
    throw Error(fmt::format("{}: {}", operation, error.what()));
  }
  transport::Channel::Answer answer;
  loop::Loop::instance().post([channel = channel_, frame = std::move(frame), answer]() mutable {
    channel->request(std::move(frame), std::move(answer));
  });
  std::optional<protocol::Frame> result;
  try {
    result = answer.wait_until(std::chrono::steady_clock::now() + timeout);
  } catch (const Error& error) {
    throw Error(fmt::format("{}: {}", operation, error.what()));
  }
  if (!result) {
    std::string reason = fmt::format("{}: no answer within {} ", operation,
                                     std::chrono::duration<double>(timeout));
    close("a previous request timed out: " + reason);
    throw Error(reason + context_());
  }
  if (result->type == PROVIUM_ERROR)
    throw Error(fmt::format("{}: the agent answered: {}", operation, result->payload));
  return std::move(*result);
}

void Session::close(std::string reason) {
  loop::Loop::instance().post([channel = channel_, reason = std::move(reason)] {
    channel->fail(reason);
  });
}

}  // namespace provium::detail
