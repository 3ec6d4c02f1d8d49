// One system call in the guest through an agent's or worker's session: what Guest::syscall does,
// for the parts of the machine that need a call of their own (mounting shares).
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include <provium/syscall.h>

#include "vm/session.h"

namespace provium::vm {

SyscallResult agent_syscall(Session& session, long nr, std::span<const Arg> args, std::chrono::milliseconds timeout);

// The errno text of a negative syscall result ("ok" for any other).
std::string errno_text(int64_t ret);

}  // namespace provium::vm
