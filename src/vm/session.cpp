#include "vm/session.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "loop/loop.h"
#include "vm/silence.h"
#include "wire.h"

namespace provium::vm {

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

protocol::Frame Session::call(const protocol::Request& request, uint8_t answer,
                              std::string_view operation, std::chrono::milliseconds timeout, CallExpect expect) {
  std::string frame;
  try {
    frame = protocol::encode_frame(request.type, request.payload);
  } catch (const protocol::ProtocolError& error) {
    throw Error(fmt::format("{}: {}", operation, error.what()));
  }
  return send(std::move(frame), answer, operation, timeout, std::move(expect));
}

protocol::Frame Session::call_frame(std::string frame, std::string_view operation,
                                    std::chrono::milliseconds timeout) {
  return send(std::move(frame), std::nullopt, operation, timeout, {});
}

protocol::Frame Session::send(std::string frame, std::optional<uint8_t> answer_type,
                              std::string_view operation, std::chrono::milliseconds timeout, CallExpect expect) {
  std::lock_guard lock(mutex_);
  transport::Channel::Answer answer;
  loop::Loop::instance().post(
      [channel = channel_, frame = std::move(frame), answer, interim = std::move(expect.interim)]() mutable {
        channel->request(std::move(frame), std::move(answer), std::move(interim));
      });
  try {
    return await_answer(answer, operation, timeout, owner_, answer_type, expect.missed_deadline);
  } catch (const TimeoutError& error) {
    // Its next frame could be the late answer: the connection cannot be used again.
    close(fmt::format("a previous request timed out: {}", operation));
    throw;
  }
}

void Session::post(const protocol::Request& request) {
  loop::Loop::instance().post([channel = channel_, frame = protocol::encode_frame(request.type, request.payload)]() mutable {
    channel->send(std::move(frame));
  });
}

protocol::Frame await_answer(transport::Channel::Answer& answer, std::string_view operation,
                             std::chrono::milliseconds timeout, const Session::Owner& owner,
                             std::optional<uint8_t> answer_type, std::string_view missed_deadline) {
  constexpr auto kDeathGrace = std::chrono::seconds(2);
  std::optional<protocol::Frame> result;
  try {
    result = answer.wait_until(std::chrono::steady_clock::now() + timeout);
  } catch (const Error& error) {
    if (auto death = owner.death(kDeathGrace))
      throw Error(fmt::format("{}: the VM died: {}", operation, *death));
    throw Error(fmt::format("{}: {}", operation, error.what()));
  }
  if (!result) {
    const std::string context = owner.context();
    const std::string why = why_silent(context);
    std::string reason =
        missed_deadline.empty()
            ? fmt::format("{}: no answer within {} (a longer deadline: for this call ExecOptions{{.timeout = ...}}, "
                          "in Lua {{timeout = seconds}}; for the VM set_timeout(); for the run PROVIUM_TIMEOUT). {}",
                          operation, std::chrono::duration<double>(timeout),
                          why.empty() ? "" : fmt::format("Its console says why: {}. ", why))
            : fmt::format("{}: {} {} ", operation, missed_deadline,
                          why.empty() ? "Nothing on its console says why (a kernel hung without a lockup report, "
                                        "or an agent stuck)."
                                      : fmt::format("Its console says why: {}.", why));
    throw TimeoutError(reason + context);
  }
  if (result->type == PROVIUM_ERROR)
    throw Error(fmt::format("{}: the agent answered: {}", operation, result->payload));
  if (answer_type && result->type != *answer_type)
    throw Error(fmt::format("{}: the agent answered {} instead of {}", operation,
                            protocol::message_name(result->type), protocol::message_name(*answer_type)));
  return std::move(*result);
}

void Session::close(std::string reason) {
  loop::Loop::instance().post([channel = channel_, reason = std::move(reason)] {
    channel->fail(reason);
  });
}

}  // namespace provium::vm
