#include "vm/agent_syscall.h"

#include <fmt/format.h>

#include <cstring>

#include "protocol/requests.h"
#include "wire.h"

namespace provium::vm {

SyscallResult agent_syscall(Session& session, long nr, std::span<const Arg> args, std::chrono::milliseconds timeout) {
  auto encoded = protocol::encode_syscall(nr, args);
  auto answer = session.call(encoded.request, PROVIUM_SYSCALL_RESULT, fmt::format("syscall({})", nr), timeout);
  return protocol::decode_syscall_result(answer.payload, encoded.layout);
}

std::string errno_text(int64_t ret) { return ret < 0 ? std::strerror(static_cast<int>(-ret)) : "ok"; }

}  // namespace provium::vm
